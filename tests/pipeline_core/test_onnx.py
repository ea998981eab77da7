"""ONNX export of the pipelines users actually get: the default steps with each default model.

The data has what real files have: categorical columns before the numeric ones, missing values,
rare levels, outliers and dates (as text and as datetimes). Every case must export, and onnxruntime's
answers must equal the pipeline's on the rows: labels identical, probabilities within 1e-5.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from pipeline_core.artifacts.export import ONNX_RTOL, predict_onnx, to_onnx, unconvertible_steps
from pipeline_core.artifacts.onnx_inputs import epoch_seconds
from pipeline_core.compiler.columns import default_steps, infer_schema
from pipeline_core.compiler.compile import compile_pipeline
from pipeline_core.compiler.prepare import prepare
from pipeline_core.definition import steps as st
from pipeline_core.definition.spec import ModelSpec, PipelineSpec
from pipeline_core.errors import ModelError
from pipeline_core.transformers import DateParts
from tests.pipeline_core.test_export import coverage_frame
from tests.pipeline_core.test_registry import STEP_EXAMPLES

TARGETS = {"binary": "classification", "multiclass": "classification", "amount": "regression"}
DEFAULT_MODELS = {"classification": ["logistic_regression", "random_forest", "hist_gradient_boosting"],
                  "regression": ["linear_regression", "random_forest", "hist_gradient_boosting"]}
SMALL = {"random_forest": {"n_estimators": 20}, "hist_gradient_boosting": {"max_iter": 30}}
PROBABILITY_TOLERANCE = 1e-5


def messy(n: int = 300, seed: int = 0, dates: str | None = None) -> pd.DataFrame:
    """Categoricals first, then numbers with gaps and outliers, an optional date column, three targets."""
    rng = np.random.default_rng(seed)
    city = rng.choice(["paris", "lyon", "nice", "lille", "rare"], n, p=[.4, .3, .2, .095, .005]).astype(object)
    city[rng.random(n) < .1] = None
    plan = rng.choice(["basic", "plus", "pro"], n).astype(object)
    x1 = rng.normal(0, 1, n)
    x1[rng.random(n) < .1] = np.nan
    x2 = rng.lognormal(3, 1, n)
    x2[rng.random(n) < .03] = 1e6
    frame = pd.DataFrame({"city": city, "plan": plan, "x1": x1, "x2": x2})
    if dates is not None:
        when = pd.Series(pd.date_range("2019-12-30 05:00", periods=n, freq="37h"))
        when[rng.random(n) < .05] = pd.NaT
        frame.insert(2, "when", when if dates == "datetime" else when.dt.strftime("%Y-%m-%d %H:%M").where(when.notna()))
    score = np.nan_to_num(x1) + (city == "paris") + 0.3 * np.log(x2) + rng.normal(0, .5, n)
    frame["binary"] = np.where(score > 1.5, "yes", "no")
    frame["multiclass"] = np.select([score < 1, score < 2], ["low", "mid"], "high")
    frame["amount"] = score * 10
    return frame


def default_fit(frame: pd.DataFrame, target: str, model: str, extra: list[st.Step] | None = None):
    """The default pipeline (what the Features page and the CLI add) for ``model``, fitted as training fits it."""
    raw = frame.drop(columns=[t for t in TARGETS if t != target])
    spec = PipelineSpec(target=target, models=[ModelSpec(kind=model, params=SMALL.get(model, {}))])
    spec = spec.model_copy(update={"steps": [*default_steps(infer_schema(raw, spec)), *(extra or [])]})
    prepared = prepare(spec, raw)
    pipeline = compile_pipeline(spec, prepared.schema, task=prepared.task, model=spec.models[0])
    with threadpool_limits(1):
        pipeline.fit(prepared.X, prepared.y)
    return pipeline, prepared.X


def assert_same_predictions(graph: bytes, pipeline, X: pd.DataFrame) -> None:
    expected = np.asarray(pipeline.predict(X))
    got = predict_onnx(graph, X, pipeline[0])
    if expected.dtype.kind == "f":  # linear models fitted on float32 features predict in float32: values near 0
        scale = np.abs(expected).max()  # are only that precise, relative to the largest prediction
        np.testing.assert_allclose(got, expected, rtol=ONNX_RTOL, atol=ONNX_RTOL * scale)
    else:
        np.testing.assert_array_equal(got.astype(expected.dtype), expected)
    if hasattr(pipeline, "predict_proba"):
        np.testing.assert_allclose(predict_onnx(graph, X, pipeline[0], proba=True), pipeline.predict_proba(X),
                                   rtol=0, atol=PROBABILITY_TOLERANCE)


CASES = [(dates, target, model) for dates in ("text", "datetime") for target, task in TARGETS.items()
         for model in DEFAULT_MODELS[task]]


@pytest.mark.parametrize(("dates", "target", "model"), CASES, ids=["-".join(case) for case in CASES])
def test_the_default_pipeline_exports_and_predicts_as_the_model_does(dates, target, model):
    pipeline, X = default_fit(messy(dates=dates), target, model)
    assert any(type(step).__name__ == "DateParts" for step in _estimators(pipeline))  # the dates are used
    graph = to_onnx(pipeline, X)
    fresh = messy(120, seed=1, dates=dates).drop(columns=list(TARGETS))  # rows it never saw: an unseen level,
    fresh.loc[:3, "city"] = "atlantis"  # a number out of float32's range, an infinity, an unparsable date
    fresh.loc[4, "x2"], fresh.loc[5, "x1"] = 1e300, -np.inf
    if dates == "text":
        fresh.loc[6, "when"] = "not a date"
    for rows in (X, fresh):
        assert_same_predictions(graph, pipeline, rows)


@pytest.mark.parametrize("target", list(TARGETS))
def test_boosting_that_splits_on_category_codes_exports(target):
    """From 500,000 rows the default pipeline gives boosting category codes (forced here on small data): its
    category splits become member splits; rare, unseen and missing levels go where the model sends them."""
    frame = messy(600, dates="text")
    frame.loc[frame.index[:40], "plan"] = [f"rare{i % 8}" for i in range(40)]  # rare levels share one code
    raw = frame.drop(columns=[t for t in TARGETS if t != target])
    spec = PipelineSpec(target=target, models=[ModelSpec(kind="hist_gradient_boosting", params={"max_iter": 40})])
    steps = [s.model_copy(update={"boosting": "codes"}) if isinstance(s, st.OneHot) else s
             for s in default_steps(infer_schema(raw, spec))]
    spec = spec.model_copy(update={"steps": steps})
    prepared = prepare(spec, raw)
    pipeline = compile_pipeline(spec, prepared.schema, task=prepared.task, model=spec.models[0])
    with threadpool_limits(1):
        pipeline.fit(prepared.X, prepared.y)
    assert pipeline[-1].is_categorical_ is not None and pipeline[-1].is_categorical_.any()
    graph = to_onnx(pipeline, prepared.X)
    fresh = messy(200, seed=2, dates="text").drop(columns=list(TARGETS))
    fresh.loc[:5, "city"], fresh.loc[6:9, "plan"], fresh.loc[10:12, "plan"] = "atlantis", None, "rare3"
    for rows in (prepared.X, fresh):
        assert_same_predictions(graph, pipeline, rows)


@pytest.mark.parametrize("target", list(TARGETS))
def test_target_encoding_exports_for_every_kind_of_target(target):
    """One column per level's learned encoding (one per class for a multiclass target); unseen levels and
    missing ones the encoder never saw get the target mean."""
    frame = messy(dates="text")
    raw = frame.drop(columns=[t for t in TARGETS if t != target])
    spec = PipelineSpec(target=target, models=[ModelSpec(kind=DEFAULT_MODELS[TARGETS[target]][0])])
    steps = [st.TargetEncode() if isinstance(s, st.OneHot) else s for s in default_steps(infer_schema(raw, spec))]
    spec = spec.model_copy(update={"steps": steps})
    prepared = prepare(spec, raw)
    pipeline = compile_pipeline(spec, prepared.schema, task=prepared.task, model=spec.models[0])
    with threadpool_limits(1):
        pipeline.fit(prepared.X, prepared.y)
    graph = to_onnx(pipeline, prepared.X)
    fresh = messy(100, seed=4, dates="text").drop(columns=list(TARGETS))
    fresh.loc[:4, "city"], fresh.loc[5:7, "plan"] = "atlantis", None
    for rows in (prepared.X, fresh):
        assert_same_predictions(graph, pipeline, rows)


@pytest.mark.parametrize("target", list(TARGETS))
def test_clipping_outliers_and_logs_export_too(target):
    model = DEFAULT_MODELS[TARGETS[target]][0]
    pipeline, X = default_fit(messy(dates="text"), target, model, [st.ClipOutliers(), st.Log(columns=["x2"])])
    clipped = [s for s in _estimators(pipeline) if type(s).__name__ == "OutlierClipper"]
    assert clipped and np.isfinite(clipped[0].upper_).any()  # it does clip something
    assert_same_predictions(to_onnx(pipeline, X), pipeline, X)


def _estimators(estimator) -> list:
    """Every fitted object in the pipeline (the column transformer's fitted branches, not their templates)."""
    if hasattr(estimator, "steps"):
        return [e for _, step in estimator.steps for e in _estimators(step)]
    if hasattr(estimator, "transformers_"):
        return [e for _, branch, _ in estimator.transformers_ if not isinstance(branch, str)
                for e in _estimators(branch)]
    return [estimator]


def test_date_parts_in_the_graph_equal_pandas_on_awkward_dates():
    """Every part, on leap days, year ends, dates before 1970 and far off, midnight and a second before it."""
    stamps = pd.Series(pd.to_datetime([
        "1900-01-01 00:00", "1900-03-01 12:00", "1969-12-31 23:59:59", "1970-01-01 00:00", "2000-02-29 23:59",
        "2000-12-31 00:01", "2001-01-01 00:00", "2023-03-01 06:30", "2024-02-29 13:45:59", "2099-12-31 23:59:59",
        "2262-04-11 00:00", "1677-09-22 00:00", None], format="mixed"))
    parts = ["year", "month", "day", "dayofweek", "dayofyear", "hour", "minute"]
    for values in (stamps, stamps.dt.strftime("%Y-%m-%d %H:%M:%S"), stamps.dt.tz_localize("Europe/Paris")):
        expected = DateParts(parts=tuple(parts)).fit(values.to_frame("when")).transform(values.to_frame("when"))
        got = _date_parts_of(epoch_seconds(values).reshape(-1, 1), parts)
        np.testing.assert_array_equal(got, expected)  # NaN where the date is missing


def test_a_pipeline_reading_all_date_parts_agrees_on_text_and_datetime_dates():
    stamps = pd.Series(pd.date_range("1965-02-27 22:00", periods=200, freq="29h"))
    all_parts = ["year", "month", "day", "dayofweek", "dayofyear", "hour", "minute"]
    for when in (stamps, stamps.dt.strftime("%Y/%m/%d %H:%M")):
        frame = pd.DataFrame({"when": when, "label": np.where(stamps.dt.dayofweek >= 5, "weekend", "week")})
        spec = PipelineSpec(target="label", models=[ModelSpec(kind="random_forest", params={"n_estimators": 10})],
                            steps=[st.DateParts(parts=all_parts), st.Impute(columns="datetime")])
        prepared = prepare(spec, frame)
        pipeline = compile_pipeline(spec, prepared.schema, task=prepared.task, model=spec.models[0])
        pipeline.fit(prepared.X, prepared.y)
        assert_same_predictions(to_onnx(pipeline, prepared.X), pipeline, prepared.X)


def _date_parts_of(seconds: np.ndarray, parts: list[str]) -> np.ndarray:
    """Only the date-parts converter, run alone on epoch seconds."""
    import onnxruntime as ort
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType

    from pipeline_core.artifacts.onnx_converters import register_ours

    register_ours()
    step = DateParts(parts=tuple(parts)).fit(pd.DataFrame({"when": pd.to_datetime(["2020-01-01"])}))
    graph = convert_sklearn(step, initial_types=[("when", DoubleTensorType([None, 1]))], target_opset=19)
    session = ort.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"when": seconds})[0]


