"""Every registered step and model works everywhere its entry says: script, skops and ONNX.

The cases are parametrised over the registries themselves, so a new step or model is tested as
soon as it has an entry (and :data:`STEP_EXAMPLES` fails until it has an example). Each case
fits one small pipeline; the standalone scripts all run in one interpreter, once.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
from threadpoolctl import threadpool_limits

from pipeline_core.analysis.dependence import dependence_curves
from pipeline_core.analysis.explain import Explainer
from pipeline_core.artifacts.codegen import python_script
from pipeline_core.artifacts.constructors import is_estimator
from pipeline_core.artifacts.export import dump_model, load_model, to_onnx
from pipeline_core.artifacts.skops_io import LoadedModel
from pipeline_core.compiler.compile import compile_pipeline
from pipeline_core.compiler.prepare import prepare
from pipeline_core.definition import steps as st
from pipeline_core.definition.registry import (
    MODELS,
    SCAFFOLDING_ONNX,
    SCAFFOLDING_TRUSTED,
    STEP_ENTRIES,
    TARGET_ENTRIES,
    model_libraries,
    models_for,
)
from pipeline_core.definition.spec import EvaluationPlan, ModelSpec, PipelineSpec
from pipeline_core.errors import ModelError
from pipeline_core.io.readers import read_path
from pipeline_core.library_estimators import classes_of
from pipeline_core.serving.scoring import score
from tests.pipeline_core.test_export import SMALL, coverage_frame

TARGETS = {"classification": "label", "regression": "amount", "clustering": None}
NUMERIC, CATEGORIES = st.Impute(columns="numeric"), st.OneHot(columns="categorical")
NO_DATES, NO_TEXT = st.DropColumns(columns=["when"]), st.DropColumns(columns=["note"])
BASE = [NO_DATES, NO_TEXT, NUMERIC, CATEGORIES]
STEP_EXAMPLES: dict[str, list[st.Step]] = {  # kind -> a pipeline's steps that use it; the rest stay simple
    "drop_missing_target": [st.DropMissingTarget(), *BASE],
    "drop_duplicates": [st.DropDuplicates(subset=["a", "c"]), *BASE],
    "filter_rows": [st.FilterRows(column="a", op=">", value=-1.0), *BASE],
    "keep_rows_passing_rule": [st.KeepRowsPassingRule(rule={"kind": "range", "column": "a", "min": -1.0}), *BASE],
    "drop_columns": BASE,
    "impute": [NO_DATES, NO_TEXT, st.Impute(columns="numeric", strategy="iterative", add_indicator=True), CATEGORIES],
    "clip_outliers": [*BASE, st.ClipOutliers()],
    "scale": [*BASE, st.Scale()],
    "power": [*BASE, st.Power()],
    "log": [*BASE, st.Log()],
    "onehot": BASE,
    "ordinal": [NO_DATES, NO_TEXT, NUMERIC, st.Ordinal()],
    "bin": [*BASE, st.Bin()],
    "isolation_forest_flag": [*BASE, st.IsolationForestFlag()],
    "select_kbest": [*BASE, st.SelectKBest(k=5)],
    "select_from_model": [*BASE, st.SelectFromModel()],
    "variance_threshold": [*BASE, st.VarianceThreshold()],
    "pca": [*BASE, st.Scale(), st.PCA(n_components=3)],
    "polynomial": [*BASE, st.Polynomial()],
    "date_parts": [NO_TEXT, NUMERIC, CATEGORIES, st.DateParts(), st.Impute(columns="datetime")],
    "tfidf": [NO_DATES, NUMERIC, CATEGORIES, st.Tfidf(min_df=1)],
    "target_encode": [NO_DATES, NO_TEXT, NUMERIC, st.TargetEncode()],
}
STEP_CASES = {f"step-{kind}": ("classification", "logistic_regression", steps) for kind, steps in STEP_EXAMPLES.items()}
MODEL_CASES = {f"model-{task}-{model}": (task, model, [*BASE, st.Scale()])
               for task in TARGETS for model in models_for(task)}
# every target transform around boosting, on a positive, skewed target (``b``: exponential, with missing rows)
TARGET_CASES = {f"target-{kind}": ("regression", "hist_gradient_boosting", [*BASE, st.Scale()])
                for kind in TARGET_ENTRIES}
CASES = {**STEP_CASES, **MODEL_CASES, **TARGET_CASES}
ALLOWED_IMPORTS = {"json", "sys", "warnings", "pathlib", "numpy", "pandas", "scipy", "sklearn", *model_libraries()}
# Loads each script without running ``main``, fits its ``build_pipeline()`` on its ``training_rows``
# and writes the predictions on every raw row (cluster labels of the training rows for clustering).
RUNNER = """
import json, runpy, sys, warnings
warnings.simplefilter("ignore")
out = {}
for case, script, data in zip(sys.argv[2::3], sys.argv[3::3], sys.argv[4::3]):
    ns = runpy.run_path(script)
    X, y = ns["training_rows"](ns["read_table"](data))
    pipeline = ns["build_pipeline"]()
    if y is None:
        out[case] = pipeline.fit_predict(X).tolist()
    else:
        raw = ns["read_table"](data).drop(columns=[ns["RAW_TARGET"]])
        out[case] = pipeline.fit(X, y).predict(raw).tolist()
