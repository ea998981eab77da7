"""Save, load and export trained pipelines (skops, joblib, ONNX).

skops is the format for model files that travel: loading one never runs code from the
file. :func:`load_model` checks the archive (no pickle, no path tricks, no zip bomb),
refuses a model saved by another scikit-learn version, and lets skops build only the
types in :data:`TRUSTED_TYPES`, a fixed allow-list held here (never read from the file).

joblib is offered for users who want it, but a joblib file is a pickle: load one only if
you produced it yourself; the app and the CLI never load joblib files from uploads.

ONNX export converts everything after the first step (``prepare``, which renames, selects
and casts raw columns): the graph takes one input per *prepared* column, in order, and
:func:`predict_onnx` applies ``prepare`` before feeding it.
"""

from __future__ import annotations

import copy
import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import sklearn
from sklearn.base import BaseEstimator, TransformerMixin, is_classifier

from pipeline_core import __version__
from pipeline_core.definition.registry import onnx_refusals, trusted_types
from pipeline_core.errors import ModelError

Format = Literal["skops", "joblib"]
METADATA_ATTRIBUTE = "studio_metadata_"
METADATA_ENTRY = "pipeline_studio_metadata.json"
METADATA_FORMAT = 1
MAX_FILE_BYTES = 2 * 2**30
MAX_UNCOMPRESSED_BYTES = 4 * 2**30
MAX_COMPRESSION_RATIO = 200
RATIO_MIN_BYTES = 2**20  # small entries cannot hurt, whatever their ratio
MAX_ZIP_ENTRIES = 500_000
MAX_METADATA_BYTES = 20 * 2**20

# Types skops does not trust by default that our compiled pipelines contain: the union of what the
# registry entries declare (steps, models, and what the compiler adds). Tests fit every registered
# step and model and check that its entry covers what skops finds; extend an entry only the same way.
TRUSTED_TYPES: tuple[str, ...] = trusted_types()


@dataclass
class LoadedModel:
    """A fitted pipeline and what training recorded about it (empty for foreign files)."""

    pipeline: Any
    metadata: dict[str, Any] = field(default_factory=dict)


# ---- metadata ------------------------------------------------------------------------------------


def build_metadata(result: Any, frame: pd.DataFrame) -> dict[str, Any]:
    """What prediction and export need later, from a ``TrainResult`` and its raw training frame.

    Plain JSON types only, so skops stores it without trusting anything new and the UI can
    show it without loading the model.
    """
    spec, pipeline = result.spec, result.pipeline
    classes = getattr(pipeline, "classes_", None) if result.task == "classification" else None
    return {
        "format": METADATA_FORMAT,
        "studio_version": __version__,
        "sklearn_version": sklearn.__version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "task": result.task,
        "target": spec.target,
        "metric": result.metric,
        "model": result.best.model,
        "params": _jsonable(result.best.params),
        "features": feature_records(pipeline, frame, spec.columns.rename),
        "classes": _jsonable(list(classes)) if classes is not None else None,
        "schema": {c: {"type": i.type, "reason": i.reason} for c, i in result.schema.items()},
        "definition": spec.to_dict(),
        "leaderboard": [{"model": r.model, "metrics": r.metrics, "error": r.error} for r in result.leaderboard],
        "holdout": dict(result.holdout),
        "provenance": _jsonable(result.provenance),
        "training_rows": result.training_rows,
    }


def feature_records(pipeline: Any, frame: pd.DataFrame, rename: dict[str, str]) -> list[dict[str, Any]]:
    """One record per raw column the model reads: raw name, prepared name, semantic type, dtype, levels."""
    prepare = pipeline[0]
    raw_of = {new: raw for raw, new in rename.items()}
    records = []
    for column, kind in (prepare.types or {}).items():
        raw = raw_of.get(column, column)
        record = {"name": raw, "column": column, "type": kind,
                  "dtype": str(frame[raw].dtype) if raw in frame else "unknown"}
        if kind == "categorical" and raw in frame:
            levels = frame[raw].dropna().astype(str).unique()
            record["levels"] = sorted(levels.tolist()) if len(levels) <= 200 else None
        records.append(record)
    return records