# ---- every registered step ----------------------------------------------------------------------------------

STEP_TASKS = {"classification": ("label", "logistic_regression"), "regression": ("amount", "ridge"),
              "boosting": ("label", "hist_gradient_boosting")}  # boosting: no float32 hand-on between steps
_ALL, _NUMBERS = [st.DropColumns(columns=["note"]), st.OneHot()], [st.Impute(columns="numeric")]
STEP_CHOICES = {  # the registry's example of each step, and the parameter choices that build other classes
    **STEP_EXAMPLES,
    "impute-knn": [*_ALL, st.Impute(columns="numeric", strategy="knn"), st.DateParts(), st.Impute(columns="datetime")],
    "impute-constant-indicator": [*_ALL, st.Impute(columns="numeric", strategy="constant", fill_value=0,
                                                   add_indicator=True), st.DateParts(), st.Impute(columns="datetime")],
    "impute-text-indicator": [st.DropColumns(columns=["note", "when"]), *_NUMBERS, st.Impute(
        columns="categorical", strategy="most_frequent", add_indicator=True), st.OneHot()],
    "scale-robust": [*_ALL, *_NUMBERS, st.Scale(method="robust"), st.DateParts(), st.Impute(columns="datetime")],
    "scale-minmax": [*_ALL, *_NUMBERS, st.Scale(method="minmax"), st.DateParts(), st.Impute(columns="datetime")],
    "clip_outliers-zscore": [*_ALL, *_NUMBERS, st.ClipOutliers(method="zscore", factor=1.0), st.DropColumns(
        columns=["when"])],
    "bin-onehot": [*_ALL, *_NUMBERS, st.Bin(encode="onehot"), st.DropColumns(columns=["when"])],
    "bin-kmeans-uniform": [*_ALL, *_NUMBERS, st.Bin(columns=["a"], strategy="kmeans", n_bins=7),
                           st.Bin(columns=["b"], strategy="uniform", n_bins=3), st.DropColumns(columns=["when"])],
    "power-unstandardised": [*_ALL, *_NUMBERS, st.Power(standardize=False), st.DropColumns(columns=["when"])],
    "select_from_model-l1": [*_ALL, *_NUMBERS, st.DropColumns(columns=["when"]),
                             st.SelectFromModel(method="l1", max_features=4)],
    "date_parts-every-part": [*_ALL, *_NUMBERS, st.DateParts(parts=["year", "month", "day", "dayofweek", "dayofyear",
                                                                    "hour", "minute"]), st.Impute(columns="datetime")],
}
STEP_CASES = [(kind, task) for kind in STEP_CHOICES for task in STEP_TASKS]


