"""Every registered step works inside a compiled pipeline on small real data."""

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import cross_val_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from pipeline_core import transformers as tr
from pipeline_core.compiler.columns import default_steps, infer_schema
from pipeline_core.compiler.compile import compile_pipeline
from pipeline_core.definition import steps as st
from pipeline_core.definition.spec import ModelSpec, PipelineSpec
from tests.pipeline_core.frames import messy_frame

COLUMN_AND_GLOBAL_STEPS = {
    "impute": [st.Impute(strategy=s) for s in ("mean", "median", "most_frequent", "knn", "iterative")]
    + [st.Impute(strategy="constant", fill_value=0, add_indicator=True)],
    "clip_outliers": [st.ClipOutliers(method="iqr"), st.ClipOutliers(method="zscore", factor=3)],
    "onehot": [st.OneHot(min_frequency=0.2, max_categories=3)],
    "ordinal": [st.Ordinal()],
    "target_encode": [st.TargetEncode()],
    "scale": [st.Scale(method=m) for m in ("standard", "minmax", "robust")],
    "power": [st.Power()],
    "log": [st.Log(columns=["income"])],
    "date_parts": [st.DateParts(parts=["year", "month", "dayofweek"])],
    "tfidf": [st.Tfidf(max_features=20)],
    "polynomial": [st.Polynomial(degree=2, interaction_only=True)],
    "bin": [st.Bin(n_bins=4), st.Bin(n_bins=3, strategy="uniform", encode="onehot")],
    "isolation_forest_flag": [st.IsolationForestFlag(contamination=0.05)],
    "variance_threshold": [st.VarianceThreshold(threshold=0.01)],
    "select_kbest": [st.SelectKBest(k=5)],
    "select_from_model": [st.SelectFromModel(method="tree", max_features=5), st.SelectFromModel(method="l1")],
    "pca": [st.PCA(n_components=3), st.PCA(n_components=0.9)],
}


def base_steps(frame: pd.DataFrame, spec: PipelineSpec) -> list[st.Step]:
    return default_steps(infer_schema(frame, spec))


def test_the_table_above_covers_every_registered_transform_step():
    transform_kinds = {k for k, cls in st.STEPS.items() if cls.stage in ("column", "global")}
    assert transform_kinds == set(COLUMN_AND_GLOBAL_STEPS)


@pytest.mark.parametrize("step", [s for group in COLUMN_AND_GLOBAL_STEPS.values() for s in group],
                         ids=lambda s: s.describe())
def test_step_fits_and_cross_validates_without_leaking_errors(step):
    frame = messy_frame()
    spec = PipelineSpec(target="churned")
    steps = base_steps(frame, spec)
    # the tested step replaces the default of its kind; encoders replace one-hot; global steps go last
    if isinstance(step, (st.Ordinal, st.TargetEncode)):
        steps = [s for s in steps if not isinstance(s, st.OneHot)] + [step]
    elif step.stage == "global":
        steps = steps + [step]
    elif isinstance(step, st.Impute):
        steps = [step] + [s for s in steps if not (isinstance(s, st.Impute) and s.columns == "numeric")]
    elif any(s.kind == step.kind for s in steps):
        steps = [step if s.kind == step.kind else s for s in steps]
    else:
        steps = steps + [step]
    spec = spec.model_copy(update={"steps": steps})
    schema = infer_schema(frame, spec)
    pipeline = compile_pipeline(spec, schema, task="classification", model=ModelSpec(kind="logistic_regression"))
    X, y = frame.drop(columns="churned"), frame["churned"]
    scores = cross_val_score(pipeline, X, y, cv=3, error_score="raise")
    assert np.all(np.isfinite(scores)) and scores.mean() > 0.5
    names = pipeline[:-1].fit(X, y).get_feature_names_out()
    assert len(names) == pipeline[:-1].transform(X).shape[1]


def test_drop_duplicates_reports_what_it_removed():
    frame = pd.DataFrame({"a": [1, 1, 2], "b": ["x", "x", "y"]})
    kept, message = st.DropDuplicates().apply(frame, None)
    assert len(kept) == 2 and message == "dropped 1 duplicate rows"