json.dump(out, open(sys.argv[1], "w"))
"""


def spec_for(case: str, csv: Path) -> PipelineSpec:
    task, model, steps = CASES[case]
    transform = case.removeprefix("target-") if case in TARGET_CASES else "none"
    return PipelineSpec(target="b" if case in TARGET_CASES else TARGETS[task], task=task, steps=steps,
                        data={"file_name": csv.name}, evaluation=EvaluationPlan(cv_folds=2),
                        models=[ModelSpec(kind=model, params=SMALL.get(model, {}), target_transform=transform)])


@pytest.fixture(scope="module")
def csv(tmp_path_factory) -> Path:
    """Numbers in 1/64ths: the app's reader and the script's ``pd.read_csv`` can parse other decimals a
    bit apart, which is enough to move a tree's split (not what these tests are about)."""
    path = tmp_path_factory.mktemp("registry") / "data.csv"
    frame = coverage_frame(120)
    for column in ("a", "b", "amount"):
        frame[column] = np.round(frame[column] * 64) / 64
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def apps(csv):
    """case -> (fitted pipeline, raw feature rows, schema, spec), as the app compiles and fits them."""
    frame = read_path(csv).frame
    out = {}
    with threadpool_limits(1):
        for case in CASES:
            spec = spec_for(case, csv)
            prepared = prepare(spec, frame)
            pipeline = compile_pipeline(spec, prepared.schema, task=prepared.task, model=spec.models[0])
            pipeline.fit(prepared.X, prepared.y) if prepared.y is not None else pipeline.fit(prepared.X)
            raw = frame.drop(columns=[spec.target]) if spec.target else prepared.X
            out[case] = pipeline, raw, prepared, spec
    return out


@pytest.fixture(scope="module")
def scripts(apps, csv):
    """case -> (script source, the script's predictions), all scripts run in one interpreter."""
    sources, argv = {}, []
    for case, (_, _, prepared, spec) in apps.items():
        model = spec.models[0]
        sources[case] = python_script(spec, prepared.schema, prepared.task, model.kind, model.params,
                                      target_transform=model.target_transform)
        path = csv.parent / f"{case}.py"
        path.write_text(sources[case])
        argv += [case, str(path), str(csv)]
    result = csv.parent / "predictions.json"
    single = dict.fromkeys(("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"), "1")  # as in ``apps``
    run = subprocess.run([sys.executable, "-c", RUNNER, str(result), *argv], capture_output=True, text=True,
                         timeout=600, cwd=csv.parent, env={**os.environ, **single})
    assert run.returncode == 0, run.stderr[-3000:]
    predicted = json.loads(result.read_text())
    return {case: (sources[case], predicted[case]) for case in CASES}


def test_every_registered_step_has_an_example():
    assert set(STEP_EXAMPLES) == set(STEP_ENTRIES)


def test_every_target_transform_a_definition_can_name_has_an_entry():
    from typing import get_args

    from pipeline_core.definition.choices import TargetTransform

    assert set(TARGET_ENTRIES) == set(get_args(TargetTransform)) - {"auto", "none"}


@pytest.mark.parametrize("case", list(CASES))
def test_the_standalone_script_imports_nothing_of_ours_and_reproduces_the_predictions(case, apps, scripts):
    source, predicted = scripts[case]
    imported = {line.split()[1].split(".")[0] for line in source.splitlines() if line.startswith(("import ", "from "))}
    assert imported <= ALLOWED_IMPORTS
    assert not re.search(r"\b(pipeline_core|storage|studio)\b", source)
    pipeline, raw, prepared, _ = apps[case]
    with threadpool_limits(1):
        expected = pipeline.fit_predict(prepared.X) if prepared.y is None else pipeline.predict(raw)
    expected = np.asarray(expected)
    if expected.dtype.kind == "f":
        np.testing.assert_allclose(predicted, expected, rtol=1e-9, atol=1e-12)
    else:
        np.testing.assert_array_equal(np.asarray(predicted, dtype=expected.dtype), expected)