def _jsonable(value: Any) -> Any:
    """Turn numpy scalars/arrays and tuples into JSON types; leave everything else as is."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


# ---- skops / joblib ------------------------------------------------------------------------------


def dump_model(pipeline: Any, fmt: Format = "skops", metadata: dict[str, Any] | None = None) -> bytes:
    """Serialise ``pipeline`` with ``metadata`` embedded; the caller's object is not modified."""
    metadata = _jsonable(metadata or {})
    carrier = copy.copy(pipeline)  # shallow: the attribute goes on the copy, the fitted steps are shared
    setattr(carrier, METADATA_ATTRIBUTE, metadata)
    if fmt == "joblib":
        import joblib

        buffer = io.BytesIO()
        joblib.dump(carrier, buffer)
        return buffer.getvalue()
    if fmt != "skops":
        raise ModelError(f"unknown model format '{fmt}'; use skops or joblib")
    import skops.io as sio

    buffer = io.BytesIO(sio.dumps(carrier, compression=zipfile.ZIP_DEFLATED))
    with zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(METADATA_ENTRY, json.dumps(metadata, indent=1))  # readable without loading the model
    return buffer.getvalue()


def save_model(pipeline: Any, path: str | Path, fmt: Format = "skops", metadata: dict[str, Any] | None = None) -> Path:
    """Write :func:`dump_model`'s bytes to ``path`` (parent folders are created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(dump_model(pipeline, fmt, metadata))
    return path


def load_model(source: str | Path | bytes, fmt: Format = "skops", *, name: str | None = None) -> LoadedModel:
    """Load a model file safely (skops) or, for files you produced yourself only, with joblib.

    ``name`` is how messages call the file (default: its file name, or 'model' for bytes).
    """
    data, default_name = _read_source(source)
    name = name or default_name
    if fmt == "joblib":
        return _load_joblib(data, name)
    if fmt != "skops":
        raise ModelError(f"unknown model format '{fmt}'; use skops or joblib")
    metadata = read_metadata(data, name)
    check_version(metadata, name)
    return LoadedModel(_load_skops(data, name), metadata)


def read_metadata(source: str | Path | bytes, name: str | None = None) -> dict[str, Any]:
    """The metadata of a skops model file, after the archive checks, without loading the model."""
    data, default_name = _read_source(source)
    name = name or default_name
    infos = check_archive(data, name)
    entry = next((i for i in infos if i.filename == METADATA_ENTRY), None)
    if entry is None:
        return {}
    if entry.file_size > MAX_METADATA_BYTES:
        raise ModelError(f"'{name}': its metadata is {entry.file_size:,} bytes, more than a model needs")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        try:
            metadata = json.loads(archive.read(METADATA_ENTRY))
        except (ValueError, zipfile.BadZipFile) as e:
            raise ModelError(f"'{name}': its metadata is not valid JSON ({e})") from e
    if not isinstance(metadata, dict):
        raise ModelError(f"'{name}': its metadata is not a JSON object")
    return metadata


def check_version(metadata: dict[str, Any], name: str) -> None:
    """Refuse a model fitted under another scikit-learn: its internals may load wrongly or not at all."""
    saved = metadata.get("sklearn_version")
    if saved and saved != sklearn.__version__:
        raise ModelError(
            f"'{name}' was saved with scikit-learn {saved}, but this installation has scikit-learn "
            f"{sklearn.__version__}; retrain the model here, or load it where scikit-learn {saved} is installed"
        )


def check_archive(data: bytes, name: str) -> list[zipfile.ZipInfo]:
    """Refuse anything that is not a plain, reasonably sized zip before skops reads it."""
    if _looks_like_pickle(data):
        raise ModelError(
            f"'{name}' looks like a pickle/joblib file; only .skops model files can be loaded, because opening "
            "a pickle can run any code it contains. Export the model as skops instead"
        )
    if data[:4] != b"PK\x03\x04":
        raise ModelError(f"'{name}' is not a skops model file (a skops file is a zip archive)")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError) as e:
        raise ModelError(f"'{name}' is not a readable skops model file: {e}") from e
    if len(infos) > MAX_ZIP_ENTRIES:
        raise ModelError(f"'{name}' holds {len(infos):,} entries; refusing to open it")
    for info in infos:
        _check_entry(info, name)
    total = sum(i.file_size for i in infos)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise ModelError(f"'{name}' would unpack to {total:,} bytes, over the {MAX_UNCOMPRESSED_BYTES:,} limit")
    return infos


def _looks_like_pickle(data: bytes) -> bool:
    """Pickle protocol 2+ starts with 0x80; joblib's compressed pickles start with a zlib/gzip/xz/lz4 header."""
    zlib_header = len(data) > 1 and data[0] == 0x78 and (data[0] * 256 + data[1]) % 31 == 0
    return data[:1] == b"\x80" or zlib_header or data.startswith((b"\x1f\x8b", b"\xfd7zXZ", b"\x04\x22\x4d\x18"))


