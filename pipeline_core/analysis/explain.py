"""Why a model predicts what it does, row by row, in the user's own columns (SHAP values).

One :class:`Explainer` per model, built once from a few background rows and reused for every request:

- tree models (decision trees, forests, gradient boosting, histogram gradient boosting, and LightGBM, XGBoost and
  CatBoost with their own default objectives) get shap's exact ``TreeExplainer`` on the matrix the model reads, in
  the model's raw output space (for the three libraries shap asks the library itself, which also reads category
  splits);
- linear models get shap's ``LinearExplainer`` (contributions ``coef · (x − mean of the background)``);
- every other model, and any pipeline whose steps mix columns (PCA, interaction terms), gets shap's
  permutation explainer run directly on the user's columns, over a small background sample.

Matrix contributions are added up per source column with :mod:`pipeline_core.compiler.sources`, so one-hot
levels, TF-IDF words and date parts come back as their column. For every method a row's contributions plus
its ``base_value`` equal the explained output (``output``): the prediction for regression; for classifiers
the quantity named by ``output_space`` (log-odds, raw score or probability) of ``explained_class``, which
is the positive class for two classes and each row's predicted class for more.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import catboost
import lightgbm
import numpy as np
import pandas as pd
import scipy.sparse as sp
import xgboost
from sklearn import ensemble, linear_model, tree
from sklearn.base import is_classifier, is_regressor
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from pipeline_core.compiler.sources import MatrixSources, matrix_sources
from pipeline_core.errors import DataError, ModelError
from pipeline_core.library_estimators import classes_of

Method = Literal["tree", "linear", "permutation"]
BACKGROUND_ROWS = 50
"""Rows the linear and permutation explainers compare against (their ``base_value`` is the mean output there)."""
PERMUTATIONS = 2
"""Random column orders the permutation explainer averages over per row; each costs 2·columns + 1 model calls on
the background rows."""

_TREES = (tree.DecisionTreeClassifier, tree.DecisionTreeRegressor, ensemble.RandomForestClassifier,
          ensemble.RandomForestRegressor, ensemble.ExtraTreesClassifier, ensemble.ExtraTreesRegressor,
          ensemble.GradientBoostingClassifier, ensemble.GradientBoostingRegressor,
          ensemble.HistGradientBoostingClassifier, ensemble.HistGradientBoostingRegressor)
_LIBRARY_TREES = (lightgbm.LGBMModel, xgboost.XGBModel, catboost.CatBoost)
# the libraries' default objectives (XGBoost names its multiclass one only after the fit; CatBoost's regressor
# reports RMSE among its parameters): with these their raw output is the log-odds, the softmax logit or the
# prediction itself, as ``output_space`` says; any other objective (Poisson, Tweedie, a ranking loss) is explained
# by permutation, in the prediction the user sees
_LIBRARY_DEFAULT_OBJECTIVES = (None, "binary", "multiclass", "regression", "binary:logistic", "multi:softprob",
                               "reg:squarederror", "Logloss", "MultiClass", "RMSE")
_PROBABILITY_TREES = (tree.DecisionTreeClassifier, ensemble.RandomForestClassifier, ensemble.ExtraTreesClassifier)
_LINEAR = (linear_model.LogisticRegression, linear_model.LinearRegression, linear_model.Ridge, linear_model.Lasso,
           linear_model.ElasticNet)
_IDENTITY_LOSSES = ("squared_error", "absolute_error", "quantile")


@dataclass
class RowExplanations:
    """Contributions of each user column to each explained row (rows × columns), and what they add up to."""

    columns: list[str]
    contributions: np.ndarray
    base_values: np.ndarray
    output_space: str
    method: Method
    explained_class: list[str] | None = None  # per row, for classifiers
    predicted: list[Any] = field(default_factory=list)  # the model's prediction (label or value) per row

    @property
    def outputs(self) -> np.ndarray:
        """``base_value`` plus the row's contributions: the explained output of the model for each row."""
        return self.base_values + self.contributions.sum(axis=1)

    def frame(self) -> pd.DataFrame:
        """The contributions as a table: one column per user column, then ``base_value`` and ``prediction``.

        For regression ``prediction`` is the model's prediction and equals ``base_value`` plus the row's
        contributions. For classifiers ``prediction`` is that same sum, the explained output; the file then also
        holds ``predicted_class`` (the model's label), ``explained_class`` and ``output_space``, which names it.
        """
        taken = [c for c in self.columns if c in OUTPUT_COLUMNS]
        if taken:
            raise DataError(f"column(s) {', '.join(map(repr, taken))} share a name with the explanation's own "
                            f"columns ({', '.join(OUTPUT_COLUMNS)}); rename them to explain this data")
        out = pd.DataFrame(self.contributions, columns=self.columns)
        out["base_value"] = self.base_values
        out["prediction"] = self.outputs
        if self.explained_class is not None:
            out["predicted_class"] = self.predicted
            out["explained_class"] = self.explained_class
        out["output_space"] = self.output_space
        return out


