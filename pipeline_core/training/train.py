"""Train and compare models for a definition: K-fold CV, refit of the best, hold-out score.

``train`` is the one entry point the UI, the CLI and background jobs call. It never
mutates the definition; it reports progress through a callback and stops between
folds when ``cancel()`` turns true.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.metrics import check_scoring

from pipeline_core.compiler import target as tt
from pipeline_core.compiler.compile import compile_pipeline, gives_codes
from pipeline_core.compiler.prepare import Prepared, prepare
from pipeline_core.compiler.threshold import threshold_applies, with_threshold
from pipeline_core.definition import metrics as mt
from pipeline_core.definition.registry import (
    ENSEMBLE_KINDS,
    MODELS,
    THREAD_PARAMETERS,
    capped_n_jobs,
)
from pipeline_core.definition.spec import AutopilotPlan, ModelSpec, PipelineSpec, TuningPlan
from pipeline_core.errors import CancelledError, SpecError, StudioError
from pipeline_core.io.frames import training_values_sha256
from pipeline_core.training.autopilot import Clock, affordable_members, ensemble_fits, search
from pipeline_core.training.ensemble import (
    OutOfFold,
    ensemble_first,
    ensemble_rows,
    fold_output,
    refit_ensemble,
    selection_basis,
)
from pipeline_core.training.memory import map_large_blocks
from pipeline_core.training.progress import ModelSlice, ProgressCallback, Work, finished, refitting
from pipeline_core.training.provenance import provenance
from pipeline_core.training.results import (
    ModelScore,
    TrainResult,
    decision_threshold,
    folds_threshold,
    limit_rows,
)
from pipeline_core.training.rounds import refit_model, rounds_note, stopped_rounds
from pipeline_core.training.splits import cv_splitter, split_holdout
from pipeline_core.training.threads import fit_threads

Progress = Callable[..., None]  # (fraction, message, work=None): a step's own 0..1 progress; ModelSlice makes events
Cancel = Callable[[], bool]


def train(
    spec: PipelineSpec, frame: pd.DataFrame, progress: ProgressCallback | None = None, cancel: Cancel | None = None,
    *, n_jobs: int | None = None,
) -> TrainResult:
    """Compare the definition's models by CV, refit the best, score it once on the hold-out rows.

    With ``spec.autopilot`` and no recorded choices, the candidates come from a time-budgeted search
    (:mod:`pipeline_core.training.autopilot`) instead of ``spec.models``; the result's ``spec`` then records the
    configurations it chose, and a cancel keeps the best found so far instead of raising."""
    clock_start = time.perf_counter()
    progress = progress or (lambda event: None)
    cancel = cancel or (lambda: False)
    map_large_blocks()
    data = prepare(spec, frame)
    if data.task == "clustering":
        from pipeline_core.training.cluster import train_clustering

        if spec.autopilot is not None:
            raise SpecError("autopilot: it searches models that predict a target, and this definition clusters rows "
                            "(no target); choose a target, or train the clustering models without a time budget")

        return train_clustering(spec, data, progress, cancel)
    X_train, X_test, y_train, y_test = split_holdout(spec, data)
    metric = mt.primary_metric(data.task, spec.evaluation.metric, data.y)
    if X_test is not None:  # the split holds copies of every row now: free the full copy before fitting
        data = replace(data, X=data.X.iloc[:0].copy())  # a copy: an empty slice is a view that keeps every row
    plan, given = spec.autopilot, spec
    if plan is not None:  # the autopilot's candidates are scored as configured: its search replaces tuning
        spec = spec.model_copy(update={"tuning": TuningPlan()})
    oof = _out_of_fold(spec, data.task, X_train, y_train)
    report, found = list(data.report), None
    if plan is not None and not plan.chosen:
        clock = Clock(clock_start, plan.time_budget_seconds)
        score = partial(_scored, spec, data, X_train, y_train, n_jobs)
        found = search(plan, data.task, metric, score, oof, clock, progress, cancel, spec=spec,
                       n_folds=spec.evaluation.cv_folds,
                       skewed=data.task == "regression" and tt.skewed_positive(y_train))
        board, seconds, report = found.board, found.seconds, report + found.notes
        spec = spec.model_copy(update={"autopilot": found.plan})
    else:
        candidates = (plan.chosen if plan is not None else spec.models) or [
            spec.open_choices.model(k) for k in spec.open_choices.preselected(data.task, spec.steps)]
        board, seconds = [], {}
        for i, model in enumerate(candidates):
            step = ModelSlice(progress, i, len(candidates), model.kind)
            started = time.perf_counter()
            board.append(_score_model(spec, data, model, X_train, y_train, step, cancel, n_jobs, oof))
            seconds[model.kind] = time.perf_counter() - started
    candidates_count = len(board)
    if oof is not None:
        if found is not None:
            kept, notes = affordable_members(board, metric, spec, spec.evaluation.cv_folds, clock, spec.autopilot,
                                             found.per_score)
            spec, report = spec.model_copy(update={"autopilot": kept}), report + notes
        only = spec.autopilot.ensemble_members if spec.autopilot is not None else []
        rows, notes = ensemble_rows(board, oof, metric, spec, only=only)
        board, report = board + rows, report + notes
    selection, notes = _recorded_selection(spec.autopilot, oof, metric)
    board, ranked = ensemble_first(board, metric, selection)
    report += notes + ranked
    if found is not None:
        board, kept, notes = ensemble_fits(board, spec, spec.evaluation.cv_folds, clock, spec.autopilot)
        spec, report = spec.model_copy(update={"autopilot": kept}), report + notes
        searched = time.perf_counter()
    if board[0].error:
        raise StudioError(f"every model failed; first error: {board[0].model}: {board[0].error}")
    progress(refitting(candidates_count, board[0].model, f"refitting {board[0].label} on all training rows"))
    best = _refit_best(spec, data, board, oof, X_train, y_train, y_train)
    holdout = _score_holdout(best, data.task, X_test, y_test)
    served, refit_rows = best, None
    if spec.evaluation.refit_all and X_test is not None and len(X_test):
        X_all, y_all = pd.concat([X_train, X_test]), pd.concat([y_train, y_test])
        progress(refitting(candidates_count, board[0].model, f"refitting {board[0].label} on all {len(X_all):,} "
                                                             "rows (training and hold-out) for the saved model"))
        served, refit_rows = _refit_best(spec, data, board, oof, X_all, y_all, y_train, n_rows=len(X_train)), len(X_all)
    record = None
    if plan is not None:  # the definition as given, with the choices the search recorded
        spec = given.model_copy(update={"autopilot": spec.autopilot})
    if found is not None:
        ended = time.perf_counter()
        record = found.record.model_copy(update={
            "search_seconds": searched - clock_start, "refit_seconds": ended - searched,
            "total_seconds": ended - clock_start, "plan": spec.autopilot})
    progress(finished(candidates_count))
    return TrainResult(spec, data.task, data.task_reason, metric, board, served, holdout, data.schema,
                       report, X_test, y_test, provenance(spec, frame), training_rows=len(X_train),
                       model_seconds=seconds, holdout_pipeline=best if served is not best else None,
                       refit_rows=refit_rows, autopilot=record)


def _scored(spec: PipelineSpec, data: Prepared, X: pd.DataFrame, y: pd.Series, n_jobs: int | None,
            model: ModelSpec, progress: Progress, cancel: Cancel, oof: OutOfFold | None) -> ModelScore:
    """One autopilot candidate, scored exactly as a listed model is, so re-training the recorded choices
    reproduces its leaderboard rows."""
    return _score_model(spec, data, model, X, y, progress, cancel, n_jobs, oof)


def _refit_best(spec: PipelineSpec, data: Prepared, board: list[ModelScore], oof: OutOfFold | None, X: pd.DataFrame,
                y: pd.Series, y_train: pd.Series, n_rows: int | None = None) -> Any:
    """The leaderboard's winner fitted on ``X``; ``n_rows`` (default: all of ``X``) settles row-dependent choices,
    so a refit on every row builds the same pipeline as the model scored on the hold-out rows. An ensemble's
    stacker keeps learning from the training rows' out-of-fold predictions (``y_train``'s rows)."""
    if board[0].model in ENSEMBLE_KINDS:
        return refit_ensemble(spec, data.schema, data.task, board[0], board, oof, X, y, y_train, n_rows=n_rows)
    return _refit(spec, data, board[0], X, y, n_rows=n_rows)


def _out_of_fold(spec: PipelineSpec, task: str, X: pd.DataFrame, y: pd.Series) -> OutOfFold | None:
    """Where CV keeps the candidates' out-of-fold predictions, when the definition asks for ensembles (the
    evaluation plan's, or the autopilot's)."""
    wanted = spec.autopilot.ensemble if spec.autopilot is not None else spec.evaluation.ensemble
    if not wanted:
        return None
    labels = np.unique(np.asarray(y)) if task == "classification" else None
    return OutOfFold(task, labels, len(X), [test for _, test in cv_splitter(task, spec).split(X, y)],
                     y=np.asarray(y), rows=training_values_sha256(X) if spec.autopilot is not None else "")


def _score_model(
    spec: PipelineSpec, data: Prepared, model: ModelSpec, X: pd.DataFrame, y: pd.Series,
    progress: Progress, cancel: Cancel, n_jobs: int | None, oof: OutOfFold | None = None,
) -> ModelScore:
    entry = MODELS[model.kind]
    row = ModelScore(model=model.kind, label=entry.label, params=dict(model.params))
    try:
        model, note = tt.resolve(model, data.task, y)
        row.target_transform = model.target_transform
        if note:
            row.notes.append(note)
        pipeline = compile_pipeline(spec, data.schema, task=data.task, model=model, n_rows=len(X))
        if gives_codes(pipeline, model):
            why = ("for regression it splits on every level itself, where one-hot columns group the rare ones"
                   if data.task == "regression" else
                   f"with {len(X):,} training rows, one-hot columns would take several times the data's memory")
            row.notes.append(f"categories reach {entry.label.lower()} as one code column each, not one-hot "
                             f"columns: {why} (the one-hot step's 'boosting' option)")
        for name in THREAD_PARAMETERS:
            if name in model.params and capped_n_jobs(model.params[name]) != model.params[name]:
                row.notes.append(f"{name}={model.params[name]!r} ran as {capped_n_jobs(model.params[name])}: "
                                 "folds already run in parallel, so one fit gets one worker's share of the cores")
        X, y = limit_rows(entry, X, y, spec.evaluation.seed, row)
        if spec.tuning.method != "none" and (model.search or entry.search):
            _tune(pipeline, model, X, y, data.task, spec, row, _Within(progress, 0.0, TUNING_SHARE), cancel)
            progress = _Within(progress, TUNING_SHARE, 1.0)
        pipeline = _threshold(pipeline, spec, data.task, y, row)
        keep = oof if oof is not None and _keeps(oof, pipeline, len(X), model.kind) else None
        _cross_validate(pipeline, X, y, data.task, spec, row, progress, cancel, n_jobs, keep)
    except CancelledError:
        raise
    except Exception as e:  # noqa: BLE001 - one failing model must not lose the others
        row.error = f"{type(e).__name__}: {e}" if not isinstance(e, StudioError) else str(e)
    return row


TUNING_SHARE = 0.8  # of a tuned model's progress; the final CV takes the rest


def _tune(pipeline: Any, model: ModelSpec, X: pd.DataFrame, y: pd.Series, task: str, spec: PipelineSpec,
          row: ModelScore, progress: Progress, cancel: Cancel) -> None:
    """Search the model's space, fix the best params on ``pipeline`` and record the trials."""
    from pipeline_core.training.tuning import tune_with_history

    best, history = tune_with_history(pipeline, model, MODELS[model.kind], X, y, task, spec, progress, cancel)
    pipeline.set_params(**{f"{tt.model_prefix(pipeline)}{k}": v for k, v in best.items()})
    row.params.update(best)
    row.tuning_history = history.to_dict(orient="records")
    trials = int((history["trial"] > 0).sum())
    if not best and trials:
        row.notes.append(f"{spec.tuning.method} search tried {trials} setting(s) and none beat the untuned model on "
                         "the same folds, so the untuned model is kept")
        return
    row.notes.append(
        f"tuned by {spec.tuning.method} search over {trials} trials; its CV scores reuse the folds that "
        "chose the parameters, so only the hold-out score is unbiased"
    )


