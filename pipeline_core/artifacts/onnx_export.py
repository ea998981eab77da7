"""ONNX export: a fitted pipeline as a graph onnxruntime can run, checked against the pipeline.

The graph takes one input per raw column the model reads (:mod:`~pipeline_core.artifacts.onnx_inputs`
documents names, types and an example feed); what ``prepare`` does to numbers happens inside it, and
:func:`predict_onnx` does the rest (parsing, dates as epoch seconds). What cannot convert is refused
up front with the reason its registry entry declares (``registry.onnx_refusals``). Fitted
scikit-learn objects whose own converters fall short are swapped for float64 stand-ins
(:mod:`~pipeline_core.artifacts.onnx_standins`, :mod:`~pipeline_core.artifacts.onnx_trees`); our own
transformers have converters (:mod:`~pipeline_core.artifacts.onnx_converters`).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import is_classifier

from pipeline_core.artifacts.onnx_converters import OnnxRound32, register_ours
from pipeline_core.artifacts.onnx_inputs import OnnxInput, add_prepare_nodes, as_json, input_feed, onnx_inputs
from pipeline_core.artifacts.onnx_numeric import OnnxBins, OnnxPower, register_numeric
from pipeline_core.artifacts.onnx_standins import (
    OnnxImputer,
    OnnxOneHot,
    OnnxOrdinal,
    OnnxTargetEncoder,
    fills_text,
    register_converters,
)
from pipeline_core.artifacts.onnx_target import add_expm1, is_log_target, without_log_target
from pipeline_core.artifacts.onnx_trees import OnnxBoosting, OnnxForest, OnnxIsolationFlag, raise_ml_opset
from pipeline_core.definition.registry import TARGET_ENTRIES, onnx_refusals
from pipeline_core.errors import ModelError

ONNX_OPSET = {"": 19, "ai.onnx.ml": 3}  # ml 5 where a float64 tree ensemble needs it (see onnx_trees)
ONNX_RTOL = 1e-5  # probabilities: labels must be identical; regression values within this relative tolerance
CHECK_ROWS = 2000
# Our transformers with a converter in ``onnx_converters``; any other class of ours is refused.
CONVERTED_OURS = ("OutlierClipper", "LogTransformer", "DateParts", "Densify", "CappedPCA", "IsolationForestFlag")
# scikit-learn trees compare float32 features; ours run in float64 after rounding them (``OnnxRound32``),
# skl2onnx's (gradient boosting) in float32 after a cast.
_FOREST_MODELS = ("DecisionTree", "RandomForest", "ExtraTrees")
_FLOAT32_MODELS = ("GradientBoosting",)


def to_onnx(pipeline: Any, sample_frame: pd.DataFrame | None = None) -> bytes:
    """Convert a fitted pipeline to ONNX; its inputs are :func:`onnx_inputs` of the pipeline.

    Raises :class:`ModelError` naming every step that cannot convert. When ``sample_frame``
    (raw rows) is given, the graph's predictions are checked against the pipeline's.
    """
    from pipeline_core.transformers import MAX_MAGNITUDE, FramePreparer

    if not hasattr(pipeline, "steps") or not isinstance(pipeline[0], FramePreparer):
        raise ModelError("ONNX export needs a pipeline trained by Pipeline Studio (its first step prepares columns)")
    blocked = unconvertible_steps(pipeline)
    if blocked:
        listed = "; ".join(f"{path} ({cls}: {why})" for path, cls, why in blocked)
        raise ModelError(f"cannot export to ONNX: these steps cannot be converted: {listed}. "
                         "Remove them from the pipeline, or export as skops or a Python script")
    inputs = onnx_inputs(pipeline, sample_frame)
    converted, log_target = without_log_target(pipeline)
    model = _conversion_copy(converted, inputs)
    onnx_model = _convert(model, inputs, converted)
    if log_target:
        add_expm1(onnx_model)
    raise_ml_opset(onnx_model)
    add_prepare_nodes(onnx_model, inputs, MAX_MAGNITUDE)
    _describe_inputs(onnx_model, inputs)
    data = onnx_model.SerializeToString()
    session = _session(data)  # also proves onnxruntime can run the graph
    if [i.name for i in session.get_inputs()] != [i.name for i in inputs]:
        raise ModelError("cannot export to ONNX: the graph's inputs are not the documented ones")  # a bug of ours
    if sample_frame is not None:
        verify_onnx(pipeline, session, sample_frame)
    return data


def unconvertible_steps(pipeline: Any) -> list[tuple[str, str, str]]:
    """``(step path, class, reason)`` for every step after ``prepare`` that ONNX cannot express."""
    found, refusals = [], onnx_refusals()
    for path, estimator in _walk(pipeline[1:], ""):
        name = type(estimator).__name__
        reason = refusals.get(name) or _fitted_refusal(estimator)
        if reason is None and type(estimator).__module__.startswith("pipeline_core") and name not in CONVERTED_OURS:
            reason = "no ONNX form is registered for it"  # ours, yet nothing says how it converts
        if reason:
            found.append((path, name, reason))
    return found


def _fitted_refusal(estimator: Any) -> str | None:
    """A reason that depends on what the step learned rather than on its class."""
    if type(estimator).__name__ == "TransformedTargetRegressor":  # a target transform's entry says if it converts
        from pipeline_core.compiler.target import transform_of

        entry = TARGET_ENTRIES.get(transform_of(estimator))
        return entry.onnx.refused.get("TransformedTargetRegressor") if entry else "no ONNX form is registered for it"
    flags = getattr(getattr(estimator, "indicator_", None), "features_", ())
    if type(estimator).__name__ == "SimpleImputer" and len(flags) and fills_text(estimator):
        return ("filling text columns while adding missing-value indicators mixes text and numbers in one table, "
                "which an ONNX tensor cannot hold; turn the indicator off for text columns")
    return None


def _walk(estimator: Any, prefix: str) -> list[tuple[str, Any]]:
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    if is_log_target(estimator):  # converts as its regressor, then the inverse (``onnx_target``)
        return _walk(getattr(estimator, "regressor_", estimator.regressor), prefix)
    if isinstance(estimator, Pipeline):
        children = estimator.steps
    elif isinstance(estimator, ColumnTransformer):
        children = [(name, t) for name, t, _ in getattr(estimator, "transformers_", estimator.transformers)]
    else:
        return [(prefix or type(estimator).__name__, estimator)]
    out = []
    for name, child in children:
        if not isinstance(child, str):
            out.extend(_walk(child, f"{prefix} › {name}" if prefix else name))
    return out


def _convert(model: Any, inputs: list[OnnxInput], pipeline: Any) -> Any:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType, StringTensorType

    register_converters()
    register_ours()
    register_numeric()
    types = [(i.name, (DoubleTensorType if i.onnx_type == "tensor(double)" else StringTensorType)([None, 1]))
             for i in inputs]
    ours = isinstance(model.steps[-1][1], (OnnxBoosting, OnnxForest))  # no ``zipmap`` to turn off
    options = {id(model.steps[-1][1]): {"zipmap": False}} if _gives_probabilities(pipeline) and not ours else None
    try:
        return convert_sklearn(model, initial_types=types, target_opset=ONNX_OPSET, options=options)
    except ModelError:
        raise
    except Exception as e:  # noqa: BLE001 - skl2onnx raises many types; name the model and the cause
        kinds = ", ".join(sorted({type(est).__name__ for _, est in _walk(pipeline[1:], "")}))
        raise ModelError(f"cannot export to ONNX: skl2onnx failed on this pipeline ({kinds}): "
                         f"{type(e).__name__}: {str(e).splitlines()[0][:300]}") from e


def _gives_probabilities(pipeline: Any) -> bool:
    """A classifier with class probabilities (a mixture model's are cluster memberships: no ``zipmap`` there)."""
    return is_classifier(pipeline) and hasattr(pipeline, "predict_proba")


def _session(data: bytes) -> Any:
    import onnxruntime as ort

    try:
        return ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001 - the graph converted but the runtime rejects it
        raise ModelError(f"cannot export to ONNX: the converted graph does not run in onnxruntime: "
                         f"{str(e).splitlines()[0][:300]}") from e


def _describe_inputs(onnx_model: Any, inputs: list[OnnxInput]) -> None:
    """Record the inputs (name, raw column, type, meaning, example) in the file, for whoever receives it."""
    entry = onnx_model.metadata_props.add()
    entry.key, entry.value = "pipeline_studio.inputs", as_json(inputs)
    note = onnx_model.metadata_props.add()
    note.key = "pipeline_studio.note"
    note.value = ("One input per raw column, shape [rows, 1]: numbers as float64 with NaN for missing, dates as "
                  "float64 seconds since 1970-01-01 00:00:00 (wall clock), everything else as strings with '' "
                  "for missing. See pipeline_studio.inputs for each input's column and an example.")


def predict_onnx(onnx_bytes: bytes, frame: pd.DataFrame, pipeline_prep: Any, *, proba: bool = False) -> np.ndarray:
    """Run an exported graph on raw rows: ``pipeline_prep`` (the fitted ``prepare`` step) shapes them first.

    Returns predicted labels/values, or class probabilities with ``proba=True``.
    """
    return _run_onnx(_session(onnx_bytes), frame, pipeline_prep, proba)


def _run_onnx(session: Any, frame: pd.DataFrame, prepare: Any, proba: bool) -> np.ndarray:
    outputs = session.run(None, input_feed(prepare, frame))
    if proba:
        if len(outputs) < 2:
            raise ModelError("this ONNX graph has no probability output")
        return np.asarray(outputs[1])
    return np.asarray(outputs[0]).ravel()


def verify_onnx(pipeline: Any, session: Any, sample_frame: pd.DataFrame) -> None:
    """Refuse a graph whose predictions on ``sample_frame`` differ from the pipeline's: labels must be
    identical, probabilities within ``ONNX_RTOL`` absolute, regression values within it relative (to the
    value, or to the largest value for values near 0: a linear model fitted on float32 features predicts
    in float32, so its values near 0 are themselves only that precise)."""
    rows = sample_frame.head(CHECK_ROWS)
    got = _run_onnx(session, rows, pipeline[0], proba=False)
    expected = np.asarray(pipeline.predict(rows))
    if expected.dtype.kind in "fc":
        same = values_agree(got, expected)
    else:
        same = np.array_equal(got.astype(expected.dtype), expected)
    if same and _gives_probabilities(pipeline):
        same = np.allclose(_run_onnx(session, rows, pipeline[0], proba=True), pipeline.predict_proba(rows),
                           rtol=0, atol=ONNX_RTOL)
    if not same:
        raise ModelError("cannot export to ONNX: the converted graph predicts differently from the model on "
                         "the sample rows; export as skops or a Python script instead")


def values_agree(got: np.ndarray, expected: np.ndarray) -> bool:
    """Regression values: within ``ONNX_RTOL`` of each value or of the largest magnitude among them."""
    scale = float(np.nanmax(np.abs(expected))) if expected.size else 0.0
    return bool(np.allclose(got, expected, rtol=ONNX_RTOL, atol=ONNX_RTOL * scale))


def _conversion_copy(pipeline: Any, inputs: list[OnnxInput]) -> Any:
    """``pipeline[1:]`` reading the graph's inputs by name, with stand-ins ONNX runs in float64."""
    from sklearn.pipeline import Pipeline

    model = copy.deepcopy(pipeline[1:])
    _read_inputs(model, {column: i.name for column, i in zip(pipeline[0].types, inputs, strict=True)})
    model = _swap(model)
    last = model.steps[-1][1]
    if isinstance(last, OnnxForest):
        model = Pipeline([*model.steps[:-1], ("float32", OnnxRound32()), model.steps[-1]])
    elif any(type(last).__name__.startswith(prefix) for prefix in _FLOAT32_MODELS):
        from skl2onnx.sklapi import CastTransformer

        model = Pipeline([*model.steps[:-1], ("float32", CastTransformer(dtype=np.float32)), model.steps[-1]])
    return model


def _read_inputs(model: Any, names: dict[str, str]) -> None:
    """Point the column transformer at the graph's input names instead of the prepared column names."""
    columns = model.steps[0][1]
    columns.transformers_ = [(n, t, [names[c] for c in cols] if isinstance(cols, list) else names.get(cols, cols))
                             for n, t, cols in columns.transformers_]


def _swap(estimator: Any) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import (
        FunctionTransformer,
        KBinsDiscretizer,
        OneHotEncoder,
        OrdinalEncoder,
        PowerTransformer,
    )

    from pipeline_core.transformers import CappedPCA, Densify, IsolationForestFlag

    name = type(estimator).__name__
    if isinstance(estimator, Pipeline):
        estimator.steps = [(step_name, _swap(step)) for step_name, step in estimator.steps]
    elif isinstance(estimator, ColumnTransformer):
        estimator.transformers_ = [(n, t if isinstance(t, str) else _swap(t), c) for n, t, c in estimator.transformers_]
    elif isinstance(estimator, SimpleImputer):
        return OnnxImputer.from_fitted(estimator) or estimator
    elif isinstance(estimator, OneHotEncoder) and estimator.drop is None:
        return OnnxOneHot.from_fitted(estimator)
    elif name == "TargetEncoder":
        return OnnxTargetEncoder.from_fitted(estimator)
    elif isinstance(estimator, KBinsDiscretizer):
        return OnnxBins.from_fitted(estimator) or estimator
    elif isinstance(estimator, PowerTransformer):
        return OnnxPower.from_fitted(estimator) or estimator
    elif isinstance(estimator, OrdinalEncoder):
        return OnnxOrdinal.from_fitted(estimator) or estimator
    elif name.startswith("HistGradientBoosting"):
        return OnnxBoosting.from_fitted(estimator)
    elif name.startswith(_FOREST_MODELS):
        return OnnxForest.from_fitted(estimator) or estimator
    elif isinstance(estimator, FunctionTransformer) and estimator.func is np.asarray:  # the float32 hand-on
        return OnnxRound32()
    elif isinstance(estimator, IsolationForestFlag):
        return OnnxIsolationFlag.from_fitted(estimator)
    elif isinstance(estimator, CappedPCA):
        return estimator.pca_
    elif isinstance(estimator, Densify):  # graphs hold dense tensors only
        return FunctionTransformer(None, feature_names_out="one-to-one")
    return estimator