OUTPUT_COLUMNS = ("base_value", "prediction", "predicted_class", "explained_class", "output_space")


def _splits_on_categories(model: Any) -> bool:
    """Whether boosting learned category splits (code columns): shap's tree explainer reads them as numeric
    thresholds and returns values that do not add up to the prediction (off by up to 30% on diabetes), without an
    error, so such a model is explained by permutation instead."""
    flags = getattr(model, "is_categorical_", None)
    return flags is not None and bool(np.any(flags))


def _exact_trees(model: Any) -> bool:
    """Whether shap's tree explainer gives this model's values exactly, in the output ``output_space`` names."""
    if isinstance(model, _LIBRARY_TREES):
        params = model.get_params()
        objective = params.get("loss_function" if isinstance(model, catboost.CatBoost) else "objective")
        return objective in _LIBRARY_DEFAULT_OBJECTIVES
    return isinstance(model, _TREES) and not _splits_on_categories(model)


class Explainer:
    """Explains rows for one fitted pipeline; build once (it holds background rows), call :meth:`explain` often."""

    def __init__(self, pipeline: Pipeline, background: pd.DataFrame | None, *, seed: int = 0,
                 background_rows: int = BACKGROUND_ROWS):
        """``background``: rows like the training data (raw columns). Only tree models can do without
        (``None``): their exact explainer reads what it needs from the trees; any other refuses with a reason."""
        final = pipeline[-1] if isinstance(pipeline, Pipeline) else None
        if final is None or not (is_classifier(final) or is_regressor(final)):
            raise ModelError("only classification and regression models can be explained; a clustering model "
                             "has no target whose prediction a column could push up or down")
        if background is not None and len(background) == 0:
            raise DataError("explanations need some rows of the training data as a background; none were given")
        self.pipeline = pipeline
        # a tuned decision threshold wraps the model: its scores are the inner model's, only the labels move
        self.final = getattr(final, "estimator_", final) if type(final).__name__ == "TunedThresholdClassifierCV" \
            else final
        classes = classes_of(final)
        self.classes = None if classes is None else list(classes)
        final = self.final
        self.sources: MatrixSources = matrix_sources(pipeline)
        self.columns = self.sources.columns
        raw_of = {new: raw for raw, new in (pipeline[0].rename or {}).items()}
        self.raw_columns = [raw_of.get(c, c) for c in self.columns]
        if background is not None:
            rows = background.sample(min(background_rows, len(background)), random_state=seed)
            self.background = rows[self.raw_columns].reset_index(drop=True)
        else:
            self.background = pd.DataFrame(columns=self.raw_columns)
        self.seed = seed
        self.method: Method = self._choose_method()
        if self.method != "tree" and background is None:
            raise ModelError(f"explaining a {type(final).__name__} needs background rows (some rows of the "
                             "training data) to compare against; only tree models can do without")

    # ---- choosing --------------------------------------------------------------------------------------

    def _choose_method(self) -> Method:
        if self.sources.traceable and _exact_trees(self.final):
            import shap

            try:
                self._shap = shap.TreeExplainer(self.final)
                return "tree"
            except Exception:  # noqa: BLE001 - e.g. category splits shap cannot read: the permutation way still works
                pass
        if self.sources.traceable and isinstance(self.final, _LINEAR) and len(self.background):
            import shap

            self._shap = shap.LinearExplainer(self.final, self._matrix(self.background))
            return "linear"
        return "permutation"

    @property
    def background_rows(self) -> int:
        """How many background rows the explanations compare against (none for the exact tree explainer)."""
        return 0 if self.method == "tree" else len(self.background)

    @property
    def output_space(self) -> str:
        """What a contribution moves: ``prediction``, ``probability``, ``log-odds`` or ``raw score``."""
        final = self.final
        if self.classes is None:
            link = self.method == "tree" and getattr(final, "loss", "squared_error") not in _IDENTITY_LOSSES
            return "raw score (log scale)" if isinstance(final, _TREES) and link else "prediction"
        if self.method == "permutation":
            return "probability" if hasattr(final, "predict_proba") else "decision score"
        if self.method == "tree" and isinstance(final, _PROBABILITY_TREES):
            return "probability"
        return "log-odds" if len(self.classes) == 2 else "raw score (softmax logit)"

    def describe(self) -> str:
        """One sentence on how the values were computed, for captions and file notes."""
        how = {"tree": "exact tree SHAP values (shap's TreeExplainer)",
               "linear": f"linear SHAP values against {len(self.background):,} background rows",
               "permutation": f"permutation SHAP values against {len(self.background):,} background rows"}[self.method]
        if self.method == "permutation" and not self.sources.traceable:
            how += f" (the pipeline's step '{self.sources.mixed_by}' mixes columns, so the raw columns are permuted)"
        return f"{how}, in the model's {self.output_space}"

    # ---- explaining ------------------------------------------------------------------------------------

    def explain(self, frame: pd.DataFrame) -> RowExplanations:
        """Contributions for each row of ``frame`` (raw columns, as for prediction)."""
        missing = [c for c in self.raw_columns if c not in frame.columns]
        if missing:
            raise DataError(f"the data lacks column(s) the model needs: {', '.join(map(repr, missing))}")
        if len(frame) == 0:
            raise DataError("the data has no rows to explain")
        rows = frame[self.raw_columns].reset_index(drop=True)
        try:
            if self.method == "permutation":
                predicted = self.pipeline.predict(rows)
                values, base = self._permutation(rows)
            else:  # one pass through the preparation serves the labels and the explanation
                prepared = self.pipeline[:-1].transform(rows)
                predicted = self.pipeline[-1].predict(prepared)
                values, base = self._matrix_values(self._tree_input(prepared))
        except (ValueError, TypeError) as e:
            raise DataError(f"the model could not explain these rows: {e}") from e
        pick, explained = self._explained(values.shape[2], predicted)
        chosen = np.take_along_axis(values, pick[:, None, None], axis=2)[:, :, 0]
        base_values = np.take_along_axis(base, pick[:, None], axis=1)[:, 0]
        return RowExplanations(list(self.columns), chosen, base_values, self.output_space, self.method,
                               explained, list(predicted))

    def _explained(self, n_outputs: int, predicted: np.ndarray) -> tuple[np.ndarray, list[str] | None]:
        """Which output to keep per row: the only one, the positive class, or the predicted class."""
        n = len(predicted)
        if self.classes is None:
            return np.zeros(n, dtype=int), None
        if len(self.classes) == 2:
            index = 0 if n_outputs == 1 else 1
            return np.full(n, index), [str(self.classes[1])] * n
        position = {c: i for i, c in enumerate(self.classes)}
        pick = np.array([position[p] for p in predicted])
        return pick, [str(self.classes[i]) for i in pick]

    def _tree_input(self, prepared: Any) -> Any:
        """The prepared matrix as the explainer should read it: dense float64, but sparse as the model read it for
        XGBoost, which takes a sparse matrix's absent entries as missing values, not zeros."""
        if isinstance(self.final, xgboost.XGBModel) and sp.issparse(prepared):
            return prepared.tocsr()
        return _dense(prepared)

    def _matrix(self, rows: pd.DataFrame) -> np.ndarray:
        return _dense(self.pipeline[:-1].transform(rows))

    def _matrix_values(self, matrix: Any) -> tuple[np.ndarray, np.ndarray]:
        """Tree or linear SHAP values of the matrix, added up per source column: (rows, columns, outputs)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if self.method == "tree":
                raw = self._shap.shap_values(matrix, check_additivity=False)
            else:
                raw = self._shap.shap_values(matrix)
        values, base = _three_d(_stacked(raw), np.asarray(self._shap.expected_value), matrix.shape[0])
        summing = self.sources.summing_matrix()
        return np.einsum("rfo,fc->rco", values, summing), base

    def _permutation(self, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Permutation SHAP values on the raw columns, each column coded as positions in a table of its values."""
        import shap

        coded = _Coded(pd.concat([self.background, rows], ignore_index=True))
        codes = coded.codes
        background, explained = codes[: len(self.background)], codes[len(self.background):]
        output = self._output_function()
        masker = shap.maskers.Independent(background, max_samples=len(background))
        explainer = shap.PermutationExplainer(lambda z: output(coded.decode(z)), masker, seed=self.seed)
        n_columns = len(self.columns)
        with warnings.catch_warnings(), threadpool_limits(1, user_api="openmp"):  # many small calls: see dependence
            warnings.simplefilter("ignore")
            result = explainer(explained, max_evals=PERMUTATIONS * (2 * n_columns + 1), silent=True)
        return _three_d(np.asarray(result.values), np.asarray(result.base_values), len(rows))

    def _output_function(self) -> Any:
        if self.classes is None:
            return self.pipeline.predict
        if hasattr(self.pipeline, "predict_proba"):
            return self.pipeline.predict_proba
        return self.pipeline.decision_function