def test_the_loop_covers_every_registered_step():
    from pipeline_core.definition.registry import STEP_ENTRIES

    assert {kind.split("-")[0] for kind in STEP_CHOICES} == set(STEP_ENTRIES)


@pytest.mark.parametrize(("kind", "task"), STEP_CASES, ids=[f"{k}-{t}" for k, t in STEP_CASES])
def test_every_registered_step_converts_and_agrees_or_is_named_with_a_reason(kind, task):
    """A step either converts (and the graph agrees with the pipeline) or ``unconvertible_steps`` names it with
    a reason, and export refuses with that reason; doing neither fails here. Categorical columns come first."""
    frame = coverage_frame(120)
    frame = frame[["c", "d", "e", "note", "when", "a", "b", "label", "amount"]]  # categoricals before numbers
    frame.loc[::7, "c"] = None
    target, model = STEP_TASKS[task]
    task = "regression" if target == "amount" else "classification"
    raw = frame.drop(columns=[t for t, _ in STEP_TASKS.values() if t != target])
    spec = PipelineSpec(target=target, task=task, models=[ModelSpec(kind=model, params=SMALL.get(model, {}))],
                        steps=STEP_CHOICES[kind])
    prepared = prepare(spec, raw)
    pipeline = compile_pipeline(spec, prepared.schema, task=task, model=spec.models[0])
    with threadpool_limits(1):
        pipeline.fit(prepared.X, prepared.y)
        built = {type(e).__name__ for e in _estimators(pipeline)}
        blocked = {cls: why for _, cls, why in unconvertible_steps(pipeline)}
        if not blocked:
            assert_same_predictions(to_onnx(pipeline, prepared.X), pipeline, prepared.X)
            return
        assert blocked.keys() <= built and all(why.strip() for why in blocked.values())
        with pytest.raises(ModelError, match="cannot be converted") as refusal:
            to_onnx(pipeline, prepared.X)
    assert all(f"{cls}: {why}" in str(refusal.value) for cls, why in blocked.items())


