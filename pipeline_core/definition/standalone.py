"""How each step is written into the standalone script a user takes away (the "script form").

The step registry (:mod:`pipeline_core.definition.registry`) gives every step one of three forms,
so script generation never has to guess and never skips a step in silence:

- :class:`RowCode`: a row step, written as a line that filters ``data`` in the script's ``training_rows``;
- :class:`InTemplate`: a step the script's fixed template already performs (it says where);
- :class:`Constructed`: a column or global step, whose built estimators are written as constructor
  calls; scikit-learn classes need nothing more, our own transformers need a :class:`Helper`,
  a short readable equivalent that computes the same numbers, because the script must not import
  this project.

The forms live here, beside the step definitions, rather than in the code generator: adding a
step means adding its form, and the generator (``pipeline_core.artifacts.codegen`` and
``constructors``) reads them; it refuses a transformer of ours that has no form.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pipeline_core import transformers as tr
from pipeline_core.definition.rules import MAX_VALUE_LENGTH
from pipeline_core.errors import SpecError


@dataclass(frozen=True)
class Helper:
    """The script's equivalent of one of our transformer classes.

    ``call`` is how an instance is written: a format string over the instance's parameters (each
    already a Python literal), or empty for ``ClassName(<changed parameters>)``.
    """

    cls: type
    source: str
    imports: tuple[str, ...] = ()
    needs: tuple[Helper, ...] = ()
    call: str = ""


@dataclass(frozen=True)
class RowCode:
    """A row step as script code: ``write(step, column_types)`` returns a statement that filters ``data``."""

    write: Callable[[Any, dict[str, str]], str]


@dataclass(frozen=True)
class InTemplate:
    """A step the script's template performs whatever the definition says; ``where`` names the place."""

    where: str


@dataclass(frozen=True)
class Constructed:
    """The estimators the step builds, written as constructor calls; ``helpers`` cover our own classes."""

    helpers: tuple[Helper, ...] = field(default=())


ScriptForm = RowCode | InTemplate | Constructed
FUNCTION_TRANSFORMER = "from sklearn.preprocessing import FunctionTransformer"
ESTIMATOR_BASES = "from sklearn.base import BaseEstimator, TransformerMixin"


def literal(value: Any) -> str:
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
        inner = ", ".join(literal(v) for v in value)
        return f"({inner},)" if isinstance(value, tuple) and len(value) == 1 else (
            f"({inner})" if isinstance(value, tuple) else f"[{inner}]")
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (str, int, bool)) or value is None:
        return repr(value)
    raise SpecError(f"cannot write {type(value).__name__} value {value!r} into a Python script")


# ---- row steps ---------------------------------------------------------------------------------------


def drop_duplicates_code(step: Any, types: dict[str, str]) -> str:
    subset = literal(step.subset) if step.subset else "None"
    return f"data = data.drop_duplicates(subset={subset})"


def filter_rows_code(step: Any, types: dict[str, str]) -> str:
    """The same mask as ``transformers.row_mask``, spelled in pandas; numbers compare as numbers."""
    column, op, value = f"data[{literal(step.column)}]", step.op, step.value
    if op == "is missing":
        return f"data = data[{column}.isna()]"
    if op == "is not missing":
        return f"data = data[{column}.notna()]"
    if op in ("in", "not in"):
        options = value if isinstance(value, list) else [value]
        return f"data = data[{'~' if op == 'not in' else ''}{column}.isin({literal(options)})]"
    if op == "contains":
        return f"data = data[{column}.astype('string').str.contains({str(value)!r}, regex=False, na=False)]"
    if types.get(step.column) == "numeric" and not isinstance(value, (int, float)):
        value = float(value)
    return f"data = data[{column} {op} {literal(value)}]"


def keep_rows_passing_rule_code(step: Any, types: dict[str, str]) -> str:
    """The rule's own mask, via the script's ``rule_violations`` (:data:`RULE_CHECKS`), with the rule as a literal."""
    rule = step.rule.model_dump(mode="json")
    return f"data = data[~rule_violations(data[{literal(rule['column'])}], {literal(rule)})]"


