"""Model files: skops loads safely and exactly, joblib round-trips, ONNX agrees with scikit-learn."""

import dataclasses
import functools
import os
import pickle
from importlib import metadata as distributions

import numpy as np
import pandas as pd
import pytest
import sklearn
import skops.io as sio
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from threadpoolctl import threadpool_limits

import pipeline_core
from pipeline_core.artifacts import export, skops_io
from pipeline_core.artifacts.export import TRUSTED_TYPES, dump_model, load_model, predict_onnx, read_metadata, to_onnx
from pipeline_core.compiler.columns import default_steps, infer_schema
from pipeline_core.compiler.compile import compile_pipeline
from pipeline_core.definition import steps as st
from pipeline_core.definition.registry import model_libraries, models_for
from pipeline_core.definition.spec import EvaluationPlan, ModelSpec, PipelineSpec
from pipeline_core.errors import ModelError
from pipeline_core.training.train import train
from tests.archives import joblib_bytes, with_entry
from tests.pipeline_core.frames import breast_cancer, diabetes, messy_frame


def fitted(frame: pd.DataFrame, target: str | None, model: str, params: dict | None = None,
           steps: list | None = None, task: str | None = None):
    """Compile and fit one pipeline directly (no CV): what training would save for this model."""
    spec = PipelineSpec(target=target, task=task or "auto", models=[ModelSpec(kind=model, params=params or {})])
    spec = spec.model_copy(update={"steps": steps if steps is not None else default_steps(infer_schema(frame, spec))})
    schema = infer_schema(frame, spec)
    task = task or ("regression" if target and frame[target].nunique() > 10 else "classification")
    pipeline = compile_pipeline(spec, schema, task=task, model=spec.models[0])
    X = frame.drop(columns=[target]) if target else frame
    return pipeline.fit(X, frame[target]) if target else pipeline.fit(X), X


def coverage_frame(n: int = 80) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "a": rng.normal(size=n), "b": np.where(rng.random(n) < 0.1, np.nan, rng.exponential(size=n)),
        "c": rng.choice(["x", "y", "z"], n), "d": rng.choice(["p", "q"], n), "e": rng.choice(["u", "v", "w"], n),
        "when": pd.date_range("2020-01-01", periods=n, freq="D").astype(str),
        "note": [" ".join(rng.choice(["red", "fox", "jumps", "high", "lazy", "dog", "sleeps", "all", "day"], 5))
                 for _ in range(n)],  # varied prose: a few repeated sentences would be labels, not text
        "label": rng.choice(["no", "yes"], n), "amount": rng.normal(size=n),
    })


EVERY_STEP = [
    st.Impute(columns=["a"], strategy="knn"), st.Impute(columns=["b"], strategy="iterative", add_indicator=True),
    st.ClipOutliers(), st.Log(), st.Power(), st.Scale(columns=["a"], method="minmax"),
    st.Scale(columns=["b"], method="robust"), st.Polynomial(), st.Bin(encode="onehot"), st.Bin(strategy="kmeans"),
    st.Impute(columns=["c"], strategy="constant", fill_value="missing"), st.OneHot(columns=["c"]),
    st.Ordinal(columns=["d"]), st.TargetEncode(columns=["e"]), st.DateParts(), st.Impute(columns="datetime"),
    st.Tfidf(min_df=1), st.IsolationForestFlag(), st.VarianceThreshold(), st.SelectKBest(k=5),
]
GLOBAL_CHOICES = [[st.SelectFromModel(method="tree"), st.PCA()], [st.SelectFromModel(method="l1", max_features=4)]]
SMALL = {"random_forest": {"n_estimators": 3}, "extra_trees": {"n_estimators": 3}, "mlp": {"max_iter": 20},
         "gradient_boosting": {"n_estimators": 3}, "hist_gradient_boosting": {"max_iter": 3},
         # LightGBM stopping early on held-aside rows: its own fit path, so every export covers it
         "lightgbm": {"n_estimators": 20, "validation_fraction": 0.25, "n_iter_no_change": 3},
         "xgboost": {"n_estimators": 5},
         # CatBoost stopping early on the rows it holds aside itself (the autopilot's second configuration)
         "catboost": {"iterations": 20, "eval_fraction": 0.25, "early_stopping_rounds": 3}}