def test_the_documented_inputs_are_enough_to_run_the_graph_without_this_project():
    """Feed the graph by hand, as the README and the export's description say, with onnxruntime alone."""
    import json

    import onnx
    import onnxruntime as ort

    from pipeline_core.artifacts.export import onnx_inputs

    pipeline, X = default_fit(messy(dates="datetime"), "multiclass", "hist_gradient_boosting")
    graph = to_onnx(pipeline, X)
    inputs = onnx_inputs(pipeline, X)
    stored = {p.key: p.value for p in onnx.load_from_string(graph).metadata_props}["pipeline_studio.inputs"]
    assert [(i["name"], i["column"], i["onnx_type"]) for i in json.loads(stored)] == [
        ("city", "city", "tensor(string)"), ("plan", "plan", "tensor(string)"), ("when", "when", "tensor(double)"),
        ("x1", "x1", "tensor(double)"), ("x2", "x2", "tensor(double)")]
    feed = {}
    for item in inputs:
        values = X[item.column]
        if item.kind == "datetime":  # seconds since 1970, NaN when missing
            seconds = (values - pd.Timestamp("1970-01-01")).dt.total_seconds().to_numpy()
            feed[item.name] = np.floor(seconds).reshape(-1, 1)
        elif item.onnx_type == "tensor(double)":
            feed[item.name] = values.to_numpy(dtype=np.float64).reshape(-1, 1)
        else:
            feed[item.name] = values.fillna("").astype(str).to_numpy(dtype=object).reshape(-1, 1)
    label, probabilities = ort.InferenceSession(graph, providers=["CPUExecutionProvider"]).run(None, feed)
    np.testing.assert_array_equal(label, pipeline.predict(X))
    np.testing.assert_allclose(probabilities, pipeline.predict_proba(X), rtol=0, atol=PROBABILITY_TOLERANCE)


