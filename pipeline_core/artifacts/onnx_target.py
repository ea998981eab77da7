"""A log target in ONNX: the regressor's graph, then ``exp(y) - 1`` on its output.

skl2onnx has no converter for scikit-learn's ``TransformedTargetRegressor``; with a log target
(:mod:`pipeline_core.compiler.target`: ``log1p`` in, ``expm1`` out) the wrapper adds nothing but the inverse
after the fitted regressor, so the pipeline converts with the regressor in its place and the graph's output
goes through ``Exp`` and ``Sub``. Export then checks the graph against the wrapped pipeline's predictions, in
the target's units, like any other. A Yeo-Johnson target's inverse depends on its learned lambda piecewise and
stays refused (its entry in ``registry.TARGET_ENTRIES`` says why).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.pipeline import Pipeline


def is_log_target(step: Any) -> bool:
    """A fitted or unfitted model step fitted to ``log1p`` of the target and answering through ``expm1``."""
    return isinstance(step, TransformedTargetRegressor) and step.func is np.log1p and step.inverse_func is np.expm1


def without_log_target(pipeline: Pipeline) -> tuple[Pipeline, bool]:
    """``pipeline`` with a log target's fitted regressor in place of its wrapper, and whether it had one."""
    last = pipeline.steps[-1][1]
    if not is_log_target(last) or not hasattr(last, "regressor_"):
        return pipeline, False
    return Pipeline([*pipeline.steps[:-1], (pipeline.steps[-1][0], last.regressor_)]), True


def add_expm1(onnx_model: Any) -> None:
    """Route the graph's first output (the regressor's values, in log units) through ``exp(v) - 1``."""
    from onnx import helper, numpy_helper

    graph = onnx_model.graph
    name = graph.output[0].name
    logged = f"{name}_log1p"
    for node in graph.node:
        node.output[:] = [logged if out == name else out for out in node.output]
    elem = graph.output[0].type.tensor_type.elem_type
    dtype = np.float32 if elem == 1 else np.float64  # onnx.TensorProto.FLOAT is 1
    one = numpy_helper.from_array(np.array(1, dtype=dtype), f"{name}_one")
    graph.initializer.append(one)
    graph.node.extend([helper.make_node("Exp", [logged], [f"{name}_exp"]),
                       helper.make_node("Sub", [f"{name}_exp", one.name], [name])])