def declared(case: str) -> tuple[set[str], dict[str, str]]:
    """The skops types and ONNX refusals the case's entries declare (its steps', its model's, the compiler's)."""
    _, model, steps = CASES[case]
    entries = [STEP_ENTRIES[s.kind] for s in steps]
    target = [TARGET_ENTRIES[case.removeprefix("target-")]] if case in TARGET_CASES else []
    trusted = {*SCAFFOLDING_TRUSTED, *MODELS[model].trusted, *(t for e in [*entries, *target] for t in e.trusted)}
    refused = {**SCAFFOLDING_ONNX.refused, **MODELS[model].onnx.refused, **(target[0].onnx.refused if target else {})}
    for entry in entries:
        refused.update(entry.onnx.refused)
    return trusted, refused


def built_classes(pipeline) -> set[str]:
    return {type(v).__name__ for v in pipeline.get_params(deep=True).values() if is_estimator(v)}


@pytest.mark.parametrize("case", list(CASES))
def test_its_fitted_types_are_declared_for_skops_and_it_loads_with_the_trusted_list(case, apps):
    pipeline, raw, prepared, _ = apps[case]
    trusted, _ = declared(case)
    assert set(sio.get_untrusted_types(data=sio.dumps(pipeline))) - trusted == set()
    if prepared.y is not None:
        np.testing.assert_array_equal(load_model(dump_model(pipeline)).pipeline.predict(raw), pipeline.predict(raw))


@pytest.mark.parametrize("case", list(CASES))
def test_it_converts_to_onnx_or_is_refused_with_its_declared_reason(case, apps):
    pipeline, raw, _, _ = apps[case]
    _, refused = declared(case)
    reasons = {refused[name] for name in built_classes(pipeline) if name in refused}
    with threadpool_limits(1):
        if not reasons:
            assert to_onnx(pipeline, raw.head(60))  # checked against the pipeline's own predictions
            return
        with pytest.raises(ModelError, match="cannot be converted") as refusal:
            to_onnx(pipeline, raw.head(60))
    assert all(reason in str(refusal.value) for reason in reasons)


SUPERVISED_CASES = [case for case, (task, _, _) in MODEL_CASES.items() if task != "clustering"]


@pytest.mark.parametrize("case", SUPERVISED_CASES)
def test_the_service_scores_it_and_explains_and_curves_its_predictions(case, apps):
    """What a served or reported model is asked after training: labels (and probabilities for classes), each row's
    contributions adding up to its output, and dependence curves. A regressor is never taken for a classifier
    (CatBoost's regressor carries an empty ``classes_``: /predict answered 500 and /explain failed)."""
    pipeline, raw, prepared, _ = apps[case]
    classes = classes_of(pipeline)
    assert (classes is None) == (prepared.task == "regression")
    rows = raw.head(4)
    with threadpool_limits(1):
        scored = score(LoadedModel(pipeline), rows, [])
        explanation = Explainer(pipeline, raw).explain(rows)
        curves = dependence_curves(pipeline, raw, ["a", "c"], rows=20)
    assert scored.predictions == list(pipeline.predict(rows))
    if classes is not None and hasattr(pipeline, "predict_proba"):
        assert [list(p) for p in scored.probabilities] == [[str(c) for c in classes]] * len(rows)
    else:
        assert scored.probabilities is None
    if explanation.explained_class is None:
        np.testing.assert_allclose(explanation.outputs, pipeline.predict(rows), rtol=1e-5, atol=1e-4)
    else:
        assert set(explanation.explained_class) <= {str(c) for c in classes}
    assert [c.column for c in curves] == ["a", "c"] and all(np.isfinite(c.average).all() for c in curves)


def test_class_weights_go_to_every_classifier_that_takes_them_and_nowhere_else():
    """Issue 15 point 12: the registry's class_weight flag is what the Train page's switch uses."""
    from pipeline_core.definition.registry import is_weighted, weighs_classes, with_class_weights
    from pipeline_core.definition.spec import ModelSpec

    kinds = models_for("classification")
    weighted = with_class_weights([{"kind": k} for k in kinds], True)
    for model in weighted:
        assert is_weighted(model["kind"], model["params"]) == weighs_classes(model["kind"])
        assert bool(model["params"]) == weighs_classes(model["kind"])
        estimator = MODELS[model["kind"]].estimators["classification"]()
        if weighs_classes(model["kind"]):
            estimator.set_params(**model["params"])  # the entry is honest: the estimator takes the parameter
        ModelSpec.model_validate(model)
    assert sum(weighs_classes(k) for k in kinds) >= 3 and weighs_classes("catboost")
    unweighted = with_class_weights(weighted, False)
    assert all(not m["params"] and not is_weighted(m["kind"], m["params"]) for m in unweighted)