def _dense(matrix: Any) -> np.ndarray:
    return (matrix.toarray() if sp.issparse(matrix) else np.asarray(matrix)).astype(np.float64)


def _stacked(values: Any) -> np.ndarray:
    """shap's values as one array; older explainers give a list with one (rows, features) array per output."""
    return np.stack(values, axis=-1) if isinstance(values, list) else np.asarray(values)


def _three_d(values: np.ndarray, base: np.ndarray, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """shap's values as (rows, features, outputs) and base values as (rows, outputs), whatever shape it gave."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 2:
        values = values[:, :, None]
    outputs = values.shape[2]
    base = np.asarray(base, dtype=np.float64)
    return values, np.array(np.broadcast_to(base.reshape(-1, outputs) if base.ndim else base, (n_rows, outputs)))


class _Coded:
    """Raw columns of any type as numeric codes, so shap's numeric maskers can mix values across rows."""

    def __init__(self, frame: pd.DataFrame):
        self.columns = list(frame.columns)
        self.tables: list[pd.Series] = []
        codes = []
        for name in self.columns:
            position, uniques = pd.factorize(frame[name], use_na_sentinel=False)
            codes.append(position)
            self.tables.append(pd.Series(uniques))
        self.codes = np.column_stack(codes).astype(np.float64)

    def decode(self, codes: np.ndarray) -> pd.DataFrame:
        positions = np.asarray(codes).astype(np.int64)
        return pd.DataFrame({name: table.take(positions[:, j]).to_numpy()
                             for j, (name, table) in enumerate(zip(self.columns, self.tables, strict=True))})
