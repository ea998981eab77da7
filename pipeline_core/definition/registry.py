"""The model registry: one table, one entry per model.

Each entry maps a key (used in definitions, the CLI and the UI) to the estimator class
per task, the defaults we believe in, a search space for tuning, and UI hints. Pages
draw their model pickers from this table; adding a model is one entry here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sklearn import cluster, ensemble, linear_model, mixture, naive_bayes, neighbors, neural_network, svm, tree

from pipeline_core.definition.steps import STEPS  # noqa: F401  (re-exported: the step registry)

Space = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class ModelEntry:
    """How to build one model, for each task it supports."""

    label: str
    estimators: dict[str, type]  # task -> estimator class
    defaults: dict[str, dict[str, Any]] = field(default_factory=dict)  # task -> params
    search: Space = field(default_factory=dict)
    seeded: bool = True  # takes random_state
    class_weight: bool = False  # supports class_weight="balanced"
    dense_only: bool = False  # cannot take sparse input
    max_rows: int | None = None  # scales badly: subsample or skip above this many rows
    limit_reason: str = "this model scales badly"  # why, as the leaderboard says it
    native_categorical: bool = False  # splits on category codes itself (``categorical_features``)
    preselected: tuple[str, ...] = ()  # tasks for which it is in the default set
    help: str = ""

    def build(self, task: str, params: dict[str, Any], seed: int) -> Any:
        """Instantiate with defaults, then the user's params; seed only if the model takes one."""
        cls = self.estimators[task]
        merged = {**self.defaults.get(task, {}), **params}
        if self.seeded and "random_state" in cls().get_params():
            merged.setdefault("random_state", seed)
        return cls(**merged)


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
TREE_SPACE = {"max_depth": _choice(None, 4, 8, 16), "min_samples_leaf": _int(1, 20, log=True)}
FOREST_SPACE = {"n_estimators": _int(50, 400, log=True), "max_features": _choice("sqrt", 0.5, 1.0),
                "min_samples_leaf": _int(1, 10)}