def _check_entry(info: zipfile.ZipInfo, name: str) -> None:
    entry = info.filename
    parts = entry.replace("\\", "/").split("/")
    if entry.startswith(("/", "\\")) or ".." in parts or (len(entry) > 1 and entry[1] == ":"):
        raise ModelError(f"'{name}' contains an entry with an unsafe path ('{entry}'); refusing to open it")
    if info.file_size > RATIO_MIN_BYTES and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
        raise ModelError(
            f"'{name}': entry '{entry}' expands {info.file_size / max(info.compress_size, 1):,.0f}-fold "
            f"(limit {MAX_COMPRESSION_RATIO}); this looks like a zip bomb, refusing to open it"
        )


def _load_skops(data: bytes, name: str) -> Any:
    import skops.io as sio

    try:
        found = sio.get_untrusted_types(data=data)
    except Exception as e:  # noqa: BLE001 - any parse failure means the file is not a usable model
        raise ModelError(f"'{name}' is not a readable skops model file: {e}") from e
    unknown = sorted(set(found) - set(TRUSTED_TYPES))
    if unknown:
        raise ModelError(f"'{name}' contains types this app does not trust: {', '.join(unknown)}; refusing to load it")
    try:
        return sio.loads(data, trusted=list(TRUSTED_TYPES))
    except Exception as e:  # noqa: BLE001 - skops raises many types; the user needs one message
        raise ModelError(f"'{name}' could not be loaded as a model: {e}") from e


def _load_joblib(data: bytes, name: str) -> LoadedModel:
    """joblib/pickle: for files this installation produced itself, never for uploads."""
    import joblib

    try:
        pipeline = joblib.load(io.BytesIO(data))
    except Exception as e:  # noqa: BLE001 - unpickling can fail in countless ways
        raise ModelError(f"'{name}' could not be loaded with joblib: {e}") from e
    metadata = getattr(pipeline, METADATA_ATTRIBUTE, None) or {}
    check_version(metadata, name)
    return LoadedModel(pipeline, metadata)


def _read_source(source: str | Path | bytes) -> tuple[bytes, str]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), "model"
    path = Path(source)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ModelError(f"'{path.name}' is {size:,} bytes, over the {MAX_FILE_BYTES:,}-byte model limit")
        return path.read_bytes(), path.name
    except OSError as e:
        raise ModelError(f"cannot read model file '{path.name}': {e.strerror or e}") from e


# ---- ONNX ----------------------------------------------------------------------------------------

ONNX_OPSET = {"": 19, "ai.onnx.ml": 3}
ONNX_RTOL = 1e-5  # float32 trees (see _FLOAT32_MODELS) agree to ~1e-7 relative; anything worse is a bug
# ORT runs tree ensembles in float32 only; scikit-learn trees also compare float32 features,
# so casting right before the tree gives the same decisions.
_FLOAT32_MODELS = ("DecisionTree", "RandomForest", "ExtraTrees", "GradientBoosting")


def to_onnx(pipeline: Any, sample_frame: pd.DataFrame | None = None) -> bytes:
    """Convert a fitted pipeline (minus ``prepare``) to ONNX; inputs are the prepared columns.

    Raises :class:`ModelError` naming every step that cannot convert. When ``sample_frame``
    (raw rows) is given, the graph's predictions are checked against the pipeline's.
    """
    from pipeline_core.transformers import FramePreparer

    if not hasattr(pipeline, "steps") or not isinstance(pipeline[0], FramePreparer):
        raise ModelError("ONNX export needs a pipeline trained by Pipeline Studio (its first step prepares columns)")
    blocked = unconvertible_steps(pipeline)
    if blocked:
        listed = "; ".join(f"{path} ({cls}: {why})" for path, cls, why in blocked)
        raise ModelError(f"cannot export to ONNX: these steps cannot be converted: {listed}. "
                         "Remove them from the pipeline, or export as skops or a Python script")
    model = _conversion_copy(pipeline)
    prepare = pipeline[0]
    inputs = [(column, _tensor_type(kind)) for column, kind in (prepare.types or {}).items()]
    onnx_model = _convert(model, inputs, pipeline)
    _describe_inputs(onnx_model, prepare)
    data = onnx_model.SerializeToString()
    session = _session(data)  # also proves onnxruntime can run the graph
    if sample_frame is not None:
        verify_onnx(pipeline, session, sample_frame)
    return data


