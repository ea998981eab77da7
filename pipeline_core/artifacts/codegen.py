"""Export a pipeline definition as a standalone Python script (pandas + scikit-learn + numpy).

The script is for users who leave the app: it reads the raw file, applies the same row
steps and column handling, builds the same ``ColumnTransformer`` and model with the same
parameters and seed, cross-validates on the same folds and fits. It is generated from the
compiled pipeline itself, so it cannot drift from what the app trains; our custom
transformers are written out as short, readable equivalents that compute the same numbers.

How each step appears is its registry entry's script form (``registry.STEP_ENTRIES``); a step
whose form is missing or does not fit its stage is refused, never left out of the script.
"""

from __future__ import annotations

import inspect
from typing import Any

from sklearn.pipeline import Pipeline

from pipeline_core.artifacts.constructors import Renderer
from pipeline_core.compiler.columns import ColumnInfo
from pipeline_core.compiler.compile import compile_pipeline
from pipeline_core.compiler.threshold import with_threshold
from pipeline_core.definition import metrics as mt
from pipeline_core.definition import standalone as sa
from pipeline_core.definition import steps as st
from pipeline_core.definition.registry import ENSEMBLE_KINDS, MODELS, STEP_ENTRIES
from pipeline_core.definition.spec import ModelSpec, PipelineSpec, load_spec
from pipeline_core.definition.stopping import EarlyStopping
from pipeline_core.errors import ModelError, SpecError
from pipeline_core.transformers import FramePreparer


def python_script(
    spec: PipelineSpec, schema: dict[str, ColumnInfo], task: str, model_kind: str, params: dict[str, Any],
    n_rows: int | None = None, n_classes: int | None = None, target_transform: str = "none",
) -> str:
    """The script's source; running it prints one JSON line with the CV scores (and hold-out scores).

    ``n_rows`` is the model's training rows: it settles choices the definition leaves to the data's size;
    ``n_classes`` the target's classes: a two-class model tunes its decision threshold when the definition says so;
    ``target_transform`` what the model was fitted to, as training settled it (never ``auto``: the script has no
    run to settle it in).
    """
    if task not in ("classification", "regression", "clustering"):
        raise SpecError(f"task: cannot generate a script for task '{task}'")
    transform = "none" if target_transform == "auto" else target_transform
    model = ModelSpec(kind=model_kind, params=params, target_transform=transform)
    pipeline = compile_pipeline(spec, schema, task=task, model=model, n_rows=n_rows)
    if task == "classification" and n_classes is not None:
        pipeline = with_threshold(pipeline, spec, n_classes)
    renderer = Renderer()
    body = renderer.render(pipeline, 1)
    folds_rounds = task != "clustering" and spec.evaluation.refit_rounds == "folds"
    stopping = MODELS[model_kind].early_stopping if folds_rounds else None
    if stopping is not None:
        renderer.imports.update(ROUNDS_IMPORTS)
    main = _main(spec, task, renderer, stopping is not None)
    parts = [
        _header(spec, model_kind, task),
        renderer.import_block() + "\n\n" + _constants(spec, pipeline, task, model_kind),
        *renderer.helpers(),
        _TRAINING_ROWS.replace("$ROW_STEPS", _row_steps(spec, schema)),
        f"def build_pipeline():\n    return {body}\n",
        *([_rounds_helpers(stopping)] if stopping is not None else []),
        *_rule_helpers(spec),
        main,
    ]
    return "\n\n\n".join(part.strip("\n") for part in parts) + "\n"


def script_from_metadata(metadata: dict[str, Any]) -> str:
    """The script for a saved model, from the definition, column types, model and params it records."""
    if not all(metadata.get(key) for key in ("definition", "schema", "task", "model")):
        raise ModelError("this model file does not record its definition and column types, so no script can be "
                         "generated (it was not saved by Pipeline Studio); export it as skops instead")
    if metadata["model"] in ENSEMBLE_KINDS:
        raise ModelError(f"this model is an ensemble ({metadata['model']}) of several pipelines, and the script "
                         "retrains one model; export it as skops, a bundle or MLflow instead")
    schema = {c: ColumnInfo(c, info["type"], info.get("reason", "")) for c, info in metadata["schema"].items()}
    classes = metadata.get("classes")
    return python_script(load_spec(metadata["definition"]), schema, metadata["task"], metadata["model"],
                         metadata.get("params") or {}, n_rows=metadata.get("training_rows"),
                         n_classes=len(classes) if classes else None,
                         target_transform=metadata.get("target_transform") or "none")