MODELS: dict[str, ModelEntry] = {
    "logistic_regression": ModelEntry(
        "Logistic regression", {C: linear_model.LogisticRegression}, {C: {"max_iter": 2000}},
        {"C": _float(1e-3, 1e3, log=True)}, class_weight=True, preselected=(C,),
        help="Fast linear baseline; coefficients are easy to explain."),
    "linear_regression": ModelEntry(
        "Linear regression", {R: linear_model.LinearRegression}, seeded=False, preselected=(R,),
        help="Ordinary least squares baseline."),
    "ridge": ModelEntry("Ridge", {R: linear_model.Ridge}, search={"alpha": _float(1e-3, 1e3, log=True)},
                        help="Linear regression with L2 shrinkage."),
    "lasso": ModelEntry("Lasso", {R: linear_model.Lasso}, {R: {"max_iter": 5000}},
                        {"alpha": _float(1e-4, 10, log=True)}, help="Linear regression that zeroes weak features."),
    "elastic_net": ModelEntry("Elastic net", {R: linear_model.ElasticNet}, {R: {"max_iter": 5000}},
                              {"alpha": _float(1e-4, 10, log=True), "l1_ratio": _float(0.05, 0.95)}),
    "knn": ModelEntry(
        "k-nearest neighbours", {C: neighbors.KNeighborsClassifier, R: neighbors.KNeighborsRegressor},
        search={"n_neighbors": _int(1, 50), "weights": _choice("uniform", "distance")}, max_rows=20_000,
        help="Predicts from the closest training rows; slow on large data."),
    "svm": ModelEntry(
        "Support vector machine", {C: svm.SVC, R: svm.SVR}, {C: {"probability": False}},
        {"C": _float(1e-2, 1e3, log=True), "gamma": _choice("scale", "auto")}, class_weight=True,
        max_rows=10_000, help="Strong on small, scaled data; training time grows quadratically."),
    "decision_tree": ModelEntry(
        "Decision tree", {C: tree.DecisionTreeClassifier, R: tree.DecisionTreeRegressor},
        {C: {"max_depth": 8, "min_samples_leaf": 2}, R: {"max_depth": 6, "min_samples_leaf": 10}},
        TREE_SPACE, class_weight=True),
    "random_forest": ModelEntry(
        "Random forest", {C: ensemble.RandomForestClassifier, R: ensemble.RandomForestRegressor},
        {C: {"n_estimators": 100}, R: {"n_estimators": 100}}, FOREST_SPACE,
        class_weight=True, preselected=(C, R), max_rows=FOREST_ROWS, limit_reason=FOREST_REASON),
    "extra_trees": ModelEntry(
        "Extra trees", {C: ensemble.ExtraTreesClassifier, R: ensemble.ExtraTreesRegressor},
        {C: {"n_estimators": 200}, R: {"n_estimators": 200}}, FOREST_SPACE,
        class_weight=True, max_rows=FOREST_ROWS, limit_reason=FOREST_REASON),
    "gradient_boosting": ModelEntry(
        "Gradient boosting", {C: ensemble.GradientBoostingClassifier, R: ensemble.GradientBoostingRegressor},
        search={"n_estimators": _int(50, 400, log=True), "learning_rate": _float(0.01, 0.3, log=True),
                "max_depth": _int(2, 6)}, dense_only=True,
        help="Classic boosting; histogram gradient boosting is much faster on large data."),
    "hist_gradient_boosting": ModelEntry(
        "Histogram gradient boosting",
        {C: ensemble.HistGradientBoostingClassifier, R: ensemble.HistGradientBoostingRegressor},
        # 300 rounds, not scikit-learn's 100: at its learning rate 0.1, 100 rounds stop short on
        # 5,000-200,000 rows (0.8665 -> 0.8756 CV accuracy on our 50,000-row benchmark); early
        # stopping (from 10,000 rows) ends the fit sooner where more rounds stop helping
        {C: {"early_stopping": "auto", "max_iter": 300}, R: {"early_stopping": "auto", "max_iter": 300}},
        {"learning_rate": _float(0.02, 0.3, log=True), "max_leaf_nodes": _int(8, 128, log=True),
         "l2_regularization": _float(1e-6, 10, log=True)}, class_weight=True, dense_only=True,
        native_categorical=True, preselected=(C, R),
        help="Fast, strong default for tabular data."),
    "naive_bayes": ModelEntry("Gaussian naive Bayes", {C: naive_bayes.GaussianNB}, seeded=False,
                              search={"var_smoothing": _float(1e-12, 1e-3, log=True)}, dense_only=True),
    "mlp": ModelEntry(
        "Neural network (MLP)", {C: neural_network.MLPClassifier, R: neural_network.MLPRegressor},
        {C: {"max_iter": 500, "early_stopping": True, "learning_rate_init": 0.01, "n_iter_no_change": 20},
         R: {"max_iter": 500, "early_stopping": True, "learning_rate_init": 0.01, "n_iter_no_change": 20}},
        {"alpha": _float(1e-6, 1e-1, log=True), "hidden_layer_sizes": _choice([64], [128], [64, 32])}),
    "kmeans": ModelEntry("k-means", {K: cluster.KMeans}, {K: {"n_clusters": 3, "n_init": "auto"}},
                         {"n_clusters": _int(2, 12)}, preselected=(K,)),
    "dbscan": ModelEntry("DBSCAN", {K: cluster.DBSCAN}, seeded=False,
                         search={"eps": _float(0.05, 5, log=True), "min_samples": _int(2, 20)}, max_rows=50_000),
    "agglomerative": ModelEntry("Agglomerative clustering", {K: cluster.AgglomerativeClustering},
                                {K: {"n_clusters": 3}}, {"n_clusters": _int(2, 12)}, seeded=False,
                                max_rows=20_000, help="Cannot assign clusters to new rows after training."),
    "gaussian_mixture": ModelEntry("Gaussian mixture", {K: mixture.GaussianMixture}, {K: {"n_components": 3}},
                                   {"n_components": _int(2, 12)}, dense_only=True, preselected=(K,)),
}


def models_for(task: str) -> list[str]:
    """Keys of the models that support ``task``, in registry order."""
    return [key for key, entry in MODELS.items() if task in entry.estimators]


def default_models(task: str) -> list[str]:
    """The preselected set a user gets when they pick nothing."""
    return [key for key, entry in MODELS.items() if task in entry.preselected]