def unconvertible_steps(pipeline: Any) -> list[tuple[str, str, str]]:
    """``(step path, class, reason)`` for every step after ``prepare`` that ONNX cannot express."""
    found, refusals = [], onnx_refusals()
    for path, estimator in _walk(pipeline[1:], ""):
        reason = refusals.get(type(estimator).__name__)
        if reason:
            found.append((path, type(estimator).__name__, reason))
    return found


def _walk(estimator: Any, prefix: str) -> list[tuple[str, Any]]:
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

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


def _tensor_type(kind: str) -> Any:
    from skl2onnx.common.data_types import DoubleTensorType, StringTensorType

    return DoubleTensorType([None, 1]) if kind == "numeric" else StringTensorType([None, 1])


def _convert(model: Any, inputs: list[tuple[str, Any]], pipeline: Any) -> Any:
    from skl2onnx import convert_sklearn

    _register_converters()
    options = {id(model.steps[-1][1]): {"zipmap": False}} if _gives_probabilities(pipeline) else None
    try:
        return convert_sklearn(model, initial_types=inputs, target_opset=ONNX_OPSET, options=options)
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


def _describe_inputs(onnx_model: Any, prepare: Any) -> None:
    """Record which prepared column each input is (skl2onnx may rewrite names, e.g. spaces)."""
    names = [i.name for i in onnx_model.graph.input]
    columns = [{"input": n, "column": c, "type": t} for n, (c, t) in zip(names, prepare.types.items(), strict=True)]
    entry = onnx_model.metadata_props.add()
    entry.key, entry.value = "pipeline_studio.inputs", json.dumps(columns)
    note = onnx_model.metadata_props.add()
    note.key = "pipeline_studio.note"
    note.value = ("Inputs are the prepared columns: renamed and selected as in training, numeric as float64 "
                  "with NaN for missing, everything else as strings with '' for missing.")


def predict_onnx(onnx_bytes: bytes, frame: pd.DataFrame, pipeline_prep: Any, *, proba: bool = False) -> np.ndarray:
    """Run an exported graph on raw rows: ``pipeline_prep`` (the fitted ``prepare`` step) shapes them first.

    Returns predicted labels/values, or class probabilities with ``proba=True``.
    """
    return _run_onnx(_session(onnx_bytes), frame, pipeline_prep, proba)


def _run_onnx(session: Any, frame: pd.DataFrame, prepare: Any, proba: bool) -> np.ndarray:
    prepared = prepare.transform(frame)
    names = [i.name for i in session.get_inputs()]  # same order as the prepared columns
    feed = {}
    for name, (column, kind) in zip(names, prepare.types.items(), strict=True):
        values = prepared[column]
        if kind == "numeric":
            feed[name] = values.to_numpy(dtype=np.float64).reshape(-1, 1)
        else:
            strings = values.astype(object).where(values.notna(), "").astype(str)
            feed[name] = strings.to_numpy(dtype=object).reshape(-1, 1)
    outputs = session.run(None, feed)
    if proba:
        if len(outputs) < 2:
            raise ModelError("this ONNX graph has no probability output")
        return np.asarray(outputs[1])
    return np.asarray(outputs[0]).ravel()


def verify_onnx(pipeline: Any, session: Any, sample_frame: pd.DataFrame) -> None:
    """Refuse a graph whose predictions on ``sample_frame`` differ from the pipeline's."""
    rows = sample_frame.head(2000)
    got = _run_onnx(session, rows, pipeline[0], proba=False)
    expected = np.asarray(pipeline.predict(rows))
    if expected.dtype.kind in "fc":
        same = np.allclose(got, expected, rtol=ONNX_RTOL, atol=ONNX_RTOL)
    else:
        same = np.array_equal(got.astype(expected.dtype), expected)
    if same and _gives_probabilities(pipeline):
        same = np.allclose(_run_onnx(session, rows, pipeline[0], proba=True), pipeline.predict_proba(rows),
                           rtol=ONNX_RTOL, atol=ONNX_RTOL)
    if not same:
        raise ModelError("cannot export to ONNX: the converted graph predicts differently from the model on "
                         "the sample rows; export as skops or a Python script instead")


def _conversion_copy(pipeline: Any) -> Any:
    """``pipeline[1:]`` with stand-ins ONNX can run in float64, and a float32 cast before tree models."""
    from sklearn.pipeline import Pipeline

    model = copy.deepcopy(pipeline[1:])
    model = _swap(model)
    last = model.steps[-1][1]
    if any(type(last).__name__.startswith(prefix) for prefix in _FLOAT32_MODELS):
        from skl2onnx.sklapi import CastTransformer

        model = Pipeline([*model.steps[:-1], ("float32", CastTransformer(dtype=np.float32)), model.steps[-1]])
    return model