def _threshold(pipeline: Any, spec: PipelineSpec, task: str, y: pd.Series, row: ModelScore) -> Any:
    """The pipeline that tunes its decision threshold when the definition asks (two classes only, said otherwise)."""
    if task != "classification" or not spec.threshold.tune:
        return pipeline
    n_classes = int(y.nunique())
    if not threshold_applies(spec, n_classes):
        row.notes.append(f"the decision threshold is tuned for two-class targets only; this one has {n_classes} "
                         "classes, so the model predicts its most probable class")
        return pipeline
    return with_threshold(pipeline, spec, n_classes)


def _recorded_selection(plan: AutopilotPlan | None, oof: OutOfFold | None,
                        metric: str) -> tuple[list[float] | None, list[str]]:
    """The search's recorded nested selection, when it was scored on these folds, targets, features and metric;
    else ``None`` (the ensemble is compared with the single model's own fold scores), with a note saying why."""
    if plan is None or oof is None or not plan.selection_folds:
        return None, []
    if plan.selection_basis == selection_basis(oof, metric):
        return plan.selection_folds, []
    return None, ["the search's recorded selection scores were made on other data, folds or metric, so the "
                  "ensembles are compared with the best single model's own fold scores"]


def _keeps(oof: OutOfFold, pipeline: Any, n_rows: int, kind: str) -> bool:
    """Whether CV keeps this candidate's out-of-fold predictions; if not, the run's report says why."""
    why = oof.wants(pipeline, n_rows)
    if why is not None:
        oof.left_out[kind] = why
    return why is None


