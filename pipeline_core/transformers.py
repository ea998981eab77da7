"""Custom transformers that scikit-learn does not ship.

Each follows the estimator contract: ``__init__`` stores its arguments, everything
learned ends in ``_``, and ``get_feature_names_out`` names the outputs, so they
clone, pickle, export with skops and work inside ``ColumnTransformer``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from pipeline_core.errors import DataError

# Beyond float32's range tree models overflow, and squares (scaling, variance) overflow long before
# float64's; such values are sentinels or corruption, never measurements, so they count as missing.
MAX_MAGNITUDE = float(np.finfo(np.float32).max)


def row_mask(values: pd.Series, op: str, value: Any) -> pd.Series:
    """Boolean mask for ``values op value``; only a fixed set of operators, no ``eval``."""
    if op == "is missing":
        return values.isna()
    if op == "is not missing":
        return values.notna()
    if op in ("in", "not in"):
        options = value if isinstance(value, list) else [value]
        mask = values.isin(options)
        return mask if op == "in" else ~mask
    if op == "contains":
        return values.astype("string").str.contains(str(value), regex=False, na=False)
    if pd.api.types.is_numeric_dtype(values) and not isinstance(value, (int, float)):
        try:
            value = float(value)
        except (TypeError, ValueError) as e:
            raise DataError(f"filter: '{value}' is not a number, but column '{values.name}' is numeric") from e
    compare = {"==": values.eq, "!=": values.ne, ">": values.gt, ">=": values.ge, "<": values.lt, "<=": values.le}
    try:
        return compare[op](value).fillna(False).astype(bool)
    except TypeError as e:
        raise DataError(f"filter: cannot compare column '{values.name}' with {value!r}: {e}") from e


class FramePreparer(TransformerMixin, BaseEstimator):
    """Renames, selects and casts raw columns so every later step sees stable types.

    It is the first step of every compiled pipeline, so prediction applies exactly the
    same slicing as training and refuses data that lacks a required column.
    """

    def __init__(self, rename: dict[str, str] | None = None, types: dict[str, str] | None = None):
        self.rename = rename
        self.types = types

    def fit(self, X: pd.DataFrame, y: Any = None) -> FramePreparer:
        self._check_frame(X)
        self.feature_names_in_ = np.asarray(list(X.columns), dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self)
        self._check_frame(X)
        frame = X.copy(deep=False)  # new labels on the same columns: ``rename`` would copy every one
        frame.columns = [(self.rename or {}).get(c, c) for c in X.columns]
        types = self.types or {}
        missing = [c for c in types if c not in frame.columns]
        if missing:
            raise DataError(f"the data lacks column(s) the model needs: {', '.join(missing)}")
        out = {col: _cast(frame[col], kind) for col, kind in types.items()}
        return pd.DataFrame(out, index=frame.index, copy=False)  # the casts made any copies needed

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(list(self.types or {}), dtype=object)

    @staticmethod
    def _check_frame(X: Any) -> None:
        if not isinstance(X, pd.DataFrame):
            raise DataError("the pipeline expects a table with named columns (a pandas DataFrame)")


def _cast(column: pd.Series, kind: str) -> pd.Series:
    if kind == "numeric":
        values = pd.to_numeric(column, errors="coerce").astype("float64", copy=False)
        with np.errstate(invalid="ignore"):
            unusable = np.abs(values.to_numpy()) > MAX_MAGNITUDE  # infinities too; NaN compares False
        return values.mask(unusable) if unusable.any() else values
    if kind == "text":
        return column.astype("object").where(column.notna(), "").astype(str)
    if kind == "datetime":
        return column
    if column.dtype == object and pd.api.types.infer_dtype(column, skipna=True) in ("string", "empty"):
        return column if not column.isna().any() else column.where(column.notna(), np.nan)
    strings = column.astype("object").where(column.isna(), column.astype(str))
    return strings.where(column.notna(), np.nan)


class _AllowNaN:
    """Missing values pass through unchanged; imputation is a separate, explicit step."""

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


class _AcceptSparse:
    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class OutlierClipper(_AllowNaN, OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Clips each column to bounds learned on the training fold (IQR fences or z-score)."""

    def __init__(self, method: str = "iqr", factor: float = 1.5):
        self.method = method
        self.factor = factor

    def fit(self, X: Any, y: Any = None) -> OutlierClipper:
        X = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64)
        if self.method == "iqr":
            q1, q3 = np.nanpercentile(X, [25, 75], axis=0)
            spread = q3 - q1
            self.lower_, self.upper_ = q1 - self.factor * spread, q3 + self.factor * spread
        else:
            mean, std = np.nanmean(X, axis=0), np.nanstd(X, axis=0)
            spread = std
            self.lower_, self.upper_ = mean - self.factor * std, mean + self.factor * std
        # a column without spread (a 0/1 missing indicator that is mostly 0) has no outliers to clip
        flat = ~(spread > 0)
        self.lower_, self.upper_ = np.where(flat, -np.inf, self.lower_), np.where(flat, np.inf, self.upper_)
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64, reset=False)
        return np.clip(X, self.lower_, self.upper_)


