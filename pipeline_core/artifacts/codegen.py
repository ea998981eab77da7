"""Export a pipeline definition as a standalone Python script (pandas + scikit-learn + numpy).

The script is for users who leave the app: it reads the raw file, applies the same row
steps and column handling, builds the same ``ColumnTransformer`` and model with the same
parameters and seed, cross-validates on the same folds and fits. It is generated from the
compiled pipeline itself, so it cannot drift from what the app trains; our custom
transformers are written out as short, readable equivalents that compute the same numbers.
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

from pipeline_core.definition import metrics as mt
from pipeline_core.definition import steps as st
from pipeline_core.compiler.columns import ColumnInfo
from pipeline_core.compiler.compile import compile_pipeline
from pipeline_core.errors import SpecError
from pipeline_core.definition.registry import MODELS
from pipeline_core.definition.spec import ModelSpec, PipelineSpec
from pipeline_core.transformers import (
    CappedPCA,
    DateParts,
    Densify,
    FramePreparer,
    IsolationForestFlag,
    LogTransformer,
    OutlierClipper,
)


def python_script(
    spec: PipelineSpec, schema: dict[str, ColumnInfo], task: str, model_kind: str, params: dict[str, Any],
    n_rows: int | None = None,
) -> str:
    """The script's source; running it prints one JSON line with the CV scores (and hold-out scores).

    ``n_rows`` is the model's training rows: it settles choices the definition leaves to the data's size.
    """
    if task not in ("classification", "regression", "clustering"):
        raise SpecError(f"task: cannot generate a script for task '{task}'")
    pipeline = compile_pipeline(spec, schema, task=task, model=ModelSpec(kind=model_kind, params=params),
                                n_rows=n_rows)
    renderer = _Renderer()
    body = renderer.render(pipeline, 1)
    main = _main(spec, task, renderer)
    parts = [
        _header(spec, model_kind, task),
        renderer.import_block() + "\n\n" + _constants(spec, pipeline, task, model_kind),
        *renderer.helpers(),
        _TRAINING_ROWS.replace("$ROW_STEPS", _row_steps(spec, schema)),
        f"def build_pipeline():\n    return {body}\n",
        main,
    ]
    return "\n\n\n".join(part.strip("\n") for part in parts) + "\n"


def script_from_metadata(metadata: dict[str, Any]) -> str:
    """The script for a saved model, from the definition, column types, model and params it records."""
    from pipeline_core.errors import ModelError
    from pipeline_core.definition.spec import load_spec

    if not all(metadata.get(key) for key in ("definition", "schema", "task", "model")):
        raise ModelError("this model file does not record its definition and column types, so no script can be "
                         "generated (it was not saved by Pipeline Studio); export it as skops instead")
    schema = {c: ColumnInfo(c, info["type"], info.get("reason", "")) for c, info in metadata["schema"].items()}
    return python_script(load_spec(metadata["definition"]), schema, metadata["task"], metadata["model"],
                         metadata.get("params") or {}, n_rows=metadata.get("training_rows"))


# ---- what the script says and defines ----------------------------------------------------------------


def _header(spec: PipelineSpec, model_kind: str, task: str) -> str:
    source = spec.data.file_name or "your data file"
    digest = f" (sha256 {spec.data.sha256[:16]}…)" if spec.data.sha256 else ""
    return f'''"""{spec.name}: {MODELS[model_kind].label} ({task}), exported from Pipeline Studio.

Trained on {source}{digest}. Run:  python this_script.py DATA_FILE

