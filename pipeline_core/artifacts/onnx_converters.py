"""ONNX converters for Pipeline Studio's own transformers, written with plain float64 ONNX ops.

Each computes exactly what the transformer's ``transform`` does (same comparisons, same order of
operations where rounding could differ), so the exported graph agrees with the pipeline:

- :class:`~pipeline_core.transformers.OutlierClipper`: ``np.clip`` to the learned bounds, NaN kept;
- :class:`~pipeline_core.transformers.LogTransformer`: ``log1p`` of the shifted, floored values;
- :class:`~pipeline_core.transformers.DateParts`: calendar parts from date-times that reach the
  graph as float64 seconds since 1970-01-01 00:00:00 (wall-clock time; NaN when missing), with
  the proleptic Gregorian arithmetic pandas uses (whole seconds, so every step is exact);
- :class:`OnnxRound32`: the compiler's float32 hand-on after each branch, rounded and widened back,
  so a model sees the very float32-rounded numbers it sees in memory.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

SECONDS_PER_DAY = 86_400.0
EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday; pandas numbers Monday 0
DAYS_TO_EPOCH = 719_468.0  # days from 0000-03-01 to 1970-01-01 (the civil-from-days algorithm's origin)


class OnnxRound32(TransformerMixin, BaseEstimator):
    """Stand-in for the float32 hand-on (``FunctionTransformer(np.asarray, dtype=float32)``) and the float32
    cast scikit-learn's trees apply: values rounded to float32, carried on as float64."""

    def __init__(self, n_out: int | None = None):
        self.n_out = n_out


class GraphOps:
    """Adds nodes to a skl2onnx container with fresh names; each call returns its output's name."""

    def __init__(self, scope: Any, container: Any):
        self.scope, self.container = scope, container

    def const(self, value: float) -> str:
        from onnx import TensorProto

        name = self.scope.get_unique_variable_name("c")
        self.container.add_initializer(name, TensorProto.DOUBLE, [], [float(value)])
        return name

    def row(self, values: np.ndarray) -> str:
        from onnx import TensorProto

        name = self.scope.get_unique_variable_name("bounds")
        self.container.add_initializer(name, TensorProto.DOUBLE, [1, len(values)], np.asarray(values, float).tolist())
        return name

    def __call__(self, op_type: str, *inputs: str, output: str | None = None, **attrs: Any) -> str:
        out = output or self.scope.get_unique_variable_name(op_type.lower())
        self.container.add_node(op_type, list(inputs), [out], op_version=_VERSIONS.get(op_type, 13), **attrs)
        return out

    def floor_div(self, a: str, b: float) -> str:
        return self("Floor", self("Div", a, self.const(b)))

    def mod(self, a: str, b: float) -> str:
        """``a - floor(a / b) * b``: Python's modulo, non-negative for negative ``a`` too."""
        return self("Sub", a, self("Mul", self.floor_div(a, b), self.const(b)))


_VERSIONS = {"Where": 16, "Sub": 14, "Add": 14, "Mul": 14, "Div": 14}


def _parser(alias: str) -> Any:
    from skl2onnx.common.data_types import DoubleTensorType

    from pipeline_core.artifacts.onnx_standins import typed_parser

    return typed_parser(alias, lambda op: DoubleTensorType([None, None]))


def _same_width(operator: Any) -> None:
    from skl2onnx.common.data_types import DoubleTensorType

    operator.outputs[0].type = DoubleTensorType(operator.inputs[0].type.shape)


def _date_width(operator: Any) -> None:
    from skl2onnx.common.data_types import DoubleTensorType

    rows, columns = operator.inputs[0].type.shape
    parts = len(operator.raw_operator.parts)
    operator.outputs[0].type = DoubleTensorType([rows, None if columns is None else columns * parts])


def convert_round32(scope: Any, operator: Any, container: Any) -> None:
    from onnx import TensorProto

    ops = GraphOps(scope, container)
    narrow = ops("Cast", operator.inputs[0].full_name, to=TensorProto.FLOAT)
    ops("Cast", narrow, output=operator.outputs[0].full_name, to=TensorProto.DOUBLE)


def convert_clipper(scope: Any, operator: Any, container: Any) -> None:
    """``np.clip(x, lower, upper)``: comparisons are false for NaN, so missing values pass through."""
    op, ops, x = operator.raw_operator, GraphOps(scope, container), operator.inputs[0].full_name
    lower, upper = ops.row(op.lower_), ops.row(op.upper_)
    raised = ops("Where", ops("Less", x, lower), lower, x)
    ops("Where", ops("Greater", raised, upper), upper, raised, output=operator.outputs[0].full_name)


def convert_log(scope: Any, operator: Any, container: Any) -> None:
    """``log1p(clip(x - shift, 0, None))``, as ``Log(1 + v)`` (equal to log1p within 1e-16 absolute)."""
    op, ops = operator.raw_operator, GraphOps(scope, container)
    shift = np.broadcast_to(np.asarray(op.shift_, dtype=np.float64), (op.n_features_in_,))
    shifted = ops("Sub", operator.inputs[0].full_name, ops.row(shift))
    zero = ops.const(0.0)
    floored = ops("Where", ops("Less", shifted, zero), zero, shifted)
    ops("Log", ops("Add", floored, ops.const(1.0)), output=operator.outputs[0].full_name)