SIMPLE = [st.Impute(columns="numeric"), st.Scale(), st.OneHot(columns="categorical"), st.DateParts(),
          st.Impute(columns="datetime"), st.Tfidf(min_df=1)]


def every_saved_pipeline():
    """Every step (in each task) with a cheap model, and every registry model with simple steps."""
    frame = coverage_frame()
    targets = {"classification": "label", "regression": "amount"}
    for task, target in targets.items():
        other = frame.drop(columns=[t for t in targets.values() if t != target])
        for extra in GLOBAL_CHOICES:
            yield fitted(other, target, models_for(task)[0], steps=EVERY_STEP + extra, task=task)[0]
        for model in models_for(task):
            yield fitted(other, target, model, SMALL.get(model), steps=SIMPLE, task=task)[0]
    features = frame.drop(columns=list(targets.values()))
    for model in models_for("clustering"):
        yield fitted(features, None, model, steps=SIMPLE, task="clustering")[0]


def test_trusted_types_cover_every_model_and_step_we_can_save():
    found = set()
    with threadpool_limits(1):  # 80 rows: threads only add overhead (and stall on a busy machine)
        for pipeline in every_saved_pipeline():
            found |= set(sio.get_untrusted_types(data=sio.dumps(pipeline)))
    assert found - set(TRUSTED_TYPES) == set()
    libraries = tuple(f"{lib}." for lib in model_libraries())  # LightGBM's booster keeps an OrderedDict
    ours = ("sklearn.", "numpy.", "scipy.sparse.", "pipeline_core.transformers.", "pipeline_core.ensembles.",
            "pipeline_core.library_estimators.", *libraries)
    assert all(t.startswith(ours) for t in TRUSTED_TYPES
               if t not in ("functools.partial", "collections.OrderedDict"))


@pytest.mark.parametrize(("kind", "distribution"), [("lightgbm", "lightgbm"), ("xgboost", "xgboost-cpu"),
                                                   ("catboost", "catboost")])
def test_a_model_from_another_library_requires_it_where_it_is_saved(kind, distribution):
    """Issue 20 point 2: a LightGBM, XGBoost or CatBoost model's metadata (which its bundle and MLflow directory
    copy) pins the distribution that installed the library, here ``xgboost-cpu`` for the module ``xgboost``; a
    scikit-learn model's does not."""
    frame = breast_cancer()
    requirements = {}
    for model in (kind, "logistic_regression"):
        spec = PipelineSpec(target="target", models=[ModelSpec(kind=model, params=SMALL.get(model, {}))],
                            evaluation=EvaluationPlan(cv_folds=2, holdout=0.0))
        with threadpool_limits(1):
            result = train(spec.model_copy(update={"steps": default_steps(infer_schema(frame, spec))}), frame)
        requirements[model] = export.build_metadata(result, frame)["requirements"]
    pin = f"{distribution}=={distributions.version(distribution)}"
    assert set(requirements[kind]) - set(requirements["logistic_regression"]) == {pin}


@pytest.fixture(scope="module")
def trained():
    frame = breast_cancer()
    spec = PipelineSpec(target="target", models=[ModelSpec(kind="logistic_regression")],
                        evaluation=EvaluationPlan(cv_folds=2, holdout=0.2))
    spec = spec.model_copy(update={"steps": default_steps(infer_schema(frame, spec))})
    result = train(spec, frame)
    return result, frame, export.build_metadata(result, frame)


def test_skops_round_trip_predicts_identically_and_carries_metadata(trained, tmp_path):
    result, frame, metadata = trained
    path = export.save_model(result.pipeline, tmp_path / "model.skops", "skops", metadata)
    loaded = load_model(path)
    X = frame.drop(columns=["target"])
    np.testing.assert_array_equal(loaded.pipeline.predict(X), result.pipeline.predict(X))
    np.testing.assert_array_equal(loaded.pipeline.predict_proba(X), result.pipeline.predict_proba(X))
    assert loaded.metadata == read_metadata(path) == getattr(loaded.pipeline, export.METADATA_ATTRIBUTE)
    assert loaded.metadata["sklearn_version"] == sklearn.__version__
    assert loaded.metadata["requirements"][0] == f"pipeline-studio=={pipeline_core.__version__}"
    assert f"scikit-learn=={sklearn.__version__}" in loaded.metadata["requirements"]
    assert loaded.metadata["task"] == "classification" and loaded.metadata["classes"] == [0, 1]
    assert [f["name"] for f in loaded.metadata["features"]] == list(X.columns)
    assert {f["dtype"] for f in loaded.metadata["features"]} == {"float64"}
    assert loaded.metadata["definition"]["target"] == "target"
    assert loaded.metadata["leaderboard"][0]["model"] == "logistic_regression"
    assert not hasattr(result.pipeline, export.METADATA_ATTRIBUTE)  # dumping does not touch the caller's object