# ---- what the script says and defines ----------------------------------------------------------------


def _header(spec: PipelineSpec, model_kind: str, task: str) -> str:
    """The docstring: only our own words, never the user's.

    The pipeline name, the data file name and its hash are user text (typed in the UI, read from an
    imported pipeline.json, a file name on the CLI): inside a docstring a triple quote would end it and
    run the rest as code, and a backslash would be an escape. They are constants in :func:`_constants`,
    written with ``repr()``, which no string can break out of.
    """
    return f'''"""{MODELS[model_kind].label} ({task}), exported from Pipeline Studio.

PIPELINE_NAME and TRAINED_ON below name the pipeline and the file it was trained on.
Run:  python this_script.py DATA_FILE

It reads the file with pandas, applies the same column handling and row steps, builds the
same preprocessing and model (same parameters and seed), cross-validates on the same folds
and fits on the training rows, then prints one JSON line with the scores. Needs only pandas,
numpy and scikit-learn (the version the model was trained with gives identical scores).
"""'''


def _constants(spec: PipelineSpec, pipeline: Pipeline, task: str, model_kind: str) -> str:
    prepare: FramePreparer = pipeline[0]
    raw_target = next((raw for raw, new in spec.columns.rename.items() if new == spec.target), spec.target)
    plan, entry = spec.evaluation, MODELS[model_kind]
    lines = [  # every user string and number as a literal (repr), never raw: see ``_header``
        f"PIPELINE_NAME = {sa.literal(spec.name)}",
        f"TRAINED_ON = {sa.literal(spec.data.file_name or None)}",
        f"TRAINED_ON_SHA256 = {sa.literal(spec.data.sha256 or None)}",
        f"DATA_FILE = {sa.literal(spec.data.file_name or 'data.csv')}",
        f"TARGET = {spec.target!r}",
        f"RAW_TARGET = {raw_target!r}  # the target's name in the file",
        f"RENAME = {sa.literal(dict(spec.columns.rename))}",
        f"SELECT = {sa.literal(spec.columns.select)}  # None keeps every column",
        f"FEATURES = {sa.literal(dict(prepare.types or {}))}  # column -> how it is read",
        f"MODEL = {model_kind!r}",
        f"SEED = {sa.literal(plan.seed)}",
        f"FOLDS = {sa.literal(plan.cv_folds)}",
        f"HOLDOUT = {sa.literal(plan.holdout)}",
        f"STRATIFY = {sa.literal(plan.stratify)}",
        f"MAX_ROWS = {sa.literal(entry.max_rows)}  # above this, train on a sample: {entry.limit_reason}",
        f"METRICS = {sa.literal(mt.usable_metrics(task, pipeline)) if task != 'clustering' else []}",
        f"METRIC = {sa.literal(spec.evaluation.metric)}" + ("  # chosen from the target, as the app does" if
                                                  spec.evaluation.metric == "auto" else ""),
        "QUALITY_RULES = " + sa.literal([(f"{r.describe()} on {r.column}", r.model_dump(mode="json"))
                                          for r in spec.rules]) + "  # checked on the file, reported, not applied",
    ]
    return "\n".join(lines) + "\n"


def _rule_helpers(spec: PipelineSpec) -> list[str]:
    """The rule checks, when the definition has rules or a step that filters by one."""
    uses = spec.rules or any(isinstance(step, st.KeepRowsPassingRule) for step in spec.steps)
    return [sa.RULE_CHECKS] if uses else []


def _row_steps(spec: PipelineSpec, schema: dict[str, ColumnInfo]) -> str:
    """The row steps as statements on ``data``, each from its registry entry's script form."""
    types = {column: info.type for column, info in schema.items()}
    lines = []
    for step in spec.steps:
        entry = STEP_ENTRIES.get(step.kind)
        if entry is None:
            raise SpecError(f"steps: '{step.kind}' has no registry entry, so no script form")
        form = entry.script
        if isinstance(form, sa.RowCode):
            lines.append(form.write(step, types))
        elif isinstance(step, st.RowStep) and not isinstance(form, sa.InTemplate):
            raise SpecError(f"steps: row step '{step.kind}' needs a RowCode or InTemplate script form")
    return "\n    ".join(lines) if lines else "pass  # no row steps"