def convert_date_parts(scope: Any, operator: Any, container: Any) -> None:
    """One block of parts per input column, in the transformer's order (column by column, part by part)."""
    from onnx import TensorProto

    from pipeline_core.errors import ModelError

    if operator.inputs[0].type.to_onnx_type().tensor_type.elem_type != TensorProto.DOUBLE:
        raise ModelError("the date-parts step reads a column that is not a date: only date columns (fed as "
                         "seconds since 1970) can become calendar parts in ONNX")
    op, ops = operator.raw_operator, GraphOps(scope, container)
    blocks = []
    for j in range(op.n_features_in_):
        index = scope.get_unique_variable_name("date_column")
        container.add_initializer(index, TensorProto.INT64, [1], [j])
        seconds = ops("Gather", operator.inputs[0].full_name, index, axis=1)
        calendar = _Calendar(ops, seconds)
        blocks.extend(getattr(calendar, part)() for part in op.parts)
    if len(blocks) == 1:
        ops("Identity", blocks[0], output=operator.outputs[0].full_name)
    else:
        ops("Concat", *blocks, output=operator.outputs[0].full_name, axis=1)


class _Calendar:
    """Calendar parts of float64 epoch seconds; each part's nodes are added when first asked for.

    Year, month and day follow Howard Hinnant's ``civil_from_days`` (proleptic Gregorian, exact in
    integers); every intermediate is a whole number far below 2**53, so float64 holds it exactly.
    """

    def __init__(self, ops: GraphOps, seconds: str):
        self.ops, self.seconds, self._done = ops, seconds, {}

    def _once(self, key: str, build: Any) -> str:
        if key not in self._done:
            self._done[key] = build()
        return self._done[key]

    def days(self) -> str:
        return self._once("days", lambda: self.ops.floor_div(self.seconds, SECONDS_PER_DAY))

    def _second_of_day(self) -> str:
        return self._once("sod", lambda: self.ops.mod(self.seconds, SECONDS_PER_DAY))

    def hour(self) -> str:
        return self._once("hour", lambda: self.ops.floor_div(self._second_of_day(), 3600.0))

    def minute(self) -> str:
        return self._once("minute", lambda: self.ops.floor_div(self.ops.mod(self._second_of_day(), 3600.0), 60.0))

    def dayofweek(self) -> str:
        ops = self.ops
        return self._once("dow", lambda: ops.mod(ops("Add", self.days(), ops.const(EPOCH_WEEKDAY)), 7.0))

    def _civil(self) -> tuple[str, str, str]:
        """(year, month, day) from the day count."""
        def build() -> tuple[str, str, str]:
            ops, c = self.ops, self.ops.const
            z = ops("Add", self.days(), c(DAYS_TO_EPOCH))
            era = ops.floor_div(z, 146_097.0)
            doe = ops("Sub", z, ops("Mul", era, c(146_097.0)))
            yoe = ops.floor_div(ops("Sub", ops("Add", ops("Sub", doe, ops.floor_div(doe, 1460.0)),
                                                 ops.floor_div(doe, 36_524.0)), ops.floor_div(doe, 146_096.0)), 365.0)
            year_start = ops("Sub", ops("Add", ops("Mul", yoe, c(365.0)), ops.floor_div(yoe, 4.0)),
                             ops.floor_div(yoe, 100.0))
            doy = ops("Sub", doe, year_start)  # day of a year that starts on 1 March
            mp = ops.floor_div(ops("Add", ops("Mul", doy, c(5.0)), c(2.0)), 153.0)
            day = ops("Add", ops("Sub", doy, ops.floor_div(ops("Add", ops("Mul", mp, c(153.0)), c(2.0)), 5.0)), c(1.0))
            month = ops("Add", mp, ops("Where", ops("Less", mp, c(10.0)), c(3.0), c(-9.0)))
            january_or_february = ops("Where", ops("LessOrEqual", month, c(2.0)), c(1.0), c(0.0))
            year = ops("Add", ops("Add", yoe, ops("Mul", era, c(400.0))), january_or_february)
            return year, month, day
        return self._once("civil", build)

    def year(self) -> str:
        return self._civil()[0]

    def month(self) -> str:
        return self._civil()[1]

    def day(self) -> str:
        return self._civil()[2]

    def dayofyear(self) -> str:
        """Days since 1 January of the same year, plus one (``days_from_civil(year, 1, 1)``)."""
        def build() -> str:
            ops, c = self.ops, self.ops.const
            before = ops("Sub", self.year(), c(1.0))  # January counts in the previous March-based year
            era = ops.floor_div(before, 400.0)
            yoe = ops("Sub", before, ops("Mul", era, c(400.0)))
            doe = ops("Add", ops("Sub", ops("Add", ops("Mul", yoe, c(365.0)), ops.floor_div(yoe, 4.0)),
                                 ops.floor_div(yoe, 100.0)), c(306.0))
            first = ops("Sub", ops("Add", ops("Mul", era, c(146_097.0)), doe), c(DAYS_TO_EPOCH))
            return ops("Add", ops("Sub", self.days(), first), c(1.0))
        return self._once("doy", build)


def register_ours() -> None:
    """Register the converters above with skl2onnx (idempotent)."""
    from skl2onnx import update_registered_converter

    from pipeline_core.transformers import DateParts, LogTransformer, OutlierClipper

    for cls, alias, shape, convert in (
        (OnnxRound32, "PipelineStudioRound32", _same_width, convert_round32),
        (OutlierClipper, "PipelineStudioOutlierClipper", _same_width, convert_clipper),
        (LogTransformer, "PipelineStudioLog", _same_width, convert_log),
        (DateParts, "PipelineStudioDateParts", _date_width, convert_date_parts),
    ):
        update_registered_converter(cls, alias, shape, convert, parser=_parser(alias))
