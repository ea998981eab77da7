"""Float64 stand-ins for scikit-learn's binning and Yeo-Johnson power transform.

skl2onnx converts both in float32 (binning compares values with float32 bin edges, so a value near an
edge can change bins; the power transform mixes float32 and float64, which onnxruntime refuses).
These carry what the fitted objects learned and compute what they compute, in float64:

- :class:`OnnxBins`: ``np.searchsorted(inner_edges, x, side="right")`` per column (how many inner edges
  are at or below the value), then one 0/1 column per bin for one-hot encoding;
- :class:`OnnxPower`: SciPy's Yeo-Johnson formulas per column (``expm1(l * log1p(x)) / l`` for
  ``x >= 0``, the mirrored form below 0, the log forms at ``l = 0`` and ``l = 2``), then the
  fitted standardisation; NaN stays NaN.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from pipeline_core.artifacts.onnx_converters import GraphOps


class OnnxBins(TransformerMixin, BaseEstimator):
    """Stand-in for a fitted ``KBinsDiscretizer`` (ordinal or dense one-hot output)."""

    def __init__(self, inner_edges: list[np.ndarray], onehot: bool):
        self.inner_edges, self.onehot = inner_edges, onehot

    @classmethod
    def from_fitted(cls, bins: Any) -> OnnxBins | None:
        """``None`` for sparse one-hot output (the project builds dense only)."""
        if bins.encode not in ("ordinal", "onehot-dense"):
            return None
        return cls([np.asarray(e[1:-1], dtype=np.float64) for e in bins.bin_edges_], bins.encode == "onehot-dense")

    @property
    def n_out(self) -> int:
        return sum(len(e) + 1 for e in self.inner_edges) if self.onehot else len(self.inner_edges)


class OnnxPower(TransformerMixin, BaseEstimator):
    """Stand-in for a fitted Yeo-Johnson ``PowerTransformer``."""

    def __init__(self, lambdas: np.ndarray, mean: np.ndarray | None, scale: np.ndarray | None):
        self.lambdas, self.mean, self.scale = lambdas, mean, scale

    @classmethod
    def from_fitted(cls, power: Any) -> OnnxPower | None:
        """``None`` for Box-Cox (the project builds Yeo-Johnson only)."""
        if power.method != "yeo-johnson":
            return None
        scaler = power._scaler if power.standardize else None  # the fitted standardisation; no public accessor
        mean = None if scaler is None else np.asarray(scaler.mean_, dtype=np.float64)
        scale = None if scaler is None else np.asarray(scaler.scale_, dtype=np.float64)
        return cls(np.asarray(power.lambdas_, dtype=np.float64), mean, scale)

    @property
    def n_out(self) -> int:
        return len(self.lambdas)


def convert_bins(scope: Any, operator: Any, container: Any) -> None:
    from onnx import TensorProto

    op, ops, source = operator.raw_operator, GraphOps(scope, container), operator.inputs[0].full_name
    axis = scope.get_unique_variable_name("axis")
    container.add_initializer(axis, TensorProto.INT64, [1], [1])
    blocks = []
    for j, edges in enumerate(op.inner_edges):
        index = scope.get_unique_variable_name("bin_column")
        container.add_initializer(index, TensorProto.INT64, [1], [j])
        column = ops("Gather", source, index, axis=1)
        if len(edges):
            below = ops("Cast", ops("LessOrEqual", ops.row(edges), column), to=TensorProto.DOUBLE)
            code = ops("ReduceSum", below, axis, keepdims=1)
        else:  # one bin: every value is in bin 0
            code = ops("Mul", column, ops.const(0.0))
        if op.onehot:
            code = ops("Cast", ops("Equal", code, ops.row(np.arange(len(edges) + 1))), to=TensorProto.DOUBLE)
        blocks.append(code)
    ops("Concat", *blocks, output=operator.outputs[0].full_name, axis=1)


def convert_power(scope: Any, operator: Any, container: Any) -> None:
    op, ops, x = operator.raw_operator, GraphOps(scope, container), operator.inputs[0].full_name
    lam = op.lambdas
    at_zero, at_two = np.abs(lam) < np.spacing(1.0), np.abs(lam - 2) <= np.spacing(1.0)
    one = ops.const(1.0)
    log_up = ops("Log", ops("Add", x, one))  # log1p(x), used where x >= 0
    log_down = ops("Log", ops("Sub", one, x))  # log1p(-x), used where x < 0
    power_up = ops("Div", ops("Sub", ops("Exp", ops("Mul", log_up, ops.row(lam))), one),
                   ops.row(np.where(at_zero, 1.0, lam)))
    up = ops("Where", ops("Cast", ops.row(at_zero.astype(float)), to=9), log_up, power_up)  # 9: BOOL
    mirrored = 2.0 - lam
    power_down = ops("Div", ops("Sub", ops("Exp", ops("Mul", log_down, ops.row(mirrored))), one),
                     ops.row(np.where(at_two, 1.0, mirrored)))
    down = ops("Neg", ops("Where", ops("Cast", ops.row(at_two.astype(float)), to=9), log_down, power_down))
    out = ops("Where", ops("GreaterOrEqual", x, ops.const(0.0)), up, down)  # NaN: False, the "down" side (NaN)
    if op.mean is None:
        ops("Identity", out, output=operator.outputs[0].full_name)
        return
    ops("Div", ops("Sub", out, ops.row(op.mean)), ops.row(op.scale), output=operator.outputs[0].full_name)


def register_numeric() -> None:
    """Register the two stand-ins with skl2onnx (idempotent; they are our classes, nothing is overridden)."""
    from skl2onnx import update_registered_converter

    from pipeline_core.artifacts.onnx_standins import typed_parser

    def shape(operator: Any) -> None:
        from skl2onnx.common.data_types import DoubleTensorType

        rows = operator.inputs[0].get_first_dimension()
        operator.outputs[0].type = DoubleTensorType([rows, operator.raw_operator.n_out])

    def output(model: Any) -> Any:
        from skl2onnx.common.data_types import DoubleTensorType

        return DoubleTensorType([None, model.n_out])

    for cls, alias, convert in ((OnnxBins, "PipelineStudioBins", convert_bins),
                                (OnnxPower, "PipelineStudioPower", convert_power)):
        update_registered_converter(cls, alias, shape, convert, parser=typed_parser(alias, output))
