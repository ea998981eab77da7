"""Cleaning and feature steps: each is a small pydantic model with a ``kind`` tag.

A step says which columns it applies to and how to build its scikit-learn
transformer. ``stage`` tells the compiler where it goes:

- ``rows``: filters rows before training (never at predict time), and reports what it removed;
- ``drop``: removes columns from the feature set;
- ``column``: a transformer applied to a group of columns inside the ``ColumnTransformer``;
- ``global``: a transformer applied to the whole feature matrix after it (selection, PCA).

To add a step, write its class here (every parameter a ``Field`` with a ``description``: the step
editor shows it as help), list it in ``STEP_TYPES`` at the bottom, and give it an entry in
:data:`pipeline_core.definition.registry.STEP_ENTRIES` (UI group, script form, skops types, ONNX).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from sklearn.base import BaseEstimator

from pipeline_core import transformers as tr
from pipeline_core.definition.choices import OneHotBoosting
from pipeline_core.definition.rules import RuleSpec
from pipeline_core.definition.task import drop_unusable_target

ColumnType = Literal["numeric", "categorical", "datetime", "text", "id", "constant"]
Selector = list[str] | Literal["numeric", "categorical", "datetime", "text", "all"]
Stage = Literal["rows", "drop", "column", "global"]
# Field help lives on the fields (``description``): the step editor shows it next to each widget,
# so a new parameter brings its own explanation and a missing one is caught by the registry tests.
Columns = Annotated[Selector, Field(
    description="Which columns the step transforms: every column of a type, or the columns you choose.")]


class Step(BaseModel):
    """Base of all steps: parameters are fields; nothing is learned here."""

    model_config = ConfigDict(extra="forbid")
    stage: ClassVar[Stage] = "column"
    label: ClassVar[str] = ""
    help: ClassVar[str] = ""
    per_column: ClassVar[bool] = False  # transformer takes one 1-D column (e.g. TF-IDF)
    needs_filled: ClassVar[bool] = False  # fails (or passes NaN on to the model) on missing values: impute first

    def build(self, task: str, seed: int) -> BaseEstimator:
        raise NotImplementedError

    def describe(self) -> str:
        """One readable line for step lists: label · columns · the parameters that are set."""
        params = self.model_dump(exclude={"kind", "columns", "reason"})
        shown = [k.replace("_", " ") if v is True else f"{k.replace('_', ' ')} {_short(v)}"
                 for k, v in params.items() if v not in (None, [], {}, False)]
        columns = getattr(self, "columns", None)
        where = [] if columns is None else [f"{columns} columns" if isinstance(columns, str) else _short(columns)]
        return " · ".join([self.label, *where, *shown])


def _short(value: Any) -> str:
    if isinstance(value, list):
        text = ", ".join(map(str, value[:4])) + (f" +{len(value) - 4} more" if len(value) > 4 else "")
        return text
    return str(value)


# ---- rows -----------------------------------------------------------------------------


class RowStep(Step):
    stage: ClassVar[Stage] = "rows"

    def apply(self, frame: pd.DataFrame, target: str | None) -> tuple[pd.DataFrame, str]:
        """Return the kept rows and a sentence saying what was removed."""
        raise NotImplementedError


class DropDuplicates(RowStep):
    kind: Literal["drop_duplicates"] = "drop_duplicates"
    label: ClassVar[str] = "Drop duplicate rows"
    subset: list[str] | None = Field(
        None, description="Rows count as duplicates when these columns agree; empty compares every column.")

    def apply(self, frame: pd.DataFrame, target: str | None) -> tuple[pd.DataFrame, str]:
        kept = frame.drop_duplicates(subset=self.subset or None)
        return kept, f"dropped {len(frame) - len(kept):,} duplicate rows"


class DropMissingTarget(RowStep):
    """A visible marker of a rule training always applies: rows with a missing or infinite target never train.

    ``prepare`` owns that rule (:func:`pipeline_core.compiler.prepare.training_rows`) and applies it
    once, after every other row step, whether or not this step is in the list; so where the step
    sits changes nothing. It stays because saved definitions and the default pipeline hold it and
    it shows the rule, with the count, in the step list and its preview.
    """

    kind: Literal["drop_missing_target"] = "drop_missing_target"
    label: ClassVar[str] = "Drop rows with a missing target"

    def apply(self, frame: pd.DataFrame, target: str | None) -> tuple[pd.DataFrame, str]:
        return drop_unusable_target(frame, target)


FilterOp = Literal["==", "!=", ">", ">=", "<", "<=", "in", "not in", "is missing", "is not missing", "contains"]


class FilterRows(RowStep):
    """Keep rows matching ``column op value``; built from parts, never ``eval`` of user text."""

    kind: Literal["filter_rows"] = "filter_rows"
    label: ClassVar[str] = "Keep rows where"
    column: str = Field(description="The column the condition reads.")
    op: FilterOp = Field(description="How the column is compared with the value.")
    value: Any = Field(
        None, description="For 'in'/'not in' give values separated by commas; ignored for 'is (not) missing'.")

    def describe(self) -> str:
        value = "" if self.op in ("is missing", "is not missing") else f" {self.value!r}"
        return f"{self.label} {self.column} {self.op}{value}"

    def apply(self, frame: pd.DataFrame, target: str | None) -> tuple[pd.DataFrame, str]:
        from pipeline_core.errors import DataError

        if self.column not in frame:
            raise DataError(f"filter_rows: column '{self.column}' is not in the data")
        mask = tr.row_mask(frame[self.column], self.op, self.value)
        condition = self.describe().removeprefix(f"{self.label} ")
        kept = frame if mask.all() else frame[mask]
        return kept, f"kept {int(mask.sum()):,} of {len(frame):,} rows where {condition}"


class KeepRowsPassingRule(RowStep):
    """A data-quality rule turned into a filter: training keeps only the rows that pass it.

    The rule itself decides (its own violations mask), so the filter keeps exactly the rows the
    rules report calls clean; like every row step it never runs at predict time, where the rule is
    reported instead.
    """

    kind: Literal["keep_rows_passing_rule"] = "keep_rows_passing_rule"
    label: ClassVar[str] = "Keep rows that pass a rule"
    rule: RuleSpec = Field(description="The data-quality rule a training row must pass.")

    def describe(self) -> str:
        return f"{self.label}: {self.rule.describe()} on {self.rule.column}"

    def apply(self, frame: pd.DataFrame, target: str | None) -> tuple[pd.DataFrame, str]:
        from pipeline_core.errors import DataError

        if self.rule.column not in frame:
            raise DataError(f"keep_rows_passing_rule: column '{self.rule.column}' is not in the data")
        broken = self.rule.violations(frame[self.rule.column]).fillna(False).astype(bool)
        kept = frame[~broken] if broken.any() else frame
        return kept, (f"kept {len(kept):,} of {len(frame):,} rows passing '{self.rule.describe()}' on "
                      f"{self.rule.column}")


# ---- columns ----------------------------------------------------------------------------


class DropColumns(Step):
    kind: Literal["drop_columns"] = "drop_columns"
    stage: ClassVar[Stage] = "drop"
    label: ClassVar[str] = "Drop columns"
    columns: list[str] = Field(description="The columns the model never sees (the target is never dropped).")
    reason: str = Field("", description="Why they are dropped, for whoever reads the definition later.")


class Impute(Step):
    kind: Literal["impute"] = "impute"
    label: ClassVar[str] = "Fill missing values"
    columns: Columns = "numeric"
    strategy: Literal["mean", "median", "most_frequent", "constant", "knn", "iterative"] = Field(
        "median", description="How the value is computed from the training rows of each fold.")
    fill_value: str | float | None = Field(
        None, description="Used by the 'constant' strategy; a number for numeric columns, a word for labels.")
    add_indicator: bool = Field(
        False, description="Also add a 0/1 column saying where a value was missing (often predictive).")

    def build(self, task: str, seed: int) -> BaseEstimator:
        from sklearn.impute import KNNImputer, SimpleImputer

        if self.strategy == "knn":
            return KNNImputer(add_indicator=self.add_indicator)
        if self.strategy == "iterative":
            from sklearn.experimental import enable_iterative_imputer  # noqa: F401
            from sklearn.impute import IterativeImputer

            return IterativeImputer(add_indicator=self.add_indicator, random_state=seed, max_iter=10)
        return SimpleImputer(
            strategy=self.strategy, fill_value=self.fill_value, add_indicator=self.add_indicator,
            keep_empty_features=True,
        )


class ClipOutliers(Step):
    kind: Literal["clip_outliers"] = "clip_outliers"
    label: ClassVar[str] = "Clip outliers"
    columns: Columns = "numeric"
    method: Literal["iqr", "zscore"] = Field("iqr", description="IQR fences, or mean ± factor standard deviations.")
    factor: float = Field(
        1.5, gt=0, description="IQR: fences at Q1 − f·IQR and Q3 + f·IQR. z-score: mean ± f standard deviations.")

    def build(self, task: str, seed: int) -> BaseEstimator:
        return tr.OutlierClipper(method=self.method, factor=self.factor)


class OneHot(Step):
    kind: Literal["onehot"] = "onehot"
    label: ClassVar[str] = "One-hot encode"
    columns: Columns = "categorical"
    min_frequency: float = Field(0.01, ge=0, lt=1, description=(
        "Categories rarer than this share of rows are grouped into one 'infrequent' column."))
    max_categories: int | None = Field(
        30, ge=2, description="At most this many columns per feature (the rest are grouped); empty for no limit.")
    boosting: OneHotBoosting = Field(
        "auto", description="For histogram gradient boosting: 'codes' gives it one code column per category to "
        "split on itself instead of one-hot columns: a third of the memory and faster fits. 'auto' uses codes "
        "for regression, where they scored higher than one-hot columns that group rare levels (house prices), "
        "and for classification from 500,000 training rows, where one-hot columns would take several times the "
        "data's own memory; below that one-hot columns scored a little higher on classification. 'large' uses "
        "codes from 500,000 training rows whatever the task (what 'auto' meant before schema 6).")
    codes_from_rows: ClassVar[int] = 500_000

    def codes_for(self, n_rows: int | None, task: str = "classification") -> bool:
        """Whether boosting trained on ``n_rows`` rows for ``task`` gets codes; 'auto' means codes for regression,
        and for classification from ``codes_from_rows`` rows (with no row count, one-hot); 'large' means codes from
        ``codes_from_rows`` rows for every task, which definitions saved before schema 6 are pinned to.

        Regression, issue 20 point 6: on the Ames house prices histogram boosting scored R² 0.9220 with codes
        against 0.9204 with one-hot columns (5 seeds; on a generated table whose rare levels matter, 0.825
        against 0.790), while on a credit table (classification) codes scored accuracy 0.790 against 0.796.
        """
        large = n_rows is not None and n_rows >= self.codes_from_rows
        if self.boosting == "auto":
            return task == "regression" or large
        return large if self.boosting == "large" else self.boosting == "codes"

    def build(self, task: str, seed: int) -> BaseEstimator:
        """0/1 columns are exact in float32: half the memory of the widest block a model sees."""
        from sklearn.preprocessing import OneHotEncoder

        return OneHotEncoder(
            handle_unknown="infrequent_if_exist", min_frequency=self.min_frequency or None,
            max_categories=self.max_categories, sparse_output=False, dtype=np.float32,
        )

    def build_codes(self) -> BaseEstimator:
        """The same categories, as one code column each, for a model that splits on categories itself.

        Rare categories are grouped exactly as for the one-hot columns; unseen and missing ones
        become NaN, which histogram gradient boosting sends down its learned missing-value branch.
        Codes stay below 255 because that is the most categories such a model can bin.
        """
        from sklearn.preprocessing import OrdinalEncoder

        return OrdinalEncoder(
            handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan,
            min_frequency=self.min_frequency or None, max_categories=min(self.max_categories or 255, 255),
            dtype=np.float32,  # codes below 255 are exact in float32
        )


class Ordinal(Step):
    kind: Literal["ordinal"] = "ordinal"
    label: ClassVar[str] = "Ordinal encode"
    columns: Columns = "categorical"

    def build(self, task: str, seed: int) -> BaseEstimator:
        from sklearn.preprocessing import OrdinalEncoder

        return OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1)


class TargetEncode(Step):
    kind: Literal["target_encode"] = "target_encode"
    label: ClassVar[str] = "Target encode"
    columns: Columns = "categorical"
    smooth: float | Literal["auto"] = Field(
        "auto", description="Shrinks rare categories towards the global mean; 'auto' estimates it from the data.")

    def build(self, task: str, seed: int) -> BaseEstimator:
        from sklearn.preprocessing import TargetEncoder

        target_type = "continuous" if task == "regression" else "auto"
        return TargetEncoder(smooth=self.smooth, target_type=target_type, random_state=seed)


class Scale(Step):
    kind: Literal["scale"] = "scale"
    label: ClassVar[str] = "Scale"
    columns: Columns = "numeric"
    method: Literal["standard", "minmax", "robust"] = Field(
        "standard", description="standard: mean 0 and variance 1; minmax: into [0, 1]; robust: median and IQR.")

    def build(self, task: str, seed: int) -> BaseEstimator:
        from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

        return {"standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler}[self.method]()


class Power(Step):
    kind: Literal["power"] = "power"
    label: ClassVar[str] = "Power transform (Yeo-Johnson)"
    columns: Columns = "numeric"
    standardize: bool = Field(True, description="Also scale the result to mean 0 and variance 1.")

    def build(self, task: str, seed: int) -> BaseEstimator:
        from sklearn.preprocessing import PowerTransformer

        return PowerTransformer(method="yeo-johnson", standardize=self.standardize)


class Log(Step):
    kind: Literal["log"] = "log"
    label: ClassVar[str] = "Log transform"
    columns: Columns = "numeric"

    def build(self, task: str, seed: int) -> BaseEstimator:
        return tr.LogTransformer()


class DateParts(Step):
    kind: Literal["date_parts"] = "date_parts"
    label: ClassVar[str] = "Date/time parts"
    columns: Columns = "datetime"
    parts: list[Literal["year", "month", "day", "dayofweek", "dayofyear", "hour", "minute"]] = Field(
        default_factory=lambda: ["year", "month", "day", "dayofweek", "hour"],
        description="The numeric parts each date column becomes, one column per part.")

    def build(self, task: str, seed: int) -> BaseEstimator:
        return tr.DateParts(parts=tuple(self.parts))


class Tfidf(Step):
    kind: Literal["tfidf"] = "tfidf"
    label: ClassVar[str] = "TF-IDF on text"
    columns: Columns = "text"
    per_column: ClassVar[bool] = True
    max_features: int = Field(
        500, ge=1, le=100_000, description="Keep the most frequent words and phrases, at most this many per column.")
    ngram_max: int = Field(2, ge=1, le=3, description="Longest phrase counted, in words (1: single words only).")
    min_df: int = Field(2, ge=1, description="Ignore words found in fewer rows than this.")

    def build(self, task: str, seed: int) -> BaseEstimator:
        from sklearn.feature_extraction.text import TfidfVectorizer

        return TfidfVectorizer(
            max_features=self.max_features, ngram_range=(1, self.ngram_max), min_df=self.min_df,
            sublinear_tf=True, dtype=np.float64,
        )


class Polynomial(Step):
    kind: Literal["polynomial"] = "polynomial"
    label: ClassVar[str] = "Polynomial / interaction features"
    needs_filled: ClassVar[bool] = True
    columns: Columns = "numeric"
    degree: int = Field(2, ge=2, le=4, description="Highest power (or number of columns multiplied together).")
    interaction_only: bool = Field(False, description="Only products of different columns, no powers of one column.")

    def build(self, task: str, seed: int) -> BaseEstimator:
        from sklearn.preprocessing import PolynomialFeatures

        return PolynomialFeatures(degree=self.degree, interaction_only=self.interaction_only, include_bias=False)


class Bin(Step):
    kind: Literal["bin"] = "bin"
    label: ClassVar[str] = "Bin into intervals"
    needs_filled: ClassVar[bool] = True
    columns: Columns = "numeric"
    n_bins: int = Field(5, ge=2, le=100, description="How many intervals each column is cut into.")
    strategy: Literal["quantile", "uniform", "kmeans"] = Field(
        "quantile", description="quantile: equally full bins; uniform: equally wide; kmeans: around clusters.")
    encode: Literal["ordinal", "onehot"] = Field(
        "ordinal", description="One column of bin numbers, or one 0/1 column per bin.")

    def build(self, task: str, seed: int) -> BaseEstimator:
        from sklearn.preprocessing import KBinsDiscretizer

        encode = "onehot-dense" if self.encode == "onehot" else "ordinal"
        extra = {"quantile_method": "averaged_inverted_cdf"} if self.strategy == "quantile" else {}
        return KBinsDiscretizer(n_bins=self.n_bins, strategy=self.strategy, encode=encode, subsample=200_000,
                                random_state=seed, **extra)


# ---- global (whole feature matrix) ------------------------------------------------------------


class GlobalStep(Step):
    stage: ClassVar[Stage] = "global"


class IsolationForestFlag(GlobalStep):
    kind: Literal["isolation_forest_flag"] = "isolation_forest_flag"
    label: ClassVar[str] = "Flag outlier rows (IsolationForest)"
    needs_filled: ClassVar[bool] = True
    contamination: float | Literal["auto"] = Field(
        "auto", description="The share of rows expected to be outliers; 'auto' lets the forest decide.")

    def build(self, task: str, seed: int) -> BaseEstimator:
        return tr.IsolationForestFlag(contamination=self.contamination, random_state=seed)


class VarianceThreshold(GlobalStep):
    kind: Literal["variance_threshold"] = "variance_threshold"
    label: ClassVar[str] = "Drop near-constant features"
    threshold: float = Field(
        0.0, ge=0, description="Features whose variance is at or below this are dropped (0 drops constant ones).")

    def build(self, task: str, seed: int) -> BaseEstimator:
        from sklearn.feature_selection import VarianceThreshold as VT

        return VT(threshold=self.threshold)


class SelectKBest(GlobalStep):
    kind: Literal["select_kbest"] = "select_kbest"
    label: ClassVar[str] = "Keep the k best features (univariate)"
    needs_filled: ClassVar[bool] = True
    k: int = Field(20, ge=1, description="How many features to keep, ranked by a univariate test against the target.")

    def build(self, task: str, seed: int) -> BaseEstimator:
        from sklearn.feature_selection import SelectKBest as SKB
        from sklearn.feature_selection import f_classif, f_regression

        return SKB(f_regression if task == "regression" else f_classif, k=self.k)


class SelectFromModel(GlobalStep):
    kind: Literal["select_from_model"] = "select_from_model"
    label: ClassVar[str] = "Keep features a model finds important"
    needs_filled: ClassVar[bool] = True
    method: Literal["l1", "tree"] = Field(
        "tree", description="tree: importances of extra trees; l1: the features an L1-penalised model keeps.")
    max_features: int | None = Field(
        None, ge=1, description="Upper bound on the kept features; empty lets the method decide.")

    def build(self, task: str, seed: int) -> BaseEstimator:
        from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor
        from sklearn.feature_selection import SelectFromModel as SFM
        from sklearn.linear_model import Lasso, LogisticRegression

        regression = task == "regression"
        if self.method == "l1":
            est = Lasso(alpha=0.01, random_state=seed) if regression else LogisticRegression(
                l1_ratio=1.0, solver="saga", C=0.5, max_iter=2000, random_state=seed)
        else:
            cls = ExtraTreesRegressor if regression else ExtraTreesClassifier
            est = cls(n_estimators=50, random_state=seed, n_jobs=1)
        # L1 can zero every coefficient (pure-noise features, strong penalty): scikit-learn's default threshold then
        # keeps no feature and every model fails with "0 feature(s)". A threshold relative to the mean keeps the
        # non-zero ones as before, and every feature when there are none.
        threshold = -np.inf if self.max_features else ("1e-5*mean" if self.method == "l1" else None)
        return SFM(est, max_features=self.max_features, threshold=threshold)


class PCA(GlobalStep):
    kind: Literal["pca"] = "pca"
    label: ClassVar[str] = "PCA"
    needs_filled: ClassVar[bool] = True
    n_components: float = Field(
        0.95, gt=0, description="Below 1: the share of variance to keep. 1 or more: the number of components.")

    def build(self, task: str, seed: int) -> BaseEstimator:
        n = int(self.n_components) if self.n_components >= 1 else self.n_components
        return tr.CappedPCA(n_components=n, random_state=seed)


STEP_TYPES = (
    DropDuplicates, DropMissingTarget, FilterRows, KeepRowsPassingRule, DropColumns,
    Impute, ClipOutliers, OneHot, Ordinal, TargetEncode, Scale, Power, Log,
    DateParts, Tfidf, Polynomial, Bin,
    IsolationForestFlag, VarianceThreshold, SelectKBest, SelectFromModel, PCA,
)
STEPS: dict[str, type[Step]] = {t.model_fields["kind"].default: t for t in STEP_TYPES}