def test_a_neighbours_model_on_sparse_text_features_loads_back(tmp_path):
    """k-NN keeps its training rows, sparse after TF-IDF: the loader must accept the SciPy matrix, not refuse it."""
    frame = coverage_frame(120).drop(columns=["amount"])
    pipeline, X = fitted(frame, "label", "knn", steps=SIMPLE)
    assert any("csr_matrix" in t for t in sio.get_untrusted_types(data=sio.dumps(pipeline)))
    path = export.save_model(pipeline, tmp_path / "knn.skops", "skops", {})
    np.testing.assert_array_equal(load_model(path).pipeline.predict(X), pipeline.predict(X))


def test_joblib_round_trip_for_files_we_made(trained):
    result, frame, metadata = trained
    loaded = load_model(dump_model(result.pipeline, "joblib", metadata), fmt="joblib")
    X = frame.drop(columns=["target"])
    np.testing.assert_array_equal(loaded.pipeline.predict_proba(X), result.pipeline.predict_proba(X))
    assert loaded.metadata["model"] == "logistic_regression"


@pytest.mark.parametrize("make", [
    lambda p: dump_model(p, "joblib"), lambda p: pickle.dumps(p), lambda p: joblib_bytes(p, compress=3),
], ids=["joblib", "pickle", "joblib-compressed"])
def test_skops_loader_refuses_pickles(trained, make):
    with pytest.raises(ModelError, match="pickle"):
        load_model(make(trained[0].pipeline))




@pytest.mark.parametrize("entry", ["../evil.npy", "/etc/evil.npy", "a/../../evil.npy", "C:/evil.npy"])
def test_skops_loader_refuses_unsafe_entry_paths(trained, entry):
    data = with_entry(dump_model(trained[0].pipeline), entry, b"x")
    with pytest.raises(ModelError, match="unsafe path"):
        load_model(data)


def test_skops_loader_refuses_zip_bombs(trained):
    data = with_entry(dump_model(trained[0].pipeline), "bomb.npy", bytes(8 * 2**20))
    with pytest.raises(ModelError, match="zip bomb"):
        load_model(data)


def test_skops_loader_refuses_archives_over_the_size_cap(trained, monkeypatch):
    monkeypatch.setattr(skops_io, "MODEL_ZIP_LIMITS", dataclasses.replace(skops_io.MODEL_ZIP_LIMITS,
                                                                         max_unpacked_bytes=1000))
    with pytest.raises(ModelError, match="over the 1,000 limit"):
        load_model(dump_model(trained[0].pipeline))


def test_skops_loader_refuses_non_zip_bytes():
    with pytest.raises(ModelError, match="not a skops model file"):
        load_model(b"name,value\nx,1\n")


def test_skops_loader_refuses_a_model_from_another_sklearn_version(trained, tmp_path):
    result, _, metadata = trained
    path = export.save_model(result.pipeline, tmp_path / "old.skops", "skops", {**metadata, "sklearn_version": "1.2.0"})
    with pytest.raises(ModelError, match=rf"scikit-learn 1\.2\.0.*scikit-learn {sklearn.__version__}"):
        load_model(path)


def test_skops_loader_refuses_types_outside_the_allow_list():
    dangerous = Pipeline([("run", FunctionTransformer(func=os.system))]).fit(np.zeros((2, 1)))
    with pytest.raises(ModelError, match=r"does not trust: .*system"):
        load_model(dump_model(dangerous))


def test_a_trusted_partial_cannot_smuggle_an_untrusted_function():
    """``functools.partial`` is on the allow-list for boosting's category check; what it wraps is checked too."""
    dangerous = Pipeline([("run", FunctionTransformer(func=functools.partial(os.system, "true")))])
    with pytest.raises(ModelError, match=r"does not trust: .*system"):
        load_model(dump_model(dangerous.fit(np.zeros((2, 1)))))