_TRAINING_ROWS = '''
def read_table(path):
    """Read the raw file with pandas (CSV/TSV, Excel, Parquet or JSON, by extension)."""
    suffix = Path(path).suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return pd.read_excel(path)
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if suffix in (".json", ".jsonl", ".ndjson"):
        return pd.read_json(path, lines=suffix != ".json")
    return pd.read_csv(path, sep="\\t" if suffix == ".tsv" else ",")


def training_rows(frame):
    """Column slicing and row steps, as in the app; they run on training data only, never at predict time."""
    frame = frame.reset_index(drop=True)
    data = frame.rename(columns=RENAME)
    if SELECT is not None:
        data = data[SELECT + ([TARGET] if TARGET and TARGET not in SELECT else [])]
    $ROW_STEPS
    if TARGET is None:
        return frame.loc[data.index], None
    target = data[TARGET]
    unusable = target.isna()
    if pd.api.types.is_numeric_dtype(target) and not pd.api.types.is_bool_dtype(target):
        unusable |= ~np.isfinite(target.astype(float).fillna(0))
    data = data[~unusable]
    return frame.loc[data.index].drop(columns=[RAW_TARGET]), data[TARGET]


def prepare_columns(frame):
    """Rename, select and cast the raw columns so every later step sees stable types."""
    frame = frame.rename(columns=RENAME)
    missing = [column for column in FEATURES if column not in frame.columns]
    if missing:
        raise ValueError(f"the data lacks column(s) the model needs: {', '.join(missing)}")
    return pd.DataFrame({column: cast(frame[column], kind) for column, kind in FEATURES.items()}, index=frame.index)


def cast(column, kind):
    if kind == "numeric":  # text that is not a number, infinities and values beyond float32 become missing
        values = pd.to_numeric(column, errors="coerce").astype("float64")
        return values.where(np.isfinite(values) & (values.abs() <= np.finfo(np.float32).max))
    if kind == "text":
        return column.astype("object").where(column.notna(), "").astype(str)
    if kind == "datetime":
        return column
    labels = column.astype("object").where(column.isna(), column.astype(str))  # categories are strings
    return labels.where(column.notna(), np.nan)


def limit_rows(X, y):
    """Models that scale badly train on a fixed random sample of MAX_ROWS rows, as in the app."""
    if MAX_ROWS is None or len(X) <= MAX_ROWS:
        return X, y
    rows = np.random.default_rng(SEED).choice(len(X), size=MAX_ROWS, replace=False)
    return X.iloc[rows], (y.iloc[rows] if y is not None else None)
'''


def _rounds_helpers(stopping: EarlyStopping) -> str:
    """The refit's rounds as the app fixes them (``training.rounds``): the family's own reading of a fitted model's
    stopped rounds (its source, from ``definition.stopping``), and the mean of the folds' set on the final fit."""
    reader = inspect.getsource(stopping.stopped).strip("\n")
    return (f"ROUNDS = {stopping.rounds!r}  # the parameter that counts the model's rounds\n"
            f"STOPPING_OFF = {sa.literal(stopping.off)}  # the values that fit them on every row (None: left out)\n\n\n"
            f"{reader}\n\n\n{_FIXED_ROUNDS.replace('$READER', stopping.stopped.__name__)}")


_FIXED_ROUNDS = '''
def fixed_rounds(pipeline, fitted_folds):
    """As in the app: a model that stopped early in every fold (on rows it held aside) fits the folds' mean rounds
    on every training row instead, holding none aside; otherwise the pipeline as it is."""
    def model_of(step):  # through the decision threshold's and the target transform's wrappers
        step = step.estimator_ if isinstance(step, TunedThresholdClassifierCV) else step
        return step.regressor_ if isinstance(step, TransformedTargetRegressor) else step

    rounds = [$READER(model_of(fitted[-1])) for fitted in fitted_folds]
    if not rounds or any(n is None for n in rounds):
        return pipeline
    path, model = "model", pipeline[-1]
    if isinstance(model, TunedThresholdClassifierCV):
        path, model = path + "__estimator", model.estimator
    if isinstance(model, TransformedTargetRegressor):
        path, model = path + "__regressor", model.regressor
    mean = max(1, int(round(float(np.mean(rounds)))))
    params = {**model.get_params(deep=False), ROUNDS: mean, **STOPPING_OFF}
    # rebuilt rather than set: a parameter stopping leaves unset (None) must be left out (CatBoost would hold
    # aside a share of None)
    params = {k: v for k, v in params.items() if not (k in STOPPING_OFF and v is None)}
    return pipeline.set_params(**{path: type(model)(**params)})'''