RULE_CHECKS = '''
def rule_violations(values, rule):
    """Rows of one column that break a data-quality rule, as the app decides it (missing values pass every
    rule but "not missing"; range and allowed values compare numbers as numbers)."""
    kind = rule["kind"]
    if kind == "not_null":
        return values.isna()
    if kind == "range":
        numbers = pd.to_numeric(values, errors="coerce")
        bad = values.notna() & numbers.isna()
        if rule.get("min") is not None:
            bad |= numbers < rule["min"]
        if rule.get("max") is not None:
            bad |= numbers > rule["max"]
        return bad
    if kind == "allowed_values":
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            numbers = set()
            for value in rule["values"]:
                try:
                    numbers.add(float(value))
                except ValueError:
                    pass
            return values.notna() & ~values.isin(numbers)
        return values.notna() & ~values.astype(str).isin(set(rule["values"]))
    if kind == "unique":
        return values.notna() & values.duplicated(keep=False)
    if kind == "regex":
        present = values.notna()
        text = values[present].astype(str)
        too_long = text.str.len() > $MAX_VALUE_LENGTH
        matched = text[~too_long].str.fullmatch(rule["pattern"])
        bad = pd.Series(False, index=values.index)
        bad[present] = True
        bad[matched.index] = ~matched.astype(bool)
        return bad
    raise ValueError(f"unknown rule kind {kind!r}")


def rule_report(frame):
    """How many rows of the file break each of QUALITY_RULES (a rule on an absent column: every row)."""
    counts = {}
    for name, rule in QUALITY_RULES:
        column = rule["column"]
        broken = rule_violations(frame[column], rule).sum() if column in frame.columns else len(frame)
        counts[name] = int(broken)
    return counts
'''.replace("$MAX_VALUE_LENGTH", str(MAX_VALUE_LENGTH))
"""The script's rule checks: one function mirroring every rule kind of :mod:`pipeline_core.definition.rules`
(``tests/pipeline_core/test_codegen.py`` holds each kind's mask equal to the rule's own on messy data)."""


# ---- our transformers, as readable equivalents ------------------------------------------------------------

TO_DENSE = Helper(tr.Densify, '''
def to_dense(X):
    return X.toarray() if sparse.issparse(X) else np.asarray(X)
''', ("from scipy import sparse", FUNCTION_TRANSFORMER), call="FunctionTransformer(to_dense, accept_sparse=True)")

PREPARE = Helper(tr.FramePreparer, "", (FUNCTION_TRANSFORMER,), call="FunctionTransformer(prepare_columns)")

DATE_PARTS = Helper(tr.DateParts, '''
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
''', (FUNCTION_TRANSFORMER,), call="FunctionTransformer(date_parts, kw_args={{'parts': {parts}}})")

OUTLIER_CLIPPER = Helper(tr.OutlierClipper, '''
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
''', (ESTIMATOR_BASES,))

LOG = Helper(tr.LogTransformer, '''
class LogTransformer(TransformerMixin, BaseEstimator):
    """log1p after shifting by the training minimum (when negative), so no value is below zero."""

    def fit(self, X, y=None):
        X = np.asarray(X, dtype=np.float64)
        self.shift_ = np.minimum(np.nan_to_num(np.nanmin(X, axis=0), nan=0.0), 0.0) if len(X) else 0.0
        return self

    def transform(self, X):
        return np.log1p(np.clip(np.asarray(X, dtype=np.float64) - self.shift_, 0, None))
''', (ESTIMATOR_BASES,))

ISOLATION_FOREST_FLAG = Helper(tr.IsolationForestFlag, '''
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
''', ("from scipy import sparse", ESTIMATOR_BASES, "from sklearn.ensemble import IsolationForest"))

CAPPED_PCA = Helper(tr.CappedPCA, '''
class CappedPCA(TransformerMixin, BaseEstimator):
    """PCA whose whole-number n_components is capped at what the data allows."""

    def __init__(self, n_components=0.95, random_state=None):
        self.n_components = n_components
        self.random_state = random_state

    def fit(self, X, y=None):
        X = self._floats(X)
        n = min(self.n_components, *X.shape) if isinstance(self.n_components, int) else self.n_components
        self.pca_ = PCA(n_components=n, random_state=self.random_state).fit(X)
        return self

    def transform(self, X):
        return self.pca_.transform(self._floats(X))

    @staticmethod
    def _floats(X):
        X = to_dense(X)  # float32 stays float32, as in the app: the components depend on it
        return X if X.dtype.kind == "f" else X.astype(np.float64)
''', (ESTIMATOR_BASES, "from sklearn.decomposition import PCA"), needs=(TO_DENSE,))