def test_drop_missing_target_reports_the_count_and_drops_infinite_values():
    frame = pd.DataFrame({"a": [1, 2, 3, 4], "y": [1.0, np.nan, np.inf, 2.0]})
    kept, message = st.DropMissingTarget().apply(frame, "y")
    assert list(kept["a"]) == [1, 4] and "dropped 2 rows" in message


@pytest.mark.parametrize(("op", "value", "expected"), [
    (">", 2, [3, 4]), ("<=", "2", [1, 2]), ("==", 3, [3]), ("!=", 3, [1, 2, 4]),
    ("in", [1, 4], [1, 4]), ("not in", [1, 4], [2, 3]), ("is missing", None, []),
])
def test_filter_rows_builds_the_condition_from_parts(op, value, expected):
    frame = pd.DataFrame({"a": [1, 2, 3, 4]})
    kept, _ = st.FilterRows(column="a", op=op, value=value).apply(frame, None)
    assert list(kept["a"]) == expected


def test_filter_rows_never_evaluates_user_text():
    frame = pd.DataFrame({"name": ["__import__('os')", "bob"]})
    kept, _ = st.FilterRows(column="name", op="contains", value="__import__").apply(frame, None)
    assert list(kept["name"]) == ["__import__('os')"]


def test_filter_rows_on_a_numeric_column_with_text_value_says_why():
    from pipeline_core.errors import DataError

    with pytest.raises(DataError, match="not a number"):
        st.FilterRows(column="a", op=">", value="abc").apply(pd.DataFrame({"a": [1, 2]}), None)


@parametrize_with_checks([tr.OutlierClipper(), tr.LogTransformer(), tr.IsolationForestFlag(random_state=0),
                          tr.CappedPCA(n_components=2, random_state=0)])
def test_custom_transformers_follow_the_estimator_contract(estimator, check):
    check(estimator)


def test_date_parts_handles_strings_and_unparsable_values():
    out = tr.DateParts(parts=("year", "month")).fit_transform(pd.DataFrame({"d": ["2021-03-04", "garbage", None]}))
    assert out[0].tolist() == [2021, 3] and np.isnan(out[1]).all() and np.isnan(out[2]).all()


def test_outlier_clipper_learns_bounds_on_training_data_only():
    clip = tr.OutlierClipper(method="iqr", factor=1.5).fit(np.array([[1.0], [2.0], [3.0], [4.0]]))
    assert clip.transform(np.array([[100.0]]))[0, 0] == pytest.approx(3.25 + 1.5 * 1.5)


def test_outlier_clipper_leaves_columns_without_spread_alone():
    """A mostly-zero missing indicator has IQR 0: clipping it would erase the rare 1s."""
    X = np.array([[0.0, 1.0], [0.0, 2.0], [0.0, 3.0], [0.0, 4.0], [1.0, 100.0]])
    out = tr.OutlierClipper(method="iqr").fit_transform(X)
    assert out[4, 0] == 1.0 and out[4, 1] < 100.0


def test_l1_selection_never_leaves_zero_features_for_the_model():
    """Issue 15 point 8: on pure noise a strong L1 penalty zeroes every coefficient; the step then keeps every
    feature instead of handing the model an empty matrix ("Found array with 0 feature(s)")."""
    from sklearn.base import clone

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 6))
    y = rng.integers(0, 2, size=200)
    selector = st.SelectFromModel(method="l1").build("classification", 0)
    zeroing = clone(selector).set_params(estimator__C=1e-4)
    assert zeroing.fit(X, y).transform(X).shape == (200, 6)
    assert selector.fit(X, y).transform(X).shape[1] >= 1
    X_signal = np.column_stack([y + rng.normal(scale=0.1, size=200), X])
    kept = selector.fit(X_signal, y).get_support()
    assert kept[0] and kept.sum() < 7  # with signal, L1 still drops the noise it zeroes
