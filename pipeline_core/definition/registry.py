"""The registries: one entry per model and one per step, each holding the whole extension.

A model entry maps a key (used in definitions, the CLI and the UI) to the estimator class
per task, the defaults we believe in, a search space for tuning, UI hints, the skops types
its fitted form needs and how it becomes ONNX. A step entry gives a step class its UI group,
its form in the standalone script, the skops types its fitted objects need and how it becomes
ONNX (its field help is on the class, as ``Field(description=...)``).

Pages, script generation and export read these tables, so adding a model or a step is an
entry here, and a step without an entry fails at import, not silently in one corner.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import catboost
import xgboost
from sklearn import cluster, ensemble, linear_model, mixture, naive_bayes, neighbors, neural_network, svm, tree

from pipeline_core import library_estimators as le
from pipeline_core.definition import standalone as sa
from pipeline_core.definition.steps import STEPS, Step
from pipeline_core.definition.stopping import CATBOOST_STOPPING, HIST_STOPPING, LIGHTGBM_STOPPING, EarlyStopping

UiGroup = Literal["clean", "features"]

# LightGBM takes the code columns from its ``categorical_feature`` parameter (its trees split on categories:
# tests/pipeline_core/test_compile.py) but warns that it would rather have them as a ``fit`` argument, which a
# compiled pipeline cannot pass; users would only see a warning that says the opposite of what happens.
warnings.filterwarnings("ignore", message="categorical_feature keyword has been found", category=UserWarning)


@dataclass(frozen=True)
class Onnx:
    """How what a step or model builds becomes ONNX.

    Every estimator class it builds converts (with skl2onnx's converter or our float64 stand-in)
    except those named in ``refused``, each with the reason export gives the user. Build one with
    :func:`converts` or :func:`refused`.
    """

    refused: dict[str, str] = field(default_factory=dict)  # estimator class name -> why it cannot convert


def converts(**unless: str) -> Onnx:
    """Converts, except parameter choices that build a class named in ``unless`` (class name -> reason)."""
    return Onnx(dict(unless))


def refused(reason: str, *classes: str) -> Onnx:
    """Never converts: each class it builds is refused for ``reason``."""
    return Onnx(dict.fromkeys(classes, reason))

Space = dict[str, dict[str, Any]]


WORKER_N_JOBS = 1
"""Cores one model fit may use. Training already spreads its CV folds over the cluster, one fold per
single-threaded Dask worker (the thread runner runs one job per slot), so a model that asks for every core
(``n_jobs=-1``) multiplies that by the machine's cores and starves the other users' jobs (issue 14 point 8)."""


def capped_n_jobs(value: Any) -> int:
    """The ``n_jobs`` a user's value becomes: kept when it is within the worker's share, else the share.

    ``-1`` (all cores), other negatives, ``None`` (joblib's context default, which a job's fold backend
    sets to every worker) and anything above the share all become :data:`WORKER_N_JOBS`.
    """
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= WORKER_N_JOBS:
        return value
    return WORKER_N_JOBS


THREAD_PARAMETERS = ("n_jobs", "thread_count")
"""The constructor parameters through which a model starts threads: scikit-learn's, LightGBM's and XGBoost's
``n_jobs``, CatBoost's ``thread_count``."""


def within_worker_share(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with a user-given thread count capped (see :func:`capped_n_jobs`); other parameters unchanged."""
    return {**params, **{name: capped_n_jobs(params[name]) for name in THREAD_PARAMETERS if name in params}}


@dataclass(frozen=True)
class ModelEntry:
    """How to build one model, for each task it supports."""

    label: str
    estimators: dict[str, type]  # task -> estimator class
    defaults: dict[str, dict[str, Any]] = field(default_factory=dict)  # task -> params
    search: Space = field(default_factory=dict)
    seeded: bool = True  # takes random_state
    # the parameter and value that weigh classes by their rarity, in the library's own words (scikit-learn's
    # ``class_weight="balanced"``, CatBoost's ``auto_class_weights="Balanced"``); None: the model cannot
    class_weight: tuple[str, Any] | None = None
    dense_only: bool = False  # cannot take sparse input
    max_rows: int | None = None  # scales badly: subsample or skip above this many rows
    limit_reason: str = "this model scales badly"  # why, as the leaderboard says it
    # splits on category codes itself: the constructor parameter that lists the code columns, else None
    native_categorical: str | None = None
    preselected: tuple[str, ...] = ()  # tasks for which it is in the default set
    help: str = ""
    # skops types its fitted form holds that skops does not trust by default (see ``artifacts.skops_io``)
    trusted: tuple[str, ...] = ()
    onnx: Onnx = field(default_factory=Onnx)  # the script form is its constructor call, as for any sklearn class
    # Python packages beyond scikit-learn its fitted form imports (their module names): a saved model's requirements
    # (the distributions that provide them, as installed) and the standalone script's imports include them
    libraries: tuple[str, ...] = ()
    # the standalone script's equivalents of our own classes among ``estimators`` (the script imports nothing of ours)
    script: tuple[sa.Helper, ...] = ()
    # the autopilot's strong configurations for this family, tried in order (its defaults among them; first unless
    # another configuration measured better on most of the suite's tables),
    # and the time its defaults' cross-validation takes relative to a logistic regression's on the same rows, so
    # cheap families are tried first and an untried one's time can be predicted from what the others took
    # (``training.autopilot``; measured on 569 and 3,000 rows at 3 folds: boosting 5-12x, forests 4-9x)
    portfolio: tuple[dict[str, Any], ...] = ()
    cost: float = 1.0
    # among families of equal cost, the autopilot tries a higher ``priority`` first: its first round decides which
    # families a short budget on a busy machine reaches at all (on the suite's credit table a 30 s search spent
    # 8.3 s on a random forest's defaults, cost 5 like LightGBM's and first in registry order, and never reached
    # LightGBM, which scored higher there)
    priority: int = 0
    # regression: what ``target_transform="auto"`` becomes for a positive, right-skewed target (``compiler.target``)
    skewed_target: Literal["none", "log", "yeo_johnson"] = "none"
    # a model that is slow on TF-IDF's columns gives way to this one when a TF-IDF step feeds the models: among the
    # preselected ones (``default_models``; a definition's ``open_choices.text_models`` says whether it does) and
    # among the autopilot's families (``training.autopilot.families``)
    with_text: str | None = None
    # how it stops its rounds early on rows it holds aside, so CV records the rounds and the saved model's refit
    # fits them on every row (``definition.stopping``); None: it cannot stop early
    early_stopping: EarlyStopping | None = None

    def build(self, task: str, params: dict[str, Any], seed: int) -> Any:
        """Instantiate with defaults, then the user's params (``n_jobs`` held to the worker's share); seed only
        if the model takes one."""
        cls = self.estimators[task]
        merged = {**self.defaults.get(task, {}), **within_worker_share(params)}
        if self.seeded and "random_state" in parameters_of(cls):
            merged.setdefault("random_state", seed)
        return cls(**merged)


@functools.cache
def parameters_of(cls: type) -> frozenset[str]:
    """The constructor parameters an estimator class takes: its signature's (CatBoost's ``get_params`` lists only
    what was set) and its ``get_params``'s (XGBoost's signature hides most of them in ``**kwargs``). Cached per
    class: every model a run builds asks, and the answer is the class's."""
    named = [p.name for p in inspect.signature(cls.__init__).parameters.values()
             if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    return frozenset([*named, *cls().get_params(deep=False)])


def _library_helper(cls: type, library: str, needs: tuple[sa.Helper, ...] = ()) -> sa.Helper:
    """The script form of one of our subclasses of a library's estimator: its source, as this project runs it."""
    return sa.Helper(cls, inspect.getsource(cls), ("import numpy as np", f"import {library}"), needs=needs)


def _lightgbm_helpers() -> tuple[sa.Helper, ...]:
    """LightGBM's subclasses and the rule they share (the rows held aside to stop on), as the script writes them."""
    rule = sa.Helper(le.HeldAsideRounds, inspect.getsource(le.HeldAsideRounds),
                     ("import warnings", "import numpy as np", "import lightgbm"))
    return tuple(_library_helper(cls, "lightgbm", (rule,)) for cls in (le.LGBMStoppingClassifier,
                                                                       le.LGBMStoppingRegressor))


# Fully grown trees have about one leaf per few training rows: 100 of them trained on 200,000 rows
# already hold 470 MB (measured on the benchmark data), on 1,000,000 rows several GB. At 200,000,
# training with the default set on 1,000,000 rows still peaked at 3.02x the frame (issue 8: 3x).
FOREST_ROWS = 100_000
FOREST_REASON = "a forest's trees grow with the rows (about 470 MB at 200,000 rows)"


def _int(low: int, high: int, log: bool = False) -> dict[str, Any]:
    return {"type": "int", "low": low, "high": high, "log": log}


def _float(low: float, high: float, log: bool = False) -> dict[str, Any]:
    return {"type": "float", "low": low, "high": high, "log": log}


def _choice(*values: Any) -> dict[str, Any]:
    return {"type": "choice", "values": list(values)}


C, R, K = "classification", "regression", "clustering"
BALANCED = ("class_weight", "balanced")  # scikit-learn's (and LightGBM's) class weighting
TREE_SPACE = {"max_depth": _choice(None, 4, 8, 16), "min_samples_leaf": _int(1, 20, log=True)}
TREE = ("sklearn.tree._tree.Tree",)  # every fitted tree keeps its nodes in this Cython class
NEIGHBOURS = ("sklearn.neighbors._ball_tree.BallTree", "sklearn.neighbors._kd_tree.KDTree",
              "sklearn.metrics._dist_metrics.EuclideanDistance64", "sklearn.metrics._dist_metrics.ManhattanDistance64",
              "sklearn.metrics._dist_metrics.MinkowskiDistance64", "sklearn.metrics._dist_metrics.ChebyshevDistance64")
NO_NEW_ROWS = "it cannot assign clusters to new rows, so a graph would have nothing to compute"
FOREST_SPACE = {"n_estimators": _int(50, 400, log=True), "max_features": _choice("sqrt", 0.5, 1.0),
                "min_samples_leaf": _int(1, 10)}

# The autopilot's portfolios (issue 20 point 1): the defaults early (first, or after slower rounds for the
# boosting families, below), then settings that often win on tabular data where the defaults do not (more,
# slower-learning rounds on larger leaves; fewer, regularised ones; forests that look at more columns per split).
# Parameters hold for both tasks of a family.
LINEAR_PORTFOLIO = ({}, {"C": 0.1}, {"C": 10.0})
SHRINKAGE_PORTFOLIO = ({}, {"alpha": 10.0}, {"alpha": 0.1})
# Histogram gradient boosting leads with slower rounds that stop when a tenth of the fit's rows held aside stops
# improving (its own early stopping, so the rounds suit the table): one 5-fold fit each on eight of the suite's tables
# (``benchmarks/bench_portfolio.py``) against its defaults: credit ROC AUC 0.798 -> 0.818, wa_churn 0.816 -> 0.835,
# caravan 0.694 -> 0.728, loans R² 0.373 -> 0.401, equal on hotel_rates and diamonds, lower on ames (-0.001) and hpc
# (balanced accuracy 0.755 -> 0.738, where the defaults stay second); in 0.3x to 2.7x the defaults' time.
HIST_PORTFOLIO = ({"learning_rate": 0.05, "max_iter": 3000, "early_stopping": True, "n_iter_no_change": 30},
                  {}, {"learning_rate": 0.05, "max_leaf_nodes": 63, "min_samples_leaf": 10, "l2_regularization": 1.0},
                  {"learning_rate": 0.2, "max_leaf_nodes": 15, "min_samples_leaf": 40, "max_iter": 200})
# LightGBM leads with small, slow, subsampled leaves, its defaults second: one fit each on the suite's eleven
# tables LightGBM fits (benchmarks/bench_suite.py, 5-fold CV on the training rows) scored higher with them on eight
# (credit ROC AUC 0.811 -> 0.828, covid balanced accuracy 0.821 -> 0.863, loans R² 0.402 -> 0.415, ames 0.890 ->
# 0.902; lower on caravan -0.004, hotel_rates -0.005, hpc and diamonds -0.001) for 25-45% more time. A short budget
# fits about one configuration per family, so the first one decides what it keeps: at 30 s the search kept
# LightGBM's defaults on credit (test 0.837 alone) while these settings score 0.852 there, as fast.
# Second, the same leaves with rounds that stop when a tenth of the fit's rows held aside stops improving
# (``library_estimators.HeldAsideRounds``), measured as histogram boosting's above on eight tables against the first:
# credit 0.828 -> 0.836, wa_churn 0.835 -> 0.844, caravan 0.707 -> 0.737, hotel_rates 0.945 -> 0.954, lower on hpc
# (0.741 -> 0.731), ames (0.902 -> 0.892) and loans (-0.001), equal on diamonds; 0.6x to 1.5x the first's time, but
# 5.3x on hotel_rates (15,402 rows: it fits most of its 5,000 rounds), which is why it is not first: a 30 s search
# there would spend its budget on it.
LIGHTGBM_PORTFOLIO = ({"num_leaves": 15, "learning_rate": 0.02, "n_estimators": 600, "min_child_samples": 20,
                       "colsample_bytree": 0.8, "subsample": 0.8, "subsample_freq": 1},
                      {"num_leaves": 15, "learning_rate": 0.02, "n_estimators": 5000, "min_child_samples": 20,
                       "colsample_bytree": 0.8, "subsample": 0.8, "subsample_freq": 1, "validation_fraction": 0.1,
                       "n_iter_no_change": 100},
                      {},
                      {"num_leaves": 63, "learning_rate": 0.03, "n_estimators": 600, "min_child_samples": 10,
                       "colsample_bytree": 0.8, "subsample": 0.8, "subsample_freq": 1},
                      {"num_leaves": 15, "learning_rate": 0.1, "n_estimators": 200, "min_child_samples": 40,
                       "reg_lambda": 1.0})
# XGBoost and CatBoost (measured as LightGBM's above, ``benchmarks/bench_portfolio.py``: one 5-fold fit each on
# six of the suite's tables, credit, caravan, hpc, digits, hotel_rates, loans, classes not weighed). XGBoost leads
# with shallow, slower-learning, subsampled trees: the best of three on the two-class tables and loans (credit ROC
# AUC 0.799 with its defaults -> 0.827, caravan 0.687 -> 0.709, loans R² 0.345 -> 0.417) in about half LightGBM's
# first configuration's time; deeper ones second (they won on hpc, digits and hotel_rates). CatBoost's defaults
# scored highest of all the boosting configurations on credit (0.836) and caravan (0.739, LightGBM 0.707) and
# within 0.01 of the best elsewhere, in 1.3x LightGBM's time; more, slower rounds second (best on loans 0.421 and
# digits), deeper trees third (caravan 0.742, lower on hpc and hotel_rates). Since then, second: CatBoost's own
# early stopping (``eval_fraction`` of the fit's rows held aside, seeded by ``random_seed``), as AutoGluon fits it,
# against the defaults on five of those tables: hotel_rates 0.9512 -> 0.9559, loans 0.4131 -> 0.4170, credit
# 0.8361 -> 0.8366, lower on hpc (0.7445 -> 0.7430) and ames (0.9104 -> 0.9058); 0.7x (credit) to 6x (hotel_rates)
# the defaults' time. At 0.08 it was faster (hotel_rates 20 s against 31 s) and as good there and on credit and
# caravan (0.739 -> 0.745), lower on loans (0.4136), and ran 143 s on digits (ten classes: it fitted nearly every
# round), hence 0.05. Its ceiling and patience then rose from 3,000 rounds and 100 to 10,000 and 300, as AutoGluon
# has them (its CatBoost alone scored R² 0.9674 on hotel_rates' test rows, where ours kept improving past 3,000
# rounds: 0.965 at 3,000, 0.967 at 10,000): hpc 0.7430 -> 0.7479, ames 0.9058 -> 0.9069, hotel_rates 0.9559 ->
# 0.9569, loans 0.4170 -> 0.4175, digits 0.9776 -> 0.9794, equal on credit and caravan (they stop long before);
# 1.4x to 3.3x the time (digits: 401 s for the five folds, more than a 300 s budget, so the search abandons it there).
XGBOOST_PORTFOLIO = ({"n_estimators": 400, "learning_rate": 0.05, "max_depth": 4, "subsample": 0.8,
                      "colsample_bytree": 0.7, "min_child_weight": 3, "reg_lambda": 2.0},
                     {"n_estimators": 500, "learning_rate": 0.05, "max_depth": 6, "subsample": 0.8,
                      "colsample_bytree": 0.8},
                     {})
CATBOOST_PORTFOLIO = ({},
                      {"iterations": 10000, "learning_rate": 0.05, "eval_fraction": 0.1, "early_stopping_rounds": 300},
                      {"iterations": 800, "learning_rate": 0.05}, {"depth": 8, "l2_leaf_reg": 5.0})
FOREST_PORTFOLIO = ({}, {"max_features": 0.5, "min_samples_leaf": 2, "n_estimators": 300},
                    {"max_features": "sqrt", "min_samples_leaf": 1, "n_estimators": 300})

# LightGBM's, XGBoost's and CatBoost's ONNX converters (onnxmltools, CatBoost's own export) compute in float32
FLOAT32_TREES = ("its ONNX converter computes in float32, so rows near a split's threshold can land on the other "
                 "side and predict differently from the model")

MODELS: dict[str, ModelEntry] = {
    "logistic_regression": ModelEntry(
        "Logistic regression", {C: linear_model.LogisticRegression}, {C: {"max_iter": 2000}},
        {"C": _float(1e-3, 1e3, log=True)}, class_weight=BALANCED, preselected=(C,),
        portfolio=LINEAR_PORTFOLIO, help="Fast linear baseline; coefficients are easy to explain."),
    "linear_regression": ModelEntry(
        "Linear regression", {R: linear_model.LinearRegression}, seeded=False, preselected=(R,),
        help="Ordinary least squares baseline."),
    "ridge": ModelEntry("Ridge", {R: linear_model.Ridge}, search={"alpha": _float(1e-3, 1e3, log=True)},
                        portfolio=SHRINKAGE_PORTFOLIO,
                        help="Linear regression with L2 shrinkage."),
    "lasso": ModelEntry("Lasso", {R: linear_model.Lasso}, {R: {"max_iter": 5000}},
                        {"alpha": _float(1e-4, 10, log=True)}, help="Linear regression that zeroes weak features."),
    "elastic_net": ModelEntry("Elastic net", {R: linear_model.ElasticNet}, {R: {"max_iter": 5000}},
                              {"alpha": _float(1e-4, 10, log=True), "l1_ratio": _float(0.05, 0.95)}),
    "knn": ModelEntry(
        "k-nearest neighbours", {C: neighbors.KNeighborsClassifier, R: neighbors.KNeighborsRegressor},
        search={"n_neighbors": _int(1, 50), "weights": _choice("uniform", "distance")}, max_rows=20_000,
        help="Predicts from the closest training rows; slow on large data.", trusted=NEIGHBOURS),
    "svm": ModelEntry(
        "Support vector machine", {C: svm.SVC, R: svm.SVR}, {C: {"probability": False}},
        {"C": _float(1e-2, 1e3, log=True), "gamma": _choice("scale", "auto")}, class_weight=BALANCED,
        max_rows=10_000, help="Strong on small, scaled data; training time grows quadratically.",
        onnx=converts(SVR="onnxruntime has no float64 implementation of the SVM regressor")),
    "decision_tree": ModelEntry(
        "Decision tree", {C: tree.DecisionTreeClassifier, R: tree.DecisionTreeRegressor},
        {C: {"max_depth": 8, "min_samples_leaf": 2}, R: {"max_depth": 6, "min_samples_leaf": 10}},
        TREE_SPACE, class_weight=BALANCED, trusted=TREE),
    "random_forest": ModelEntry(
        "Random forest", {C: ensemble.RandomForestClassifier, R: ensemble.RandomForestRegressor},
        {C: {"n_estimators": 100}, R: {"n_estimators": 100}}, FOREST_SPACE,
        class_weight=BALANCED, preselected=(C, R), max_rows=FOREST_ROWS, limit_reason=FOREST_REASON, trusted=TREE,
        portfolio=FOREST_PORTFOLIO, cost=5.0),
    "extra_trees": ModelEntry(
        "Extra trees", {C: ensemble.ExtraTreesClassifier, R: ensemble.ExtraTreesRegressor},
        {C: {"n_estimators": 200}, R: {"n_estimators": 200}}, FOREST_SPACE,
        class_weight=BALANCED, max_rows=FOREST_ROWS, limit_reason=FOREST_REASON, trusted=TREE,
        portfolio=FOREST_PORTFOLIO, cost=7.0),
    "gradient_boosting": ModelEntry(
        "Gradient boosting", {C: ensemble.GradientBoostingClassifier, R: ensemble.GradientBoostingRegressor},
        search={"n_estimators": _int(50, 400, log=True), "learning_rate": _float(0.01, 0.3, log=True),
                "max_depth": _int(2, 6)}, dense_only=True, trusted=TREE,
        help="Classic boosting; histogram gradient boosting is much faster on large data."),
    "hist_gradient_boosting": ModelEntry(
        "Histogram gradient boosting",
        {C: ensemble.HistGradientBoostingClassifier, R: ensemble.HistGradientBoostingRegressor},
        # 300 rounds, not scikit-learn's 100: at its learning rate 0.1, 100 rounds stop short on
        # 5,000-200,000 rows (0.8665 -> 0.8756 CV accuracy on our 50,000-row benchmark); early
        # stopping (from 10,000 rows) ends the fit sooner where more rounds stop helping
        {C: {"early_stopping": "auto", "max_iter": 300}, R: {"early_stopping": "auto", "max_iter": 300}},
        {"learning_rate": _float(0.02, 0.3, log=True), "max_leaf_nodes": _int(8, 128, log=True),
         "l2_regularization": _float(1e-6, 10, log=True)}, class_weight=BALANCED, dense_only=True,
        native_categorical="categorical_features", preselected=(C, R),
        portfolio=HIST_PORTFOLIO, cost=6.0,
        help="Fast, strong default for tabular data.",
        # on the Ames house prices (modeldata, 5 seeds, codes) the log lifted R² 0.918 -> 0.922; a random forest
        # went 0.884 -> 0.881, so its entry keeps the target as it is
        skewed_target="log",
        # it bins every TF-IDF column as a dense one: on the customer churn sample (2,000 rows, one review column,
        # 526 columns in all) one fit took 4.6 s of CPU against LightGBM's 0.3 s, and on 15,000 short texts 130 s a
        # fold (issue 20 point 7); LightGBM reads the sparse columns as they are and scored as well there
        with_text="lightgbm",
        # with category codes it keeps ``partial(check_array, ...)``: skops checks the partial's function
        # and arguments against the allow-list too, so only ``check_array`` can be wrapped
        trusted=("sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor", "functools.partial",
                 "sklearn.utils.validation.check_array"),
        # converts with our float64 tree ensemble (``artifacts.onnx_trees``), unless it learned category codes
        onnx=converts(), early_stopping=HIST_STOPPING),
    "lightgbm": ModelEntry(
        # LightGBM's own classes, which can also stop their rounds on held-aside rows (``validation_fraction`` and
        # ``n_iter_no_change``, as scikit-learn's histogram gradient boosting names them)
        "LightGBM", {C: le.LGBMStoppingClassifier, R: le.LGBMStoppingRegressor},
        # one thread: training spreads folds over single-threaded workers (``WORKER_N_JOBS``), and LightGBM's
        # own default takes every core; ``verbose=-1`` keeps its per-fit log lines out of the job's output
        {task: {"n_estimators": 300, "learning_rate": 0.05, "n_jobs": WORKER_N_JOBS, "verbose": -1}
         for task in (C, R)},
        {"learning_rate": _float(0.02, 0.3, log=True), "num_leaves": _int(8, 128, log=True),
         "min_child_samples": _int(5, 100, log=True), "reg_lambda": _float(1e-6, 10, log=True),
         "colsample_bytree": _float(0.5, 1.0)},
        class_weight=BALANCED, native_categorical="categorical_feature",
        portfolio=LIGHTGBM_PORTFOLIO, cost=5.0, priority=1,
        help="Microsoft's gradient boosting library: leaf-wise trees, fast on large tables.",
        # LightGBM's own classes stay trusted: models saved before its subclasses load as they were
        trusted=("collections.OrderedDict", "lightgbm.basic.Booster", "lightgbm.sklearn.LGBMClassifier",
                 "lightgbm.sklearn.LGBMRegressor", "pipeline_core.library_estimators.LGBMStoppingClassifier",
                 "pipeline_core.library_estimators.LGBMStoppingRegressor"),
        onnx=refused(FLOAT32_TREES, "LGBMClassifier", "LGBMRegressor", "LGBMStoppingClassifier",
                     "LGBMStoppingRegressor"),
        libraries=("lightgbm",), script=_lightgbm_helpers(), early_stopping=LIGHTGBM_STOPPING),
    "xgboost": ModelEntry(
        "XGBoost", {C: le.XGBLabelClassifier, R: xgboost.XGBRegressor},
        # XGBoost's own defaults (100 rounds at learning rate 0.3, depth 6, histogram splits); one thread, as
        # for LightGBM above
        {task: {"n_jobs": WORKER_N_JOBS} for task in (C, R)},
        {"learning_rate": _float(0.02, 0.3, log=True), "max_depth": _int(3, 10),
         "min_child_weight": _float(1.0, 20.0, log=True), "subsample": _float(0.5, 1.0),
         "colsample_bytree": _float(0.5, 1.0), "reg_lambda": _float(1e-3, 10, log=True)},
        class_weight=BALANCED, portfolio=XGBOOST_PORTFOLIO, cost=4.0,
        help="The XGBoost library's gradient boosting: depth-wise trees, missing values handled natively.",
        trusted=("xgboost.core.Booster", "pipeline_core.library_estimators.XGBLabelClassifier",
                 "xgboost.sklearn.XGBRegressor"),
        onnx=refused(FLOAT32_TREES, "XGBLabelClassifier", "XGBRegressor"),
        libraries=("xgboost",), script=(_library_helper(le.XGBLabelClassifier, "xgboost"),)),
    "catboost": ModelEntry(
        "CatBoost", {C: le.CatBoostLabelClassifier, R: catboost.CatBoostRegressor},
        # 300 symmetric trees, not CatBoost's 1,000: it sets the learning rate from the data and the number of trees,
        # and on the customer churn sample (2,000 rows, 3-fold CV) 300 scored as well (accuracy 0.781 against 0.778)
        # in 13.5 s instead of 43 s; one thread; no progress lines and no ``catboost_info`` folder written where the
        # app or a job happens to run
        {task: {"iterations": 300, "thread_count": WORKER_N_JOBS, "verbose": False, "allow_writing_files": False}
         for task in (C, R)},
        {"learning_rate": _float(0.02, 0.3, log=True), "depth": _int(4, 10),
         "l2_leaf_reg": _float(1.0, 10.0, log=True)},
        class_weight=("auto_class_weights", "Balanced"),
        # on TF-IDF columns it is the slowest of the boosting libraries: one fit on 3,200 of the suite's tweets
        # (500 words and phrases, a date) took 39 s against LightGBM's 3.6 s (XGBoost 2.4 s), and a 300 s search
        # whose CatBoost folds ran on all its rows overran its budget by 16%
        with_text="lightgbm",
        # among the boosting families, the autopilot's first round reaches it before histogram gradient boosting
        portfolio=CATBOOST_PORTFOLIO, cost=6.0, priority=1,
        help="Yandex's gradient boosting on symmetric trees: strong with little tuning, slower to fit than LightGBM.",
        trusted=("pipeline_core.library_estimators.CatBoostLabelClassifier", "catboost.core.CatBoostRegressor"),
        onnx=refused(FLOAT32_TREES, "CatBoostLabelClassifier", "CatBoostRegressor"),
        libraries=("catboost",), script=(_library_helper(le.CatBoostLabelClassifier, "catboost"),),
        early_stopping=CATBOOST_STOPPING),
    "naive_bayes": ModelEntry("Gaussian naive Bayes", {C: naive_bayes.GaussianNB}, seeded=False,
                              search={"var_smoothing": _float(1e-12, 1e-3, log=True)}, dense_only=True),
    "mlp": ModelEntry(
        "Neural network (MLP)", {C: neural_network.MLPClassifier, R: neural_network.MLPRegressor},
        {C: {"max_iter": 500, "early_stopping": True, "learning_rate_init": 0.01, "n_iter_no_change": 20},
         R: {"max_iter": 500, "early_stopping": True, "learning_rate_init": 0.01, "n_iter_no_change": 20}},
        {"alpha": _float(1e-6, 1e-1, log=True), "hidden_layer_sizes": _choice([64], [128], [64, 32])},
        trusted=("sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
                 "sklearn.neural_network._stochastic_optimizers.SGDOptimizer")),
    "kmeans": ModelEntry("k-means", {K: cluster.KMeans}, {K: {"n_clusters": 3, "n_init": "auto"}},
                         {"n_clusters": _int(2, 12)}, preselected=(K,)),
    "dbscan": ModelEntry("DBSCAN", {K: cluster.DBSCAN}, seeded=False,
                         search={"eps": _float(0.05, 5, log=True), "min_samples": _int(2, 20)}, max_rows=50_000,
                         onnx=refused(NO_NEW_ROWS, "DBSCAN")),
    "agglomerative": ModelEntry("Agglomerative clustering", {K: cluster.AgglomerativeClustering},
                                {K: {"n_clusters": 3}}, {"n_clusters": _int(2, 12)}, seeded=False,
                                max_rows=20_000, dense_only=True,
                                help="Cannot assign clusters to new rows after training.",
                                onnx=refused(NO_NEW_ROWS, "AgglomerativeClustering")),
    "gaussian_mixture": ModelEntry("Gaussian mixture", {K: mixture.GaussianMixture}, {K: {"n_components": 3}},
                                   {"n_components": _int(2, 12)}, dense_only=True, preselected=(K,),
                                   onnx=refused("skl2onnx's converter fails on it", "GaussianMixture")),
}


def models_for(task: str) -> list[str]:
    """Keys of the models that support ``task``, in registry order."""
    return [key for key, entry in MODELS.items() if task in entry.estimators]


def default_models(task: str, *, sparse_text: bool = False) -> list[str]:
    """The preselected set a user gets when they pick nothing; with ``sparse_text`` (TF-IDF features), each model
    whose entry names a ``with_text`` stand-in gives it its place."""
    kinds = [key for key, entry in MODELS.items() if task in entry.preselected]
    return [MODELS[k].with_text or k for k in kinds] if sparse_text else kinds


def weighs_classes(kind: str) -> bool:
    """Whether the model can weigh classes by their rarity (its registry entry names the parameter)."""
    return MODELS[kind].class_weight is not None


def class_weights(kind: str) -> dict[str, Any]:
    """The parameter that weighs the model's classes by their rarity, as the library names it; empty if none."""
    weight = MODELS[kind].class_weight
    return dict([weight]) if weight is not None else {}


def is_weighted(kind: str, params: dict[str, Any]) -> bool:
    """Whether a model's parameters weigh its classes by their rarity."""
    return bool(weighs := class_weights(kind)) and all(params.get(k) == v for k, v in weighs.items())


def with_class_weights(models: list[dict[str, Any]], balanced: bool) -> list[dict[str, Any]]:
    """Model definitions (as dicts) with their classes weighed by rarity on the models that can, or not weighed.

    Weighting rows by the inverse of their class's frequency makes a rare class count as much as a common one
    while fitting; on an imbalanced target it trades some accuracy for balanced accuracy and minority recall.
    """
    out = []
    for model in models:
        weighs = class_weights(model["kind"])
        params = {k: v for k, v in (model.get("params") or {}).items() if k not in weighs}
        if balanced:
            params.update(weighs)
        out.append({**model, "params": params})
    return out


# ---- steps -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepEntry:
    """Everything beyond the step class that a step needs to work everywhere (its field help is on the class)."""

    step: type[Step]
    groups: tuple[UiGroup, ...]  # the pages that offer it
    script: sa.ScriptForm  # how the standalone script performs it
    trusted: tuple[str, ...]  # skops types its fitted objects hold that skops does not trust by default
    onnx: Onnx
    addable: bool = True  # False: made from something else (a quality rule), so the add menu does not offer it


CLEAN: tuple[UiGroup, ...] = ("clean",)
FEATURES: tuple[UiGroup, ...] = ("features",)
_ours = "pipeline_core.transformers."
_rows = converts()  # row steps run before the pipeline: nothing of theirs is in the fitted model

_ENTRIES = (
    StepEntry(STEPS["drop_missing_target"], CLEAN, sa.InTemplate("training_rows drops rows with an unusable target"),
              (), _rows),
    StepEntry(STEPS["drop_duplicates"], CLEAN, sa.RowCode(sa.drop_duplicates_code), (), _rows),
    StepEntry(STEPS["filter_rows"], CLEAN, sa.RowCode(sa.filter_rows_code), (), _rows),
    StepEntry(STEPS["keep_rows_passing_rule"], CLEAN, sa.RowCode(sa.keep_rows_passing_rule_code), (), _rows,
              addable=False),  # the Clean page makes it from a rule
    StepEntry(STEPS["drop_columns"], CLEAN, sa.InTemplate("FEATURES lists only the columns the model reads"),
              (), _rows),
    StepEntry(STEPS["impute"], CLEAN, sa.Constructed(),  # a fitted iterative imputer keeps one triplet per round
              ("sklearn.impute._iterative.IterativeImputer", "sklearn.impute._iterative._ImputerTriplet"),
              converts(IterativeImputer="no ONNX converter exists for it",
                       KNNImputer="skl2onnx's converter for it takes float32 only, and the graph computes in "
                                  "float64 to agree with the model")),
    StepEntry(STEPS["clip_outliers"], CLEAN, sa.Constructed((sa.OUTLIER_CLIPPER,)), (_ours + "OutlierClipper",),
              converts()),
    StepEntry(STEPS["scale"], CLEAN, sa.Constructed(), (), converts()),
    StepEntry(STEPS["power"], CLEAN, sa.Constructed(), (), converts()),  # float64 stand-in: ``artifacts.onnx_numeric``
    StepEntry(STEPS["log"], CLEAN, sa.Constructed((sa.LOG,)), (_ours + "LogTransformer",), converts()),
    StepEntry(STEPS["onehot"], CLEAN, sa.Constructed(), (), converts()),
    StepEntry(STEPS["ordinal"], CLEAN, sa.Constructed(), (), converts()),
    StepEntry(STEPS["isolation_forest_flag"], CLEAN, sa.Constructed((sa.ISOLATION_FOREST_FLAG,)),
              (_ours + "IsolationForestFlag", *TREE), converts()),  # ``artifacts.onnx_trees``
    StepEntry(STEPS["select_kbest"], FEATURES, sa.Constructed(),
              ("sklearn.feature_selection._univariate_selection.f_classif",
               "sklearn.feature_selection._univariate_selection.f_regression"), converts()),
    StepEntry(STEPS["select_from_model"], FEATURES, sa.Constructed(), TREE, converts()),
    StepEntry(STEPS["variance_threshold"], FEATURES, sa.Constructed(), (), converts()),
    StepEntry(STEPS["pca"], FEATURES, sa.Constructed((sa.CAPPED_PCA,)), (_ours + "CappedPCA",), converts()),
    StepEntry(STEPS["polynomial"], FEATURES, sa.Constructed(), (), converts()),
    StepEntry(STEPS["bin"], ("clean", "features"), sa.Constructed(), (), converts()),  # ``artifacts.onnx_numeric``
    StepEntry(STEPS["date_parts"], FEATURES, sa.Constructed((sa.DATE_PARTS,)), (_ours + "DateParts",),
              converts()),  # the graph takes dates as epoch seconds (``artifacts.onnx_inputs``)
    StepEntry(STEPS["tfidf"], FEATURES, sa.Constructed(), (),
              refused("its tokenizer (regular expressions) cannot be reproduced exactly in ONNX", "TfidfVectorizer")),
    StepEntry(STEPS["target_encode"], FEATURES, sa.Constructed(), (), converts()),  # ``artifacts.onnx_standins``
)
STEP_ENTRIES: dict[str, StepEntry] = {e.step.model_fields["kind"].default: e for e in _ENTRIES}
if set(STEP_ENTRIES) != set(STEPS):  # a step class without an entry would never appear in the UI
    raise TypeError(f"steps without a registry entry: {sorted(set(STEPS) - set(STEP_ENTRIES))}")

# What the compiler adds around the steps (``compile.py``): the first step that renames, selects and
# casts raw columns, the float32 hand-on after each dense branch, and densifying before dense-only models.
SCAFFOLDING_SCRIPT = (sa.PREPARE, sa.TO_DENSE)
# The decision-threshold wrapper (``compiler.threshold``) keeps the scorer it chose with, which keeps its metric's
# function (one per ``ThresholdMetric``) and scikit-learn's metadata-routing records.
THRESHOLD_TRUSTED = ("sklearn.metrics._scorer._CurveScorer", "sklearn.metrics._scorer._Scorer",
                     "sklearn.metrics._classification.balanced_accuracy_score",
                     "sklearn.metrics._classification.f1_score",
                     "sklearn.utils._metadata_requests.MetadataRequest",
                     "sklearn.utils._metadata_requests.MethodMetadataRequest")
# Models that keep training rows (nearest neighbours, SVM support vectors) keep them sparse when TF-IDF made the
# matrix sparse: a SciPy matrix is data, loaded by skops without running code.
SPARSE_TRUSTED = ("scipy.sparse._csr.csr_matrix",)
# An ensemble of candidates (``pipeline_core.ensembles``, issue 20 point 3) holds its members' pipelines, whose
# types their own entries declare, and a stacker that scikit-learn's defaults trust (logistic regression, ridge).
ENSEMBLE_KINDS = ("ensemble", "stacking")  # their leaderboard keys (``training.ensemble``): not registry models
ENSEMBLE_CLASSES = ("EnsembleClassifier", "EnsembleRegressor")
ENSEMBLE_TRUSTED = tuple(f"pipeline_core.ensembles.{name}" for name in ENSEMBLE_CLASSES)
SCAFFOLDING_TRUSTED = ("numpy.asarray", "numpy.dtype", _ours + "FramePreparer", _ours + "Densify", *THRESHOLD_TRUSTED,
                      *SPARSE_TRUSTED, *ENSEMBLE_TRUSTED)
# ``prepare`` becomes the graph's inputs (``artifacts.onnx_inputs``), the float32 hand-on a float32 rounding and
# densifying an identity (``artifacts.onnx_export``); a tuned decision threshold has no converter
THRESHOLD_NOT_ONNX = ("skl2onnx has no converter for scikit-learn's TunedThresholdClassifierCV, so the graph "
                      "could not apply the tuned threshold; export as skops, a bundle, MLflow or a Python script, "
                      "or train without threshold tuning")
ENSEMBLE_NOT_ONNX = ("an ensemble averages or stacks several whole pipelines, each with its own preprocessing, "
                     "and no converter builds that graph; export as skops, a bundle or MLflow, or train without "
                     "ensembles")
SCAFFOLDING_ONNX = converts(TunedThresholdClassifierCV=THRESHOLD_NOT_ONNX,
                            **dict.fromkeys(ENSEMBLE_CLASSES, ENSEMBLE_NOT_ONNX))


@dataclass(frozen=True)
class TargetEntry:
    """A regression target transform (``compiler.target`` builds it): its words, skops types and ONNX form.

    Both wrap the model in scikit-learn's ``TransformedTargetRegressor``, so what converts depends on the
    transform, not the class: ``onnx`` names that class only when this transform cannot convert.
    """

    label: str
    help: str
    trusted: tuple[str, ...]
    onnx: Onnx


TARGET_ENTRIES: dict[str, TargetEntry] = {
    "log": TargetEntry(
        "log(1 + target)", "For positive, right-skewed targets (prices, amounts): errors count relatively.",
        ("numpy.log1p", "numpy.expm1"),  # the wrapper keeps numpy's functions as its transform and inverse
        converts()),  # the regressor's graph, then exp(v) - 1 (``artifacts.onnx_target``)
    "yeo_johnson": TargetEntry(
        "Yeo-Johnson transform of the target", "Like a log, for targets that can be zero or negative.", (),
        refused("a Yeo-Johnson target needs its inverse (piecewise in its learned lambda) after the model, and no "
                "converter builds it; export as skops, a bundle, MLflow or a Python script, or use a log target, "
                "which converts", "TransformedTargetRegressor")),
}


def steps_in(group: UiGroup, *, addable: bool = False) -> tuple[str, ...]:
    """The step kinds a page lists, in registry order; ``addable`` keeps those its add menu offers."""
    return tuple(kind for kind, entry in STEP_ENTRIES.items()
                 if group in entry.groups and (entry.addable or not addable))


def trusted_types() -> tuple[str, ...]:
    """Every type our saved models may hold beyond skops's defaults: the union of what the entries declare."""
    entries = [*STEP_ENTRIES.values(), *MODELS.values(), *TARGET_ENTRIES.values()]
    declared = {*SCAFFOLDING_TRUSTED, *(t for e in entries for t in e.trusted)}
    return tuple(sorted(declared))


def onnx_refusals() -> dict[str, str]:
    """Estimator class name -> why ONNX cannot express it, from every entry."""
    found = dict(SCAFFOLDING_ONNX.refused)
    for onnx in [*(e.onnx for e in STEP_ENTRIES.values()), *(e.onnx for e in MODELS.values())]:
        found.update(onnx.refused)
    return found


def model_libraries(kind: str | None = None) -> tuple[str, ...]:
    """Packages beyond scikit-learn that a model kind's fitted form imports; every entry's for ``None``."""
    entries = MODELS.values() if kind is None else [MODELS[kind]] if kind in MODELS else []
    return tuple(sorted({lib for entry in entries for lib in entry.libraries}))


def script_helpers() -> dict[type, sa.Helper]:
    """Our transformer classes -> their equivalents in the standalone script (steps' and the compiler's)."""
    helpers = {h.cls: h for h in SCAFFOLDING_SCRIPT}
    helpers.update({h.cls: h for entry in MODELS.values() for h in entry.script})
    for entry in STEP_ENTRIES.values():
        if isinstance(entry.script, sa.Constructed):
            helpers.update({h.cls: h for h in entry.script.helpers})
    return helpers