def _cross_validate(
    pipeline: Any, X: pd.DataFrame, y: pd.Series, task: str, spec: PipelineSpec, row: ModelScore,
    progress: Progress, cancel: Cancel, n_jobs: int | None, oof: OutOfFold | None = None,
) -> None:
    """K-fold CV, each fold a joblib task, so folds run in parallel and report as they finish; with ``oof``,
    each fold's predictions for its test rows are kept too."""
    names = mt.usable_metrics(task, pipeline)
    splits = list(cv_splitter(task, spec).split(X, y))
    jobs = (delayed(_fit_and_score)(clone(pipeline), X, y, tr, te, names, oof is not None,
                                     oof.labels if oof is not None else None, row.model) for tr, te in splits)
    results = []
    for result in Parallel(n_jobs=n_jobs, return_as="generator_unordered")(jobs):
        results.append(result)
        progress(len(results) / len(splits), f"{row.label}: fold {len(results)} of {len(splits)} done",
                 Work("cv", len(results), len(splits)))
        if cancel():
            raise CancelledError(f"cancelled while cross-validating {row.label}")
    # back in fold order: per-fold scores are shown fold by fold, and a mean summed in the order folds happened to
    # finish differs in its last bit between runs, so a re-run's leaderboard would not be the same
    fold_of = {int(te[0]): i for i, (_, te) in enumerate(splits)}
    results.sort(key=lambda r: fold_of[int(r[4][0])])
    for name in names:
        values = [r[0][name] for r in results]
        row.folds[name] = values
        row.metrics[name] = float(np.mean(values))
        row.metrics_std[name] = float(np.std(values))
    row.fit_seconds = float(np.mean([r[1] for r in results]))
    row.predict_seconds = float(np.mean([r[2] for r in results]))
    row.threshold = folds_threshold([r[3] for r in results])
    rounds = [r[6] for r in results]
    if rounds and all(n is not None for n in rounds):
        row.rounds = [int(n) for n in rounds]
        note = rounds_note(row, spec.evaluation)
        if note:
            row.notes.append(note)
    if oof is not None:
        oof.keep(row.model, [(r[4], r[5]) for r in results])