It reads the file with pandas, applies the same column handling and row steps, builds the
same preprocessing and model (same parameters and seed), cross-validates on the same folds
and fits on the training rows, then prints one JSON line with the scores. Needs only pandas,
numpy and scikit-learn (the version the model was trained with gives identical scores).
"""'''


def _constants(spec: PipelineSpec, pipeline: Pipeline, task: str, model_kind: str) -> str:
    prepare: FramePreparer = pipeline[0]
    raw_target = next((raw for raw, new in spec.columns.rename.items() if new == spec.target), spec.target)
    plan = spec.evaluation
    lines = [
        f"DATA_FILE = {spec.data.file_name or 'data.csv'!r}",
        f"TARGET = {spec.target!r}",
        f"RAW_TARGET = {raw_target!r}  # the target's name in the file",
        f"RENAME = {_literal(dict(spec.columns.rename))}",
        f"SELECT = {_literal(spec.columns.select)}  # None keeps every column",
        f"FEATURES = {_literal(dict(prepare.types or {}))}  # column -> how it is read",
        f"MODEL = {model_kind!r}",
        f"SEED = {plan.seed}",
        f"FOLDS = {plan.cv_folds}",
        f"HOLDOUT = {plan.holdout}",
        f"STRATIFY = {plan.stratify}",
        f"MAX_ROWS = {MODELS[model_kind].max_rows}  # above this, train on a sample: {MODELS[model_kind].limit_reason}",
        f"METRICS = {_literal(mt.usable_metrics(task, pipeline)) if task != 'clustering' else []}",
        f"METRIC = {spec.evaluation.metric!r}" + ("  # chosen from the target, as the app does" if
                                                  spec.evaluation.metric == "auto" else ""),
    ]
    return "\n".join(lines) + "\n"


def _row_steps(spec: PipelineSpec, schema: dict[str, ColumnInfo]) -> str:
    lines = []
    for step in spec.steps:
        if isinstance(step, st.DropDuplicates):
            subset = _literal(step.subset) if step.subset else "None"
            lines.append(f"data = data.drop_duplicates(subset={subset})")
        elif isinstance(step, st.FilterRows):
            numeric = schema.get(step.column, ColumnInfo("", "", "")).type == "numeric"
            lines.append(f"data = data[{_filter(step, numeric)}]")
    return "\n    ".join(lines) if lines else "pass  # no row steps"


def _filter(step: st.FilterRows, numeric: bool) -> str:
    column, op, value = f"data[{step.column!r}]", step.op, step.value
    if op == "is missing":
        return f"{column}.isna()"
    if op == "is not missing":
        return f"{column}.notna()"
    if op in ("in", "not in"):
        options = value if isinstance(value, list) else [value]
        return f"{'~' if op == 'not in' else ''}{column}.isin({_literal(options)})"
    if op == "contains":
        return f"{column}.astype('string').str.contains({str(value)!r}, regex=False, na=False)"
    if numeric and not isinstance(value, (int, float)):
        value = float(value)
    return f"{column} {op} {_literal(value)}"


_TRAINING_ROWS = '''
def read_table(path):
    """Read the raw file with pandas (CSV/TSV, Excel, Parquet or JSON, by extension)."""
    suffix = Path(path).suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return pd.read_excel(path)
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if suffix in (".json", ".jsonl", ".ndjson"):
        return pd.read_json(path, lines=suffix != ".json")
    return pd.read_csv(path, sep="\\t" if suffix == ".tsv" else ",")


def training_rows(frame):
    """Column slicing and row steps, as in the app; they run on training data only, never at predict time."""
    frame = frame.reset_index(drop=True)
    data = frame.rename(columns=RENAME)
    if SELECT is not None:
        data = data[SELECT + ([TARGET] if TARGET and TARGET not in SELECT else [])]
    $ROW_STEPS
    if TARGET is None:
        return frame.loc[data.index], None
    target = data[TARGET]
    unusable = target.isna()
    if pd.api.types.is_numeric_dtype(target) and not pd.api.types.is_bool_dtype(target):
        unusable |= ~np.isfinite(target.astype(float).fillna(0))
    data = data[~unusable]
    return frame.loc[data.index].drop(columns=[RAW_TARGET]), data[TARGET]


def prepare_columns(frame):
    """Rename, select and cast the raw columns so every later step sees stable types."""
    frame = frame.rename(columns=RENAME)
    missing = [column for column in FEATURES if column not in frame.columns]
    if missing:
        raise ValueError(f"the data lacks column(s) the model needs: {', '.join(missing)}")
    return pd.DataFrame({column: cast(frame[column], kind) for column, kind in FEATURES.items()}, index=frame.index)


def cast(column, kind):
    if kind == "numeric":  # text that is not a number, infinities and values beyond float32 become missing
        values = pd.to_numeric(column, errors="coerce").astype("float64")
        return values.where(np.isfinite(values) & (values.abs() <= np.finfo(np.float32).max))
    if kind == "text":
        return column.astype("object").where(column.notna(), "").astype(str)
    if kind == "datetime":
        return column
    labels = column.astype("object").where(column.isna(), column.astype(str))  # categories are strings
    return labels.where(column.notna(), np.nan)


def limit_rows(X, y):
    """Models that scale badly train on a fixed random sample of MAX_ROWS rows, as in the app."""
    if MAX_ROWS is None or len(X) <= MAX_ROWS:
        return X, y
    rows = np.random.default_rng(SEED).choice(len(X), size=MAX_ROWS, replace=False)
    return X.iloc[rows], (y.iloc[rows] if y is not None else None)
'''


def _main(spec: PipelineSpec, task: str, renderer: _Renderer) -> str:
    if task == "clustering":
        renderer.imports.add("from sklearn.metrics import silhouette_score")
        return _MAIN_HEAD + _CLUSTERING_MAIN + _MAIN_TAIL
    splitter = "StratifiedKFold" if task == "classification" and spec.evaluation.stratify else "KFold"
    renderer.imports |= {"from sklearn.metrics import get_scorer",
                         f"from sklearn.model_selection import {splitter}, cross_validate, train_test_split"}
    stratify = "y if STRATIFY else None" if task == "classification" else "None"
    if spec.evaluation.metric != "auto":
        metric = "METRIC"
    elif task == "classification":  # the app's rule: balanced accuracy when a class is rare
        metric = '"balanced_accuracy" if y.value_counts(normalize=True).min() < 0.2 else "accuracy"'
    else:
        metric = '"r2"'
    code = _SUPERVISED_MAIN.replace("$SPLITTER", splitter).replace("$STRATIFY", stratify)
    return _MAIN_HEAD + code.replace("$METRIC", metric) + _MAIN_TAIL


_MAIN_HEAD = '''
def main(path):
    X, y = training_rows(read_table(path))
    pipeline = build_pipeline()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence and similar warnings, as in the app'''

_SUPERVISED_MAIN = '''
        metric = $METRIC
        X_test = y_test = None
        if HOLDOUT > 0:
            X, X_test, y, y_test = train_test_split(X, y, test_size=HOLDOUT, random_state=SEED, stratify=$STRATIFY)
        X, y = limit_rows(X, y)
        folds = $SPLITTER(n_splits=FOLDS, shuffle=True, random_state=SEED)
        scores = cross_validate(pipeline, X, y, cv=folds, scoring=METRICS)
        pipeline.fit(X, y)
        report = {
            "model": MODEL, "metric": metric, "folds": FOLDS, "seed": SEED,
            "cv": {name: float(np.mean(scores[f"test_{name}"])) for name in METRICS},
            "cv_std": {name: float(np.std(scores[f"test_{name}"])) for name in METRICS},
        }
        if X_test is not None:
            report["holdout"] = {name: float(get_scorer(name)(pipeline, X_test, y_test)) for name in METRICS}'''

_CLUSTERING_MAIN = '''
        X, _ = limit_rows(X, None)
        labels = pipeline.fit_predict(X)
        features = pipeline[:-1].transform(X)
    features = features.toarray() if hasattr(features, "toarray") else np.asarray(features)
    sample = min(5000, len(labels))
    report = {
        "model": MODEL, "metric": "silhouette", "clusters": len(set(labels) - {-1}),
        "silhouette": float(silhouette_score(features, labels, sample_size=sample, random_state=SEED)),
    }'''

_MAIN_TAIL = '''
    print(json.dumps(report))
    return pipeline


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else DATA_FILE)
'''


# ---- readable equivalents of our custom transformers ---------------------------------------------------

_HELPERS = {
    "to_dense": '''
def to_dense(X):
    return X.toarray() if sparse.issparse(X) else np.asarray(X)
''',
    "date_parts": '''
def date_parts(X, parts):
    """Numeric parts (year, month, ...) of each date column; text that is not a date becomes NaN."""
    frame = pd.DataFrame(X)
    blocks = []
    for column in frame.columns:
        values = frame[column]
        if not pd.api.types.is_datetime64_any_dtype(values):
            values = pd.to_datetime(values, errors="coerce", format="mixed")
        blocks.extend(getattr(values.dt, part).astype("float64").to_numpy() for part in parts)
    return np.column_stack(blocks)
''',
    "OutlierClipper": '''
class OutlierClipper(TransformerMixin, BaseEstimator):
    """Clips each column to bounds learned on the training rows: IQR fences or mean ± factor·std."""

    def __init__(self, method="iqr", factor=1.5):
        self.method = method
        self.factor = factor

    def fit(self, X, y=None):
        X = np.asarray(X, dtype=np.float64)
        if self.method == "iqr":
            q1, q3 = np.nanpercentile(X, [25, 75], axis=0)
            spread = q3 - q1
            self.lower_, self.upper_ = q1 - self.factor * spread, q3 + self.factor * spread
        else:
            mean, spread = np.nanmean(X, axis=0), np.nanstd(X, axis=0)
            self.lower_, self.upper_ = mean - self.factor * spread, mean + self.factor * spread
        flat = ~(spread > 0)  # no spread (e.g. a missing indicator): nothing to clip
        self.lower_ = np.where(flat, -np.inf, self.lower_)
        self.upper_ = np.where(flat, np.inf, self.upper_)
        return self

    def transform(self, X):
        return np.clip(np.asarray(X, dtype=np.float64), self.lower_, self.upper_)
''',
    "LogTransformer": '''
class LogTransformer(TransformerMixin, BaseEstimator):
    """log1p after shifting by the training minimum (when negative), so no value is below zero."""

    def fit(self, X, y=None):
        X = np.asarray(X, dtype=np.float64)
        self.shift_ = np.minimum(np.nan_to_num(np.nanmin(X, axis=0), nan=0.0), 0.0) if len(X) else 0.0
        return self

    def transform(self, X):
        return np.log1p(np.clip(np.asarray(X, dtype=np.float64) - self.shift_, 0, None))
''',
    "IsolationForestFlag": '''
class IsolationForestFlag(TransformerMixin, BaseEstimator):
    """Appends a 0/1 column flagging rows an IsolationForest (fitted on the training rows) finds anomalous."""

    def __init__(self, contamination="auto", random_state=None):
        self.contamination = contamination
        self.random_state = random_state

    def fit(self, X, y=None):
        X = X if sparse.issparse(X) else np.asarray(X, dtype=np.float64)
        self.forest_ = IsolationForest(contamination=self.contamination, random_state=self.random_state,
                                       n_estimators=100).fit(X)
        return self

    def transform(self, X):
        X = X if sparse.issparse(X) else np.asarray(X, dtype=np.float64)
        flag = (self.forest_.predict(X) == -1).astype(np.float64).reshape(-1, 1)
        return sparse.hstack([X, flag], format="csr") if sparse.issparse(X) else np.hstack([X, flag])
''',
    "CappedPCA": '''
class CappedPCA(TransformerMixin, BaseEstimator):
    """PCA whose whole-number n_components is capped at what the data allows."""

    def __init__(self, n_components=0.95, random_state=None):
        self.n_components = n_components
        self.random_state = random_state

    def fit(self, X, y=None):
        X = to_dense(X).astype(np.float64)
        n = min(self.n_components, *X.shape) if isinstance(self.n_components, int) else self.n_components
        self.pca_ = PCA(n_components=n, random_state=self.random_state).fit(X)
        return self

    def transform(self, X):
        return self.pca_.transform(to_dense(X).astype(np.float64))
''',
}
_HELPER_NEEDS = {  # helper -> (other helpers, import lines)
    "to_dense": ((), ("from scipy import sparse",)),
    "date_parts": ((), ()),
    "OutlierClipper": ((), ("from sklearn.base import BaseEstimator, TransformerMixin",)),
    "LogTransformer": ((), ("from sklearn.base import BaseEstimator, TransformerMixin",)),
    "IsolationForestFlag": ((), ("from scipy import sparse", "from sklearn.base import BaseEstimator, TransformerMixin",
                                 "from sklearn.ensemble import IsolationForest")),
    "CappedPCA": (("to_dense",), ("from sklearn.base import BaseEstimator, TransformerMixin",
                                  "from sklearn.decomposition import PCA")),
}
_BASE_IMPORTS = (
    "import json", "import sys", "import warnings", "from pathlib import Path", "", "import numpy as np",
    "import pandas as pd",
)


class _Renderer:
    """Writes estimators as constructor calls and remembers the imports and helpers they need."""

    def __init__(self) -> None:
        self.imports: set[str] = set()
        self.needed: list[str] = []

    def render(self, obj: Any, depth: int) -> str:
        if isinstance(obj, Pipeline):
            self._import(Pipeline)
            items = [f"({name!r}, {self.render(step, depth + 1)})" for name, step in obj.steps]
            return "Pipeline(" + _block(items, depth) + ")"
        if isinstance(obj, ColumnTransformer):
            return self._column_transformer(obj, depth)
        custom = self._custom(obj)
        if custom is not None:
            return custom
        if isinstance(obj, BaseEstimator):
            self._import(type(obj))
            args = [f"{k}={self.value(v, depth)}" for k, v in _changed_params(obj).items()]
            return f"{type(obj).__name__}({', '.join(args)})"
        return self.value(obj, depth)

    def _column_transformer(self, obj: ColumnTransformer, depth: int) -> str:
        self._import(ColumnTransformer)
        items = [f"({name!r}, {self.render(t, depth + 1)}, {_literal(cols)})"
                 for name, t, cols in obj.transformers]
        options = {k: v for k, v in _changed_params(obj).items() if k != "transformers"}
        rest = "".join(f", {k}={self.value(v, depth)}" for k, v in options.items())
        return "ColumnTransformer(" + _block(items, depth) + rest + ")"

    def _custom(self, obj: Any) -> str | None:
        if isinstance(obj, FramePreparer):
            self._import_line("from sklearn.preprocessing import FunctionTransformer")
            return "FunctionTransformer(prepare_columns)"
        if isinstance(obj, Densify):
            self._need("to_dense")
            self._import_line("from sklearn.preprocessing import FunctionTransformer")
            return "FunctionTransformer(to_dense, accept_sparse=True)"
        if isinstance(obj, DateParts):
            self._need("date_parts")
            self._import_line("from sklearn.preprocessing import FunctionTransformer")
            return f"FunctionTransformer(date_parts, kw_args={{'parts': {_literal(list(obj.parts))}}})"
        if isinstance(obj, (OutlierClipper, LogTransformer, IsolationForestFlag, CappedPCA)):
            self._need(type(obj).__name__)
            args = [f"{k}={self.value(v, 0)}" for k, v in _changed_params(obj).items()]
            return f"{type(obj).__name__}({', '.join(args)})"
        return None

    def value(self, value: Any, depth: int) -> str:
        if isinstance(value, BaseEstimator):
            return self.render(value, depth + 1)
        if inspect.isfunction(value) or inspect.isbuiltin(value):
            self._import(value)
            return value.__name__
        if isinstance(value, type):
            if value.__module__ == "numpy":
                return f"np.{value.__name__}"
            self._import(value)
            return value.__name__
        return _literal(value)

    def _need(self, helper: str) -> None:
        others, lines = _HELPER_NEEDS[helper]
        for other in others:
            self._need(other)
        for line in lines:
            self._import_line(line)
        if helper not in self.needed:
            self.needed.append(helper)

    def _import(self, obj: Any) -> None:
        if obj.__name__ == "IterativeImputer":
            self._import_line("from sklearn.experimental import enable_iterative_imputer  # noqa: F401")
        self._import_line(f"from {_public_module(obj)} import {obj.__name__}")

    def _import_line(self, line: str) -> None:
        self.imports.add(line)

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
        third_party = sorted(line for line in merged if not line.startswith("from sklearn"))
        sklearn_lines = sorted(line for line in merged if line.startswith("from sklearn"))
        return "\n".join([*_BASE_IMPORTS, *third_party, *experimental, *sklearn_lines])

    def helpers(self) -> list[str]:
        order = [name for name in _HELPERS if name in self.needed]
        return [_HELPERS[name] for name in order]


def _block(items: list[str], depth: int) -> str:
    pad = "    " * (depth + 1)
    return "[\n" + "".join(f"{pad}{item},\n" for item in items) + "    " * depth + "]"


def _changed_params(estimator: BaseEstimator) -> dict[str, Any]:
    """Constructor arguments that differ from the class defaults (what a person would write)."""
    signature = inspect.signature(type(estimator).__init__)
    out = {}
    for name, value in estimator.get_params(deep=False).items():
        parameter = signature.parameters.get(name)
        if parameter is None or parameter.default is inspect.Parameter.empty or not _same(value, parameter.default):
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


def _literal(value: Any) -> str:
    """Python source for a plain value (numbers, strings, lists, dicts, None, NaN, infinities)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value):
            return "np.nan"
        if math.isinf(value):
            return "np.inf" if value > 0 else "-np.inf"
        return repr(value)
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_literal(v) for v in value)
        return f"({inner},)" if isinstance(value, tuple) and len(value) == 1 else (
            f"({inner})" if isinstance(value, tuple) else f"[{inner}]")
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (str, int, bool)) or value is None:
        return repr(value)
    raise SpecError(f"cannot write {type(value).__name__} value {value!r} into a Python script")


def _public_module(obj: Any) -> str:
    """The shortest public module that exports ``obj`` (``sklearn.linear_model``, not ``..._logistic``)."""
    parts = obj.__module__.split(".")
    for end in range(1, len(parts) + 1):
        if parts[end - 1].startswith("_"):
            break
        module = ".".join(parts[:end])
        if getattr(importlib.import_module(module), obj.__name__, None) is obj:
            return module
    return obj.__module__

