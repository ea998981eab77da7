"""Save, load and export trained pipelines: the one import for callers (skops, joblib, ONNX, metadata).

The work lives in modules named for what they hold: :mod:`~pipeline_core.artifacts.metadata`
(what a model file records), :mod:`~pipeline_core.artifacts.bundle` (the zip that
takes a model outside the app), :mod:`~pipeline_core.artifacts.skops_io` (saving, safe loading and
the trusted-type list), :mod:`~pipeline_core.artifacts.onnx_export` (conversion and checking),
:mod:`~pipeline_core.artifacts.onnx_inputs` (what a graph takes), :mod:`~pipeline_core.artifacts.onnx_converters`
(our transformers), :mod:`~pipeline_core.artifacts.onnx_trees` (float64 tree ensembles) and
:mod:`~pipeline_core.artifacts.onnx_standins` (float64 stand-ins). This module names them once, so
callers and saved-model tooling keep one stable address.
"""

from __future__ import annotations

from pipeline_core.artifacts.bundle import (
    BundleSchema,
    LoadedBundle,
    dump_bundle,
    is_bundle,
    load_bundle,
    load_model_or_bundle,
)
from pipeline_core.artifacts.metadata import (
    METADATA_ATTRIBUTE,
    METADATA_ENTRY,
    METADATA_FORMAT,
    build_metadata,
    feature_records,
)
from pipeline_core.artifacts.onnx_export import (
    ONNX_OPSET,
    ONNX_RTOL,
    predict_onnx,
    to_onnx,
    unconvertible_steps,
    verify_onnx,
)
from pipeline_core.artifacts.onnx_inputs import OnnxInput, onnx_inputs
from pipeline_core.artifacts.onnx_inputs import describe as describe_onnx_inputs
from pipeline_core.artifacts.skops_io import (
    TRUSTED_TYPES,
    Format,
    LoadedModel,
    check_archive,
    check_version,
    dump_model,
    load_model,
    read_metadata,
    save_model,
)

__all__ = [
    "BundleSchema", "LoadedBundle", "dump_bundle", "is_bundle", "load_bundle", "load_model_or_bundle",
    "METADATA_ATTRIBUTE", "METADATA_ENTRY", "METADATA_FORMAT", "ONNX_OPSET", "ONNX_RTOL", "TRUSTED_TYPES", "Format",
    "LoadedModel", "build_metadata", "check_archive", "check_version", "dump_model", "feature_records", "load_model",
    "predict_onnx", "read_metadata", "save_model", "to_onnx", "unconvertible_steps", "verify_onnx",
    "OnnxInput", "describe_onnx_inputs", "onnx_inputs",
]