def _swap(estimator: Any) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder

    if isinstance(estimator, Pipeline):
        estimator.steps = [(name, _swap(step)) for name, step in estimator.steps]
    elif isinstance(estimator, ColumnTransformer):
        estimator.transformers_ = [(n, t if isinstance(t, str) else _swap(t), c) for n, t, c in estimator.transformers_]
    elif isinstance(estimator, SimpleImputer):
        return _OnnxImputer.from_fitted(estimator) or estimator
    elif isinstance(estimator, OneHotEncoder) and estimator.drop is None:
        return _OnnxOneHot.from_fitted(estimator)
    elif isinstance(estimator, FunctionTransformer) and estimator.func is np.asarray:  # the float32 hand-on
        identity = copy.copy(estimator)  # the graph computes in float64 throughout instead
        identity.func, identity.kw_args = None, None
        return identity
    return estimator


class _OnnxImputer(TransformerMixin, BaseEstimator):
    """Stand-in for a fitted ``SimpleImputer`` built from plain ONNX ops.

    onnxruntime's ``Imputer`` runs only in float32, which would break float64 agreement.
    Missing numbers are NaN; missing strings are '' (how :func:`predict_onnx` feeds them).
    """

    def __init__(self, fill: np.ndarray, indicator: list[int], strings: bool):
        self.fill, self.indicator, self.strings = fill, indicator, strings

    @classmethod
    def from_fitted(cls, imputer: Any) -> _OnnxImputer | None:
        stats = np.asarray(imputer.statistics_)
        indicator = list(imputer.indicator_.features_) if imputer.add_indicator else []
        strings = stats.dtype.kind in "OUS"
        if strings and indicator:
            return None
        fill = stats.astype(str) if strings else stats.astype(np.float64)
        return cls(fill, [int(i) for i in indicator], strings)

    @property
    def n_out(self) -> int:
        return len(self.fill) + len(self.indicator)


class _OnnxOneHot(TransformerMixin, BaseEstimator):
    """Stand-in for a fitted ``OneHotEncoder`` that also handles infrequent and unknown levels.

    skl2onnx refuses encoders with infrequent categories; here each column maps its known
    levels to output slots (infrequent ones share a slot) with an ONNX ``LabelEncoder``.
    """

    def __init__(self, keys: list[list[str]], slots: list[list[int]], widths: list[int], unknown: list[int]):
        self.keys, self.slots, self.widths, self.unknown = keys, slots, widths, unknown

    @classmethod
    def from_fitted(cls, encoder: Any) -> _OnnxOneHot:
        keys, slots, widths, unknown = [], [], [], []
        mappings = getattr(encoder, "_default_to_infrequent_mappings", None) or [None] * len(encoder.categories_)
        for cats, mapping, width in zip(encoder.categories_, mappings, encoder._n_features_outs, strict=True):
            keys.append(["" if pd.isna(c) else str(c) for c in cats])
            slots.append([int(s) for s in (mapping if mapping is not None else range(len(cats)))])
            widths.append(int(width))
            infrequent = mapping is not None and encoder.handle_unknown == "infrequent_if_exist"
            unknown.append(width - 1 if infrequent else -1)
        return cls(keys, slots, widths, unknown)

    @property
    def n_out(self) -> int:
        return sum(self.widths)


def _register_converters() -> None:
    """Register the stand-ins with skl2onnx (idempotent; they are private classes, nothing is overridden)."""
    from skl2onnx import update_registered_converter

    update_registered_converter(_OnnxImputer, "PipelineStudioImputer", _shape, _convert_imputer)
    update_registered_converter(_OnnxOneHot, "PipelineStudioOneHot", _shape, _convert_onehot)


def _shape(operator: Any) -> None:
    from skl2onnx.common.data_types import DoubleTensorType, StringTensorType

    op = operator.raw_operator
    rows = operator.inputs[0].get_first_dimension()
    strings = isinstance(op, _OnnxImputer) and op.strings
    operator.outputs[0].type = (StringTensorType if strings else DoubleTensorType)([rows, op.n_out])


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
        container.add_initializer(positions, TensorProto.INT64, [1, width], list(range(width)))
        container.add_node("Equal", [slot, positions], [hits], op_version=13)
        blocks.append(hits)
    joined = name("joined")
    container.add_node("Concat", blocks, [joined], axis=1, op_version=13)
    container.add_node("Cast", [joined], [operator.outputs[0].full_name], to=TensorProto.DOUBLE, op_version=13)