def _fit_and_score(pipeline: Any, X: Any, y: Any, train_idx: Any, test_idx: Any, names: list[str],
                   keep: bool = False, labels: np.ndarray | None = None, kind: str = "") -> tuple:
    import warnings

    with warnings.catch_warnings(), fit_threads():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        pipeline.fit(X.iloc[train_idx], y.iloc[train_idx])
        fitted = time.perf_counter()
        scores = check_scoring(pipeline, scoring=names)(pipeline, X.iloc[test_idx], y.iloc[test_idx])
        scored = time.perf_counter()
        outputs = fold_output(pipeline, X.iloc[test_idx], labels) if keep else None
    return ({k: float(v) for k, v in scores.items()}, fitted - start, scored - fitted,
            decision_threshold(pipeline), test_idx, outputs, stopped_rounds(kind, pipeline))


def _refit(spec: PipelineSpec, data: Prepared, row: ModelScore, X: pd.DataFrame, y: pd.Series,
           n_rows: int | None = None) -> Any:
    import warnings

    pipeline = compile_pipeline(spec, data.schema, task=data.task, model=refit_model(row, spec.evaluation),
                                n_rows=n_rows or len(X))
    X, y = limit_rows(MODELS[row.model], X, y, spec.evaluation.seed, ModelScore("", ""))
    if data.task == "classification":
        pipeline = with_threshold(pipeline, spec, int(y.nunique()))
    with warnings.catch_warnings(), fit_threads():
        warnings.simplefilter("ignore")
        return pipeline.fit(X, y)


def _score_holdout(pipeline: Any, task: str, X: pd.DataFrame | None, y: pd.Series | None) -> dict[str, float]:
    if X is None or len(X) == 0:
        return {}
    names = mt.usable_metrics(task, pipeline)
    with fit_threads():  # as in the folds: an OpenMP team of every core spins on a busy machine (1.7 s, not 0.04)
        scores = check_scoring(pipeline, scoring=names)(pipeline, X, y)
    return {k: float(v) for k, v in scores.items()}


class _Within:
    """Maps 0..1 progress of a sub-task into ``[low, high]`` of its parent's progress."""

    def __init__(self, progress: Progress, low: float, high: float):
        self.progress, self.low, self.high = progress, low, high

    def __call__(self, fraction: float, message: str, work: Work | None = None) -> None:
        self.progress(self.low + (self.high - self.low) * fraction, message, work)
