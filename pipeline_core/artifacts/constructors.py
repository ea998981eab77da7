"""Fitted-pipeline objects written back as the Python that builds them (for the standalone script).

scikit-learn estimators are written as constructor calls with the arguments that differ from
the class defaults, imported from their public module. Our own transformers are written with
the equivalents their registry entries declare (:mod:`pipeline_core.definition.standalone`):
anything else from this project has no form a script can use, and is refused rather than left out.
"""

from __future__ import annotations

import importlib
import inspect
import math
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline

from pipeline_core.definition.registry import model_libraries, script_helpers
from pipeline_core.definition.standalone import Helper, literal
from pipeline_core.errors import SpecError

BASE_IMPORTS = (
    "import json", "import sys", "import warnings", "from pathlib import Path", "", "import numpy as np",
    "import pandas as pd",
)


class Renderer:
    """Writes estimators as constructor calls and remembers the imports and helpers they need."""

    def __init__(self) -> None:
        self.imports: set[str] = set()
        self.needed: list[Helper] = []
        self.forms = script_helpers()

    def render(self, obj: Any, depth: int) -> str:
        if isinstance(obj, Pipeline):
            self._import(Pipeline)
            items = [f"({name!r}, {self.render(step, depth + 1)})" for name, step in obj.steps]
            return "Pipeline(" + _block(items, depth) + ")"
        if isinstance(obj, ColumnTransformer):
            return self._column_transformer(obj, depth)
        helper = self.forms.get(type(obj))
        if helper is not None:
            return self._ours(obj, helper)
        if is_estimator(obj):
            if type(obj).__module__.split(".")[0] not in ("sklearn", *model_libraries()):
                raise SpecError(f"no standalone script form is registered for {type(obj).__qualname__}: give its "
                                "step's registry entry a Helper (pipeline_core/definition/standalone.py)")
            self._import(type(obj))
            args = [f"{k}={self.value(v, depth)}" for k, v in changed_params(obj).items()]
            return f"{type(obj).__name__}({', '.join(args)})"
        return self.value(obj, depth)

    def _column_transformer(self, obj: ColumnTransformer, depth: int) -> str:
        self._import(ColumnTransformer)
        items = [f"({name!r}, {self.render(t, depth + 1)}, {literal(cols)})"
                 for name, t, cols in obj.transformers]
        options = {k: v for k, v in changed_params(obj).items() if k != "transformers"}
        rest = "".join(f", {k}={self.value(v, depth)}" for k, v in options.items())
        return "ColumnTransformer(" + _block(items, depth) + rest + ")"

    def _ours(self, obj: Any, helper: Helper) -> str:
        self._need(helper)
        if helper.call:
            return helper.call.format(**{k: literal(v) for k, v in obj.get_params(deep=False).items()})
        args = [f"{k}={self.value(v, 0)}" for k, v in changed_params(obj).items()]
        return f"{type(obj).__name__}({', '.join(args)})"

    def value(self, value: Any, depth: int) -> str:
        if is_estimator(value):
            return self.render(value, depth + 1)
        if isinstance(value, np.ufunc) and getattr(np, value.__name__, None) is value:
            return f"np.{value.__name__}"  # a log target's np.log1p / np.expm1: numpy is imported as np
        if inspect.isfunction(value) or inspect.isbuiltin(value):
            self._import(value)
            return value.__name__
        if isinstance(value, type):
            if value.__module__ == "numpy":
                return f"np.{value.__name__}"
            self._import(value)
            return value.__name__
        return literal(value)

    def _need(self, helper: Helper) -> None:
        for other in helper.needs:
            self._need(other)
        self.imports.update(helper.imports)
        if helper not in self.needed:
            self.needed.append(helper)

    def _import(self, obj: Any) -> None:
        if obj.__name__ == "IterativeImputer":
            self.imports.add("from sklearn.experimental import enable_iterative_imputer  # noqa: F401")
        self.imports.add(f"from {public_module(obj)} import {obj.__name__}")

    def import_block(self) -> str:
        grouped: dict[str, list[str]] = {}
        plain = []
        for line in self.imports:
            if line.startswith("from ") and "#" not in line:
                module, names = line[5:].split(" import ")
                grouped.setdefault(module, []).extend(n.strip() for n in names.split(","))
            else:
                plain.append(line)
        merged = [f"from {m} import {', '.join(sorted(set(n)))}" for m, n in grouped.items()]
        experimental = sorted(line for line in plain if "experimental" in line)
        modules = [line for line in plain if line.startswith("import ") and line not in BASE_IMPORTS]  # import xgboost
        third_party = sorted([*modules, *(line for line in merged if not line.startswith("from sklearn"))])
        sklearn_lines = sorted(line for line in merged if line.startswith("from sklearn"))
        return "\n".join([*BASE_IMPORTS, *third_party, *experimental, *sklearn_lines])

    def helpers(self) -> list[str]:
        """The sources of the equivalents used, each after those it needs (``prepare`` is in the template)."""
        return [helper.source for helper in self.needed if helper.source]


def _block(items: list[str], depth: int) -> str:
    pad = "    " * (depth + 1)
    return "[\n" + "".join(f"{pad}{item},\n" for item in items) + "    " * depth + "]"


def is_estimator(obj: Any) -> bool:
    """scikit-learn's estimators, and those of libraries that follow its contract without its base class
    (CatBoost's)."""
    return isinstance(obj, BaseEstimator) or (not isinstance(obj, type) and hasattr(obj, "get_params")
                                              and hasattr(obj, "fit"))


def changed_params(estimator: BaseEstimator) -> dict[str, Any]:
    """Constructor arguments that differ from the class defaults (what a person would write).

    A default is the signature's; for parameters the signature hides in ``**kwargs`` (XGBoost's) it is what a fresh
    instance reports, so the script does not spell out forty ``None``s.
    """
    signature = inspect.signature(type(estimator).__init__)
    params = estimator.get_params(deep=False)
    fresh = type(estimator)().get_params(deep=False) if set(params) - set(signature.parameters) else {}
    out = {}
    for name, value in params.items():
        parameter = signature.parameters.get(name)
        default = parameter.default if parameter is not None else fresh.get(name, inspect.Parameter.empty)
        if default is inspect.Parameter.empty or not _same(value, default):
            out[name] = value
    return out


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b) and not (isinstance(a, (int, float)) and isinstance(b, (int, float))):
        return False
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def public_module(obj: Any) -> str:
    """The shortest public module that exports ``obj`` (``sklearn.linear_model``, not ``..._logistic``)."""
    parts = obj.__module__.split(".")
    for end in range(1, len(parts) + 1):
        if parts[end - 1].startswith("_"):
            break
        module = ".".join(parts[:end])
        if getattr(importlib.import_module(module), obj.__name__, None) is obj:
            return module
    return obj.__module__