def _run_alone(stand_in, X: np.ndarray) -> np.ndarray:
    """One stand-in converted alone and run by onnxruntime on float64 rows."""
    import onnxruntime as ort
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType

    from pipeline_core.artifacts.onnx_numeric import register_numeric

    register_numeric()
    graph = convert_sklearn(stand_in, initial_types=[("x", DoubleTensorType([None, X.shape[1]]))], target_opset=19)
    return ort.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": X})[0]


@pytest.mark.parametrize("encode", ["ordinal", "onehot-dense"])
def test_bins_agree_on_values_exactly_at_the_edges(encode):
    from sklearn.preprocessing import KBinsDiscretizer

    from pipeline_core.artifacts.onnx_numeric import OnnxBins

    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=300), rng.exponential(size=300), np.ones(300)])  # one constant column
    bins = KBinsDiscretizer(n_bins=6, encode=encode, strategy="quantile", quantile_method="averaged_inverted_cdf")
    bins.fit(X)
    edges = np.column_stack([np.resize(e, 8) for e in bins.bin_edges_])  # every edge as a value, and beyond
    edges[~np.isfinite(edges)] = 0.0  # a constant column's edges are infinite
    rows = np.vstack([X, edges, edges + 1e-12, edges - 1e-12, [[-1e9, -1e9, -1e9], [1e9, 1e9, 1e9]]])
    np.testing.assert_array_equal(_run_alone(OnnxBins.from_fitted(bins), rows), bins.transform(rows))


def test_the_power_transform_agrees_including_missing_values_and_the_log_cases():
    from sklearn.preprocessing import PowerTransformer

    from pipeline_core.artifacts.onnx_numeric import OnnxPower

    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=200) * 3, rng.exponential(size=200), rng.normal(size=200),
                         rng.normal(size=200)])
    power = PowerTransformer().fit(X)
    power.lambdas_[2], power.lambdas_[3] = 0.0, 2.0  # the two log forms SciPy switches to
    X[::9, 1] = np.nan
    np.testing.assert_allclose(_run_alone(OnnxPower.from_fitted(power), X), power.transform(X), rtol=1e-12,
                               atol=1e-12)


@pytest.mark.parametrize("contamination", ["auto", 0.1])
def test_the_isolation_forest_flag_marks_the_same_rows(contamination):
    import onnxruntime as ort
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import DoubleTensorType

    from pipeline_core.artifacts.onnx_standins import register_converters
    from pipeline_core.artifacts.onnx_trees import OnnxIsolationFlag, raise_ml_opset
    from pipeline_core.transformers import IsolationForestFlag

    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(400, 4)), rng.normal(6, 1, size=(20, 4))])  # a cluster of outliers
    flag = IsolationForestFlag(contamination=contamination, random_state=0).fit(X)
    expected = flag.transform(X)
    assert 0 < expected[:, -1].sum() < len(X)  # it flags some rows, not all
    register_converters()
    graph = convert_sklearn(OnnxIsolationFlag.from_fitted(flag), initial_types=[("x", DoubleTensorType([None, 4]))],
                            target_opset={"": 19, "ai.onnx.ml": 3})
    raise_ml_opset(graph)
    session = ort.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
    np.testing.assert_array_equal(session.run(None, {"x": X})[0], expected)
