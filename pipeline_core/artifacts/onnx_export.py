"""ONNX export: a fitted pipeline as a graph onnxruntime can run, checked against the pipeline.

It converts everything after the first step (``prepare``, which renames, selects and casts raw
columns): the graph takes one input per *prepared* column, in order, and :func:`predict_onnx`
applies ``prepare`` before feeding it. What cannot convert is refused up front with the reason
its registry entry declares (``registry.onnx_refusals``); simple imputers and one-hot encoders
are swapped for float64 stand-ins (:mod:`pipeline_core.artifacts.onnx_standins`).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import is_classifier

from pipeline_core.artifacts.onnx_standins import OnnxImputer, OnnxOneHot, register_converters
from pipeline_core.definition.registry import onnx_refusals
from pipeline_core.errors import ModelError

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
        if reason is None and type(estimator).__module__.startswith("pipeline_core"):
            reason = "no ONNX form is registered for it"  # ours, yet no registry entry says how it converts
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

    register_converters()
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
        return OnnxImputer.from_fitted(estimator) or estimator
    elif isinstance(estimator, OneHotEncoder) and estimator.drop is None:
        return OnnxOneHot.from_fitted(estimator)
    elif isinstance(estimator, FunctionTransformer) and estimator.func is np.asarray:  # the float32 hand-on
        identity = copy.copy(estimator)  # the graph computes in float64 throughout instead
        identity.func, identity.kw_args = None, None
        return identity
    return estimator