ROUNDS_IMPORTS = ("from sklearn.compose import TransformedTargetRegressor",
                  "from sklearn.model_selection import TunedThresholdClassifierCV")


def _main(spec: PipelineSpec, task: str, renderer: Renderer, stops: bool = False) -> str:
    if task == "clustering":
        renderer.imports.add("from sklearn.metrics import silhouette_score")
        return _MAIN_HEAD + _CLUSTERING_MAIN + _MAIN_TAIL
    splitter = "StratifiedKFold" if task == "classification" and spec.evaluation.stratify else "KFold"
    renderer.imports |= {"from sklearn.metrics import get_scorer",
                         f"from sklearn.model_selection import {splitter}, cross_validate, train_test_split"}
    stratify = "y if STRATIFY else None" if task == "classification" else "None"
    if spec.evaluation.metric != "auto":
        metric = "METRIC"
    elif task == "classification":  # the app's rule: balanced accuracy when a class is rare
        metric = '"balanced_accuracy" if y.value_counts(normalize=True).min() < 0.2 else "accuracy"'
    else:
        metric = '"r2"'
    code = _SUPERVISED_MAIN.replace("$SPLITTER", splitter).replace("$STRATIFY", stratify).replace(
        "$KEEP_FOLDS", _KEEP_FOLDS if stops else "").replace("$FIX_ROUNDS", _FIX_ROUNDS if stops else "")
    return _MAIN_HEAD + code.replace("$METRIC", metric) + _MAIN_TAIL


_MAIN_HEAD = '''
def main(path):
    frame = read_table(path)
    X, y = training_rows(frame)
    pipeline = build_pipeline()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence and similar warnings, as in the app'''

_SUPERVISED_MAIN = '''
        metric = $METRIC
        X_test = y_test = None
        if HOLDOUT > 0:
            X, X_test, y, y_test = train_test_split(X, y, test_size=HOLDOUT, random_state=SEED, stratify=$STRATIFY)
        X, y = limit_rows(X, y)
        folds = $SPLITTER(n_splits=FOLDS, shuffle=True, random_state=SEED)
        scores = cross_validate(pipeline, X, y, cv=folds, scoring=METRICS$KEEP_FOLDS)$FIX_ROUNDS
        pipeline.fit(X, y)
        report = {
            "model": MODEL, "metric": metric, "folds": FOLDS, "seed": SEED,
            "cv": {name: float(np.mean(scores[f"test_{name}"])) for name in METRICS},
            "cv_std": {name: float(np.std(scores[f"test_{name}"])) for name in METRICS},
        }
        if X_test is not None:
            report["holdout"] = {name: float(get_scorer(name)(pipeline, X_test, y_test)) for name in METRICS}'''

# with a family that can stop early, the folds' fitted models are kept to read their rounds (``fixed_rounds``)
_KEEP_FOLDS = ", return_estimator=True"
_FIX_ROUNDS = '\n        pipeline = fixed_rounds(pipeline, scores["estimator"])'

_CLUSTERING_MAIN = '''
        X, _ = limit_rows(X, None)
        labels = pipeline.fit_predict(X)
        features = pipeline[:-1].transform(X)
    features = features.toarray() if hasattr(features, "toarray") else np.asarray(features)
    sample = min(5000, len(labels))
    report = {
        "model": MODEL, "metric": "silhouette", "clusters": len(set(labels) - {-1}),
        "silhouette": float(silhouette_score(features, labels, sample_size=sample, random_state=SEED)),
    }'''

_MAIN_TAIL = '''
    if QUALITY_RULES:
        report["rule_violations"] = rule_report(frame)
    print(json.dumps(report))
    return pipeline


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else DATA_FILE)
'''