class LogTransformer(_AllowNaN, OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """``log1p`` after shifting by the training minimum, so zero and negative values are safe."""

    def fit(self, X: Any, y: Any = None) -> LogTransformer:
        X = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64)
        self.shift_ = np.minimum(np.nan_to_num(np.nanmin(X, axis=0), nan=0.0), 0.0) if len(X) else 0.0
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64, reset=False)
        return np.log1p(np.clip(X - self.shift_, 0, None))


class DateParts(TransformerMixin, BaseEstimator):
    """Turns datetime columns (or parseable strings) into numeric parts; unparsable → NaN."""

    def __init__(self, parts: tuple[str, ...] = ("year", "month", "day", "dayofweek", "hour")):
        self.parts = parts

    def fit(self, X: Any, y: Any = None) -> DateParts:
        frame = pd.DataFrame(X)
        self.feature_names_in_ = np.asarray([str(c) for c in frame.columns], dtype=object)
        self.n_features_in_ = frame.shape[1]
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        frame = pd.DataFrame(X)
        blocks = []
        for col in frame.columns:
            stamps = to_datetime(frame[col])
            blocks.extend(getattr(stamps.dt, part).astype("float64").to_numpy() for part in self.parts)
        return np.column_stack(blocks) if blocks else np.empty((len(frame), 0))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self)
        return np.asarray([f"{c}_{p}" for c in self.feature_names_in_ for p in self.parts], dtype=object)


def to_datetime(values: pd.Series) -> pd.Series:
    """How the date-parts step reads a column: date-times as they are, anything else parsed (unparsable: NaT).

    ONNX export feeds dates through this too, so a graph sees the dates the pipeline sees."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    return pd.to_datetime(values, errors="coerce", format="mixed")


class IsolationForestFlag(_AcceptSparse, TransformerMixin, BaseEstimator):
    """Appends a 0/1 column that flags rows IsolationForest finds anomalous."""

    def __init__(self, contamination: float | str = "auto", random_state: int | None = None):
        self.contamination = contamination
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> IsolationForestFlag:
        from sklearn.ensemble import IsolationForest

        X = validate_data(self, X, accept_sparse="csr")
        self.forest_ = IsolationForest(
            contamination=self.contamination, random_state=self.random_state, n_estimators=100
        ).fit(X)
        return self

    def transform(self, X: Any) -> Any:
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", reset=False)
        flag = (self.forest_.predict(X) == -1).astype(np.float64).reshape(-1, 1)
        return sp.hstack([X, flag], format="csr") if sp.issparse(X) else np.hstack([X, flag])

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self)
        names = input_features if input_features is not None else [f"x{i}" for i in range(self.n_features_in_)]
        return np.asarray([*names, "isolation_forest_outlier"], dtype=object)


class CappedPCA(_AcceptSparse, TransformerMixin, BaseEstimator):
    """PCA whose integer ``n_components`` is capped at what the fold allows, instead of failing."""

    def __init__(self, n_components: int | float = 0.95, random_state: int | None = None):
        self.n_components = n_components
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> CappedPCA:
        from sklearn.decomposition import PCA

        X = validate_data(self, X, accept_sparse="csr")
        n = self.n_components
        if isinstance(n, int):
            n = min(n, *X.shape)
        self.pca_ = PCA(n_components=n, random_state=self.random_state).fit(_dense(X))
        self.n_components_ = self.pca_.n_components_
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", reset=False)
        return self.pca_.transform(_dense(X))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self)
        return np.asarray([f"pca{i}" for i in range(self.n_components_)], dtype=object)


class Densify(TransformerMixin, BaseEstimator):
    """Turns a sparse matrix dense, for models that accept only dense input."""

    def fit(self, X: Any, y: Any = None) -> Densify:
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: Any) -> np.ndarray:
        return _dense(X)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(input_features if input_features is not None else [], dtype=object)


def _dense(X: Any) -> np.ndarray:
    return X.toarray() if sp.issparse(X) else np.asarray(X)
