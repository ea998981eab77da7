"""Float64 stand-ins for fitted scikit-learn objects whose own ONNX conversion falls short.

onnxruntime's ``Imputer`` runs only in float32, skl2onnx refuses one-hot encoders with
infrequent categories, and its encoders type their output from their (string) input as float32
while the graph is parsed, so a model after them declared float32 outputs for float64 values
(onnxruntime then refused the graph when a categorical column came first). These stand-ins
carry what the fitted objects learned, are written with plain ONNX ops, and declare their
output type when parsed, so the graph agrees with scikit-learn in float64.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from pipeline_core.artifacts.onnx_trees import (
    OnnxBoosting,
    OnnxForest,
    OnnxIsolationFlag,
    convert_boosting,
    convert_forest,
    convert_isolation_flag,
    shape_trees,
    tree_parser,
)


def infrequent_slots(encoder: Any) -> tuple[list[Any], list[int]]:
    """Per column, the output slot of each category (or None: one slot each), and each column's width.

    The one use of scikit-learn private encoder attributes in this package (``_default_to_infrequent_mappings``,
    ``_n_features_outs``): scikit-learn has no public way to read how infrequent categories share a
    column. Kept here alone so a scikit-learn upgrade that renames them breaks one function.
    """
    mappings = getattr(encoder, "_default_to_infrequent_mappings", None) or [None] * len(encoder.categories_)
    widths = getattr(encoder, "_n_features_outs", None) or [1] * len(encoder.categories_)  # an ordinal encoder's
    return list(mappings), [int(w) for w in widths]


def fills_text(imputer: Any) -> bool:
    """Whether a fitted ``SimpleImputer`` fills text: its fills are strings (a constant fill keeps even numbers
    in an object array, so the array's type alone does not say)."""
    stats = np.asarray(imputer.statistics_)
    return stats.dtype.kind in "US" or (stats.dtype.kind == "O" and any(isinstance(v, str) for v in stats))


class OnnxImputer(TransformerMixin, BaseEstimator):
    """Stand-in for a fitted ``SimpleImputer`` built from plain ONNX ops.

    onnxruntime's ``Imputer`` runs only in float32, which would break float64 agreement.
    Missing numbers are NaN; missing strings are '' (how :func:`predict_onnx` feeds them).
    """

    def __init__(self, fill: np.ndarray, indicator: list[int], strings: bool):
        self.fill, self.indicator, self.strings = fill, indicator, strings

    @classmethod
    def from_fitted(cls, imputer: Any) -> OnnxImputer | None:
        stats = np.asarray(imputer.statistics_)
        indicator = list(imputer.indicator_.features_) if imputer.add_indicator else []
        strings = fills_text(imputer)
        if strings and indicator:
            return None
        fill = stats.astype(str) if strings else stats.astype(np.float64)
        return cls(fill, [int(i) for i in indicator], strings)

    @property
    def n_out(self) -> int:
        return len(self.fill) + len(self.indicator)


class OnnxOneHot(TransformerMixin, BaseEstimator):
    """Stand-in for a fitted ``OneHotEncoder`` that also handles infrequent and unknown levels.

    skl2onnx refuses encoders with infrequent categories; here each column maps its known
    levels to output slots (infrequent ones share a slot) with an ONNX ``LabelEncoder``.
    """

    def __init__(self, keys: list[list[str]], slots: list[list[int]], widths: list[int], unknown: list[int]):
        self.keys, self.slots, self.widths, self.unknown = keys, slots, widths, unknown

    @classmethod
    def from_fitted(cls, encoder: Any) -> OnnxOneHot:
        keys, slots, widths, unknown = [], [], [], []
        mappings, widths_out = infrequent_slots(encoder)
        for cats, mapping, width in zip(encoder.categories_, mappings, widths_out, strict=True):
            keys.append(["" if pd.isna(c) else str(c) for c in cats])
            slots.append([int(s) for s in (mapping if mapping is not None else range(len(cats)))])
            widths.append(int(width))
            infrequent = mapping is not None and encoder.handle_unknown == "infrequent_if_exist"
            unknown.append(width - 1 if infrequent else -1)
        return cls(keys, slots, widths, unknown)

    @property
    def n_out(self) -> int:
        return sum(self.widths)


NAN_CODE = -2  # an unknown or missing level's code is NaN (boosting sends it down its missing-value branch)


def _same_code(unknown: Any, missing: Any) -> bool:
    both_nan = isinstance(unknown, float) and isinstance(missing, float) and np.isnan(unknown) and np.isnan(missing)
    return both_nan or unknown == missing


class OnnxOrdinal(OnnxOneHot):
    """Stand-in for a fitted ``OrdinalEncoder`` as the ordinal step builds it (unknown and missing: -1).

    One code column per input column, from the same ``LabelEncoder`` lookup as :class:`OnnxOneHot`.
    """

    @classmethod
    def from_fitted(cls, encoder: Any) -> OnnxOrdinal | None:
        """The ordinal step's encoder (unknown and missing: -1) or the codes for boosting (rare levels share a
        code, unknown and missing: NaN); ``None`` for any other set-up."""
        unknown, missing = encoder.unknown_value, encoder.encoded_missing_value
        if encoder.handle_unknown != "use_encoded_value" or not _same_code(unknown, missing):
            return None
        if unknown == -1 and not getattr(encoder, "_infrequent_enabled", False):
            keys = [[str(c) for c in cats if not pd.isna(c)] for cats in encoder.categories_]
            return cls(keys, [list(range(len(k))) for k in keys], [1] * len(keys), [-1] * len(keys))
        if unknown is None or not np.isnan(unknown):
            return None
        mappings, _ = infrequent_slots(encoder)
        keys, slots = [], []
        for cats, mapping in zip(encoder.categories_, mappings, strict=True):
            present = [str(c) for c in cats if not pd.isna(c)]
            keys.append(present)
            slots.append([int(s) for s in (mapping if mapping is not None else range(len(present)))][:len(present)])
        return cls(keys, slots, [1] * len(keys), [NAN_CODE] * len(keys))

    @property
    def n_out(self) -> int:
        return len(self.keys)


class OnnxTargetEncoder(TransformerMixin, BaseEstimator):
    """Stand-in for a fitted ``TargetEncoder``: each level's learned encoding, the target mean for unseen ones.

    ``tables[e]`` holds output column ``e``'s encoding per level of input column ``columns[e]``, then the value
    for a level the encoder never saw (missing is a level when training saw it, as in scikit-learn).
    """

    def __init__(self, keys: list[list[str]], columns: list[int], tables: list[list[float]]):
        self.keys, self.columns, self.tables = keys, columns, tables

    @classmethod
    def from_fitted(cls, encoder: Any) -> OnnxTargetEncoder:
        keys = [["" if pd.isna(c) else str(c) for c in cats] for cats in encoder.categories_]
        per_feature = len(encoder.classes_) if encoder.target_type_ == "multiclass" else 1
        means = np.atleast_1d(np.asarray(encoder.target_mean_, dtype=np.float64))
        columns, tables = [], []
        for e, encoding in enumerate(encoder.encodings_):
            columns.append(e // per_feature)
            tables.append([*np.asarray(encoding, dtype=np.float64).tolist(), float(means[e % per_feature])])
        return cls(keys, columns, tables)

    @property
    def n_out(self) -> int:
        return len(self.tables)


def _convert_target_encoder(scope: Any, operator: Any, container: Any) -> None:
    from onnx import TensorProto

    op, source = operator.raw_operator, operator.inputs[0].full_name
    name = scope.get_unique_variable_name
    levels = {}
    for j, keys in enumerate(op.keys):
        index, column, level = name("col"), name("column"), name("level")
        container.add_initializer(index, TensorProto.INT64, [1], [j])
        container.add_node("Gather", [source, index], [column], axis=1, op_version=13)
        container.add_node("LabelEncoder", [column], [level], op_domain="ai.onnx.ml", op_version=2,
                           keys_strings=keys, values_int64s=list(range(len(keys))), default_int64=len(keys))
        levels[j] = level
    blocks = []
    for column, table in zip(op.columns, op.tables, strict=True):
        values, picked = name("encodings"), name("encoded")
        container.add_initializer(values, TensorProto.DOUBLE, [len(table)], table)
        container.add_node("Gather", [values, levels[column]], [picked], axis=0, op_version=13)
        blocks.append(picked)
    container.add_node("Concat", blocks, [operator.outputs[0].full_name], axis=1, op_version=13)


def register_converters() -> None:
    """Register the stand-ins with skl2onnx (idempotent; they are private classes, nothing is overridden)."""
    from skl2onnx import update_registered_converter

    for cls, alias, convert in ((OnnxImputer, "PipelineStudioImputer", _convert_imputer),
                                (OnnxOneHot, "PipelineStudioOneHot", _convert_onehot),
                                (OnnxOrdinal, "PipelineStudioOrdinal", _convert_onehot),
                                (OnnxTargetEncoder, "PipelineStudioTargetEncoder", _convert_target_encoder),
                                (OnnxIsolationFlag, "PipelineStudioIsolationFlag", convert_isolation_flag)):
        update_registered_converter(cls, alias, _shape, convert, parser=typed_parser(alias, _output_type))
    for cls, alias, convert in ((OnnxBoosting, "PipelineStudioBoosting", convert_boosting),
                                (OnnxForest, "PipelineStudioForest", convert_forest)):
        update_registered_converter(cls, alias, shape_trees, convert, parser=tree_parser(alias))


def typed_parser(alias: str, output_type: Any) -> Any:
    """A skl2onnx parser that declares the output's type up front, ``output_type(raw_operator)``.

    skl2onnx's default parser guesses a transformer's output type from its input (float32 for a
    string input) and the next operator is typed from that guess before any shape calculator runs.
    """

    def parse(scope: Any, model: Any, inputs: list[Any], custom_parsers: Any = None) -> list[Any]:
        operator = scope.declare_local_operator(alias, model)
        operator.inputs = inputs
        operator.outputs.append(scope.declare_local_variable("variable", output_type(model)))
        return operator.outputs

    return parse


def _output_type(op: Any, rows: Any = None) -> Any:
    from skl2onnx.common.data_types import DoubleTensorType, StringTensorType

    strings = isinstance(op, OnnxImputer) and op.strings
    return (StringTensorType if strings else DoubleTensorType)([rows, op.n_out])


def _shape(operator: Any) -> None:
    operator.outputs[0].type = _output_type(operator.raw_operator, operator.inputs[0].get_first_dimension())


def _convert_imputer(scope: Any, operator: Any, container: Any) -> None:
    from onnx import TensorProto

    op, source = operator.raw_operator, operator.inputs[0].full_name
    name = scope.get_unique_variable_name
    missing, fill, filled = name("missing"), name("fill"), name("filled")
    if op.strings:
        empty = name("empty")
        container.add_initializer(empty, TensorProto.STRING, [1], [b""])
        container.add_node("Equal", [source, empty], [missing], op_version=19)
        container.add_initializer(fill, TensorProto.STRING, [1, len(op.fill)], [s.encode() for s in op.fill])
    else:
        container.add_node("IsNaN", [source], [missing], op_version=13)
        container.add_initializer(fill, TensorProto.DOUBLE, [1, len(op.fill)], op.fill.tolist())
    if not op.indicator:
        container.add_node("Where", [missing, fill, source], [operator.outputs[0].full_name], op_version=16)
        return
    container.add_node("Where", [missing, fill, source], [filled], op_version=16)
    index, picked, flags = name("indicator_index"), name("picked"), name("flags")
    container.add_initializer(index, TensorProto.INT64, [len(op.indicator)], op.indicator)
    container.add_node("Gather", [missing, index], [picked], axis=1, op_version=13)
    container.add_node("Cast", [picked], [flags], to=TensorProto.DOUBLE, op_version=13)
    container.add_node("Concat", [filled, flags], [operator.outputs[0].full_name], axis=1, op_version=13)


def _convert_onehot(scope: Any, operator: Any, container: Any) -> None:
    from onnx import TensorProto

    op, source = operator.raw_operator, operator.inputs[0].full_name
    name = scope.get_unique_variable_name
    blocks = []
    for j, (keys, slots, width, unknown) in enumerate(zip(op.keys, op.slots, op.widths, op.unknown, strict=True)):
        index, column, slot, positions, hits = (name(s) for s in ("col", "column", "slot", "positions", "hits"))
        container.add_initializer(index, TensorProto.INT64, [1], [j])
        container.add_node("Gather", [source, index], [column], axis=1, op_version=13)
        container.add_node("LabelEncoder", [column], [slot], op_domain="ai.onnx.ml", op_version=2,
                           keys_strings=keys, values_int64s=slots, default_int64=unknown)
        if isinstance(op, OnnxOrdinal):  # the code itself, not one 0/1 column per code
            blocks.append(slot)
            continue
        container.add_initializer(positions, TensorProto.INT64, [1, width], list(range(width)))
        container.add_node("Equal", [slot, positions], [hits], op_version=13)
        blocks.append(hits)
    joined = name("joined")
    container.add_node("Concat", blocks, [joined], axis=1, op_version=13)
    if not (isinstance(op, OnnxOrdinal) and NAN_CODE in op.unknown):
        container.add_node("Cast", [joined], [operator.outputs[0].full_name], to=TensorProto.DOUBLE, op_version=13)
        return
    codes, unknown, nan = name("codes"), name("unknown_code"), name("nan")
    container.add_node("Cast", [joined], [codes], to=TensorProto.DOUBLE, op_version=13)
    container.add_initializer(unknown, TensorProto.DOUBLE, [], [float(NAN_CODE)])
    container.add_initializer(nan, TensorProto.DOUBLE, [], [float("nan")])
    flags = name("is_unknown")
    container.add_node("Equal", [codes, unknown], [flags], op_version=13)
    container.add_node("Where", [flags, nan, codes], [operator.outputs[0].full_name], op_version=16)