def test_boosting_with_native_categories_round_trips_through_skops():
    pipeline, frame = compiled_boosting()
    loaded = load_model(dump_model(pipeline))
    X = frame.drop(columns="churned")
    np.testing.assert_array_equal(loaded.pipeline.predict_proba(X), pipeline.predict_proba(X))


def compiled_boosting():
    frame = messy_frame()
    spec = PipelineSpec(target="churned")
    steps = [s.model_copy(update={"boosting": "codes"}) if isinstance(s, st.OneHot) else s
             for s in default_steps(infer_schema(frame, spec))]
    spec = spec.model_copy(update={"steps": steps})
    pipeline = compile_pipeline(spec, infer_schema(frame, spec), task="classification",
                                model=ModelSpec(kind="hist_gradient_boosting"))
    return pipeline.fit(frame.drop(columns="churned"), frame.churned), frame


def test_missing_model_file_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="cannot read model file 'absent.skops'"):
        load_model(tmp_path / "absent.skops")


# ---- ONNX -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["logistic_regression", "random_forest"])
def test_onnx_matches_the_pipeline_on_breast_cancer(model):
    pipeline, X = fitted(breast_cancer(), "target", model, {"n_estimators": 30} if model == "random_forest" else None)
    graph = to_onnx(pipeline, X)
    np.testing.assert_array_equal(predict_onnx(graph, X, pipeline[0]), pipeline.predict(X))
    np.testing.assert_allclose(predict_onnx(graph, X, pipeline[0], proba=True), pipeline.predict_proba(X),
                               rtol=0, atol=1e-6)


def test_onnx_matches_ridge_on_diabetes():
    """The model trains on the float32 matrix the columns hand on; the graph computes in float64: ~1e-7 relative."""
    pipeline, X = fitted(diabetes(), "target", "ridge")
    np.testing.assert_allclose(predict_onnx(to_onnx(pipeline, X), X, pipeline[0]), pipeline.predict(X),
                               rtol=1e-6, atol=1e-6)


def test_onnx_tree_regressor_agrees_to_float32_precision():
    """ORT runs tree ensembles in float32 only: regression values agree to ~1e-7 relative, not 1e-6 absolute."""
    pipeline, X = fitted(diabetes(), "target", "random_forest", {"n_estimators": 30})
    np.testing.assert_allclose(predict_onnx(to_onnx(pipeline, X), X, pipeline[0]), pipeline.predict(X),
                               rtol=1e-6, atol=0)


def test_onnx_handles_missing_rare_and_unseen_categories():
    frame = messy_frame(400).drop(columns=["signup", "review"])
    frame.loc[:2, "city"] = "rare-town"  # below min_frequency: an infrequent level
    pipeline, X = fitted(frame, "churned", "logistic_regression")
    graph = to_onnx(pipeline, X)
    new = X.head(20).copy()
    new.loc[new.index[:3], "city"] = ["atlantis", None, "rare-town"]
    np.testing.assert_array_equal(predict_onnx(graph, new, pipeline[0]), pipeline.predict(new))
    np.testing.assert_allclose(predict_onnx(graph, new, pipeline[0], proba=True), pipeline.predict_proba(new),
                               rtol=0, atol=1e-6)


def test_onnx_refuses_steps_it_cannot_convert_and_names_them():
    pipeline, X = fitted(messy_frame(), "churned", "logistic_regression")
    with pytest.raises(ModelError, match=r"tfidf\[review\] \(TfidfVectorizer: its tokenizer"):
        to_onnx(pipeline, X)


def test_onnx_refuses_a_transformer_of_ours_that_nothing_says_converts(monkeypatch):
    from pipeline_core.artifacts import onnx_export

    monkeypatch.setattr(onnx_export, "CONVERTED_OURS", tuple(c for c in onnx_export.CONVERTED_OURS
                                                              if c != "IsolationForestFlag"))
    pipeline, X = fitted(diabetes(), "target", "ridge", steps=[st.Impute(), st.IsolationForestFlag()])
    with pytest.raises(ModelError, match=r"IsolationForestFlag: no ONNX form is registered for it"):
        to_onnx(pipeline, X)
