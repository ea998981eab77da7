"""Train: choose candidate models and how to compare them, then train in the background and watch.

Training runs as a job outside the page (``pages.jobs``): the page records the choices in
the definition, submits, and polls the run row once a second. Changing page, closing the
tab or refreshing loses nothing; coming back shows the same run.
"""

from __future__ import annotations

from typing import Any, get_args

import pandas as pd
import streamlit as st

from pages import audit_tabs, charts, common, jobs, registration, session
from pipeline_core.compiler.compile import compile_pipeline
from pipeline_core.compiler.prepare import prepare
from pipeline_core.definition import metrics, registry
from pipeline_core.definition.choices import ThresholdMetric, TuningMethod
from pipeline_core.definition.spec import MAX_SEED, MIN_AUTOPILOT_SECONDS, PipelineSpec, load_spec
from pipeline_core.errors import SpecError, StudioError
from pipeline_core.training.autopilot import families, given_way
from pipeline_core.training.progress import progress_event
from pipeline_core.training.results import AutopilotRecord, run_summary
from pipeline_core.training.tuning import HALVING_FACTOR, halving_rounds
from studio import limits, training
from studio.errors import FAILURES
from studio.limits import format_bytes
from studio.pipelines import saved_version_id
from studio.runs import RunStatus, get_run
from studio.settings import settings

TUNING_LABELS: dict[TuningMethod, str] = {  # one per TuningMethod; a test keeps them in step
    "none": "None: registry defaults",
    "grid": "Grid search",
    "random": "Random search",
    "halving": "Successive halving",
    "optuna": "Optuna (TPE)",
}
ACTIVE = training.ACTIVE
RERUNNABLE = (RunStatus.INTERRUPTED, RunStatus.FAILED, RunStatus.CANCELLED)  # interrupted: closed by an older version
PAGE = "train"
POLL_SECONDS = 1
MIN_TUNING_MINUTES = 0.5  # a shorter search rarely finishes one trial on real data


def main() -> None:
    common.run_inside_app()
    st.header("Train")
    st.caption("Candidate models are compared by K-fold cross-validation on the training rows; the best is "
               "refitted and scored once on the hold-out rows it never saw, then (by default) refitted on every "
               "row for the saved model.")
    frame = common.require_frame()
    spec = common.current_spec()
    if not _has_target(spec):
        return
    checked = _task(spec, frame)
    if checked is None:
        return
    task, n_classes = checked
    run = _session_run()
    if run is not None:
        _run_panel(run, task)
        spec = common.current_spec()  # a finished search has just recorded its choices in it
    label = "Models and evaluation" if run is None else "Change models or settings and train again"
    with st.expander(label, expanded=run is None, icon=":material/tune:"):
        _settings_form(spec, task, n_classes, busy=run is not None and run.status in ACTIVE)
    if task in ("classification", "regression"):
        audit_tabs.balance_before_training(spec, frame, common.active_dataset().sha256)


def _has_target(spec: PipelineSpec) -> bool:
    if spec.target is not None or spec.task == "clustering":
        return True
    st.info("Choose the column to predict (the target) on the **Features** page first. "
            "To group rows without a target, set the task to clustering there.", icon=":material/target:")
    st.page_link("pages/features.py", label="Go to Features", icon=":material/tune:")
    return False


@st.cache_data(max_entries=32, show_spinner="Checking the target…")
def _task_check(dataset_sha: str, spec_json: str, _frame: pd.DataFrame) -> tuple[str, str, list[str], int]:
    """The task training will run, the data warnings and the target's number of classes, cached per
    (data, definition).

    The preprocessing is compiled here too, so a definition no model could train on (a text
    column nothing encodes, say) is refused before Start, not by a failed run."""
    spec = load_spec(spec_json)
    data = prepare(spec, _frame)
    compile_pipeline(spec, data.schema, task=data.task)
    n_classes = int(data.y.nunique()) if data.task == "classification" and data.y is not None else 0
    return data.task, data.task_reason, data.report, n_classes


def _task(spec: PipelineSpec, frame: pd.DataFrame) -> tuple[str, int] | None:
    """The task and the target's number of classes (0 unless classification), or ``None`` after saying why not."""
    dataset = common.active_dataset()
    try:
        task, reason, report, n_classes = _task_check(dataset.sha256, spec.to_json(), frame)
    except SpecError as e:  # the steps cannot build a model input
        common.show_error(e)
        st.page_link("pages/clean.py", label="Fix the steps on Clean", icon=":material/cleaning_services:")
        return None
    except StudioError as e:
        common.show_error(e)
        st.page_link("pages/features.py", label="Fix it on Features", icon=":material/tune:")
        return None
    target = f" of **{spec.target}**" if spec.target else ""
    st.markdown(f"Task{target}: **{task}** — {reason}.")
    for line in report:
        if not line.startswith("dropped 0 "):  # a step that removed nothing has nothing to say
            st.caption(line)
    return task, n_classes


def _session_run() -> Any | None:
    """This session's run; a new session (a refresh, another tab) picks up a run still going on its dataset."""
    run_id, dataset_id = session.run_id(), session.dataset_id()
    if run_id is None and dataset_id is not None:
        active = training.active_run_on(session.actor(), dataset_id)
        if active is not None:
            run_id = active.id
            session.set_run_id(run_id)
    return get_run(session.actor(), run_id) if run_id is not None else None


# ---- settings ---------------------------------------------------------------------------------------


def _settings_form(spec: PipelineSpec, task: str, n_classes: int, *, busy: bool) -> None:
    options = registry.models_for(task)
    preselected = spec.open_choices.preselected(task, spec.steps)
    chosen = [m.kind for m in spec.models if m.kind in options] or preselected
    usual = registry.default_models(task)
    swaps = [f"With TF-IDF text columns, *{_model_label(new)}* is preselected instead of *{_model_label(old)}*: it "
             "reads the sparse word columns as they are, many times faster."
             for old, new in zip(usual, preselected, strict=True) if old != new]  # first: the list below is long
    autopilot_note = "Not used by the autopilot, which searches every model family it has a portfolio for."
    with st.form("train_settings"):
        autopilot = _autopilot_inputs(spec, task)
        kinds = st.multiselect("Candidate models", options, default=chosen, format_func=_model_label,
                               key="train_models", help="\n\n".join([*swaps, _models_help(options), autopilot_note]))
        evaluation = _evaluation_inputs(spec, task)
        balanced = _class_weight_input(spec, task, options)
        threshold = _threshold_inputs(spec, n_classes)
        tuning = _tuning_inputs(spec, task)
        label = "Training is running…" if busy else "Start training"
        submitted = st.form_submit_button(label, type="primary", icon=":material/play_arrow:", key="train_start",
                                          disabled=busy)
    _jobs_in_use()
    if submitted:
        _start(spec, kinds, evaluation, tuning, balanced, threshold, autopilot)


AUTOPILOT_HELP = (
    "Instead of comparing the candidate models as they are, search for the best model the time buys: each model "
    "family's strong settings first (cheapest family first), then a search across families and their settings, "
    "every candidate cross-validated with its preprocessing inside the folds. The time includes refitting the "
    "winner, and Cancel stops the search and keeps the best model found so far. The configurations it chose are "
    "saved in the pipeline, so training it again re-trains exactly those (same leaderboard with the same seed) "
    "until you ask for a new search. Hyperparameter tuning below is not used.")


def _text_families_note(spec: PipelineSpec, task: str) -> str:
    """Which families the autopilot leaves out over this pipeline's TF-IDF columns (empty when it searches them
    all)."""
    give_way = given_way(spec, task)
    if not give_way:
        return ""
    return (f"\n\nOver this pipeline's TF-IDF text columns it leaves out "
            f"{' and '.join(f'*{_model_label(k)}*' for k in give_way)}: "
            f"*{_model_label(registry.MODELS[give_way[0]].with_text)}* reads the sparse word columns as they are, many "
            "times faster.")


def _autopilot_inputs(spec: PipelineSpec, task: str) -> tuple[float | None, bool]:
    """The autopilot's time budget in seconds (``None``: compare the candidate models) and whether to search again
    although the pipeline recorded a search's choices."""
    if task == "clustering":
        return None, False
    plan = spec.autopilot
    on, budget = st.columns([3, 2], vertical_alignment="bottom")
    wanted = on.checkbox("Best model in a time budget (autopilot)", plan is not None, key="train_autopilot",
                         help=AUTOPILOT_HELP + _text_families_note(spec, task))
    most = settings().max_tuning_minutes
    least = min(MIN_AUTOPILOT_SECONDS / 60, most)
    current = min(max(plan.time_budget_seconds / 60 if plan is not None else 5.0, least), most)
    minutes = budget.number_input("Time budget (min)", least, most, float(current), step=1.0, format="%.1f",
                                  key="train_budget", help=f"The whole run, final refits included, ends within about "
                                  f"10% of this; this server allows at most {most:g} min.")
    again = False
    if plan is not None and plan.chosen:
        shown = ", ".join(_model_label(m.kind) for m in plan.chosen)
        again = st.checkbox("Search again", False, key="train_search_again",
                            help="Start a new search within the budget instead of re-training the recorded "
                                 "configurations.")
        st.caption(f"This pipeline records the {len(plan.chosen)} configurations its last search chose ({shown}): "
                   "training re-trains exactly those. Tick **Search again** for a new search.")
    return (float(minutes) * 60 if wanted else None), again


def _class_weight_input(spec: PipelineSpec, task: str, options: list[str]) -> bool:
    """Class weighting for classifiers (issue 15 point 12): on when the definition's models already weigh."""
    if task != "classification":
        return False
    current = any(registry.is_weighted(m.kind, m.params) for m in spec.models)
    takes = ", ".join(_model_label(k) for k in options if registry.weighs_classes(k))
    ways: dict[str, list[str]] = {}  # each library's own parameter, as the registry names it
    for kind in options:
        if weighs := registry.class_weights(kind):
            ways.setdefault(", ".join(f"{k}={v!r}" for k, v in weighs.items()), []).append(_model_label(kind))
    said = "; ".join(how if i == 0 else f"{', '.join(labels)}: {how}" for i, (how, labels) in enumerate(ways.items()))
    return st.checkbox("Weight classes by their rarity", current, key="train_class_weight",
                       help=f"Rare classes count as much as common ones while fitting ({said}): usually better "
                            f"balanced accuracy and recall on the rare class, at some cost in plain accuracy. "
                            f"Applies to: {takes}; other models train as they are.")


THRESHOLD_HELP = (
    "A classifier predicts the second class when its probability reaches 0.5, which on an imbalanced target "
    "favours the common class. With this on, every fit also cross-validates the model on its own training rows "
    "({folds} folds) and keeps the threshold whose out-of-fold predictions score best on the chosen metric "
    "(scikit-learn's TunedThresholdClassifierCV). The hold-out rows and each CV fold's test rows are never used to "
    "choose it. The threshold is saved inside the model, so Predict, the bundle, MLflow and the Python script "
    "apply it; ONNX export cannot. Fitting takes about {cost}× as long.")


def _threshold_inputs(spec: PipelineSpec, n_classes: int) -> dict[str, Any]:
    """Decision threshold tuning (issue 15 point 12), offered for two-class targets only; kept as it is otherwise."""
    plan = spec.threshold.model_dump()
    if n_classes != 2:
        return plan
    on, metric = st.columns([3, 2], vertical_alignment="bottom")
    plan["tune"] = on.checkbox("Tune the decision threshold on CV predictions", plan["tune"], key="train_threshold",
                               help=THRESHOLD_HELP.format(folds=plan["cv_folds"], cost=plan["cv_folds"] + 1))
    names = list(get_args(ThresholdMetric))
    plan["metric"] = metric.selectbox("Threshold chosen for", names, index=names.index(plan["metric"]),
                                      format_func=_metric_label, key="train_threshold_metric",
                                      help="The metric the threshold maximises on the out-of-fold predictions "
                                           "(used only when threshold tuning is on).")
    st.caption("Two classes: instead of predicting the second class from probability 0.5, pick the cut-off that "
               "scores best on out-of-fold predictions of the training rows (never the hold-out rows). Useful "
               "when one class is rare; the threshold is saved in the model. Not exportable to ONNX.")
    return plan


def _jobs_in_use() -> None:
    """Say what this user holds against their limits (jobs, files), before a start is refused for it."""
    used = limits.usage(session.actor(), session.owner())
    parts = []
    if used.jobs:
        cap = f"of at most {used.limits.max_jobs} " if used.limits.max_jobs is not None else ""
        parts.append(f"You have {used.jobs} {cap}jobs queued or running.")
    if used.limits.max_storage_bytes is not None:
        parts.append(f"Your files take {format_bytes(used.storage_bytes)} of at most "
                     f"{format_bytes(used.limits.max_storage_bytes)}.")
    if parts:
        st.caption(" ".join(parts))


def _model_label(kind: str) -> str:
    return registry.MODELS[kind].label


def _models_help(options: list[str]) -> str:
    lines = []
    for kind in options:
        entry = registry.MODELS[kind]
        limit = f" Above {entry.max_rows:,} rows it trains on a sample." if entry.max_rows else ""
        lines.append(f"- **{entry.label}**: {entry.help or 'no notes.'}{limit}")
    return "\n".join(lines)


def _metric_label(name: str) -> str:
    return "Auto" if name == "auto" else metrics.LABELS.get(name, name)


def _evaluation_inputs(spec: PipelineSpec, task: str) -> dict[str, Any]:
    plan = spec.evaluation.model_dump()
    if task == "clustering":
        st.caption("Clustering fits each model once on all rows and ranks them by silhouette.")
        plan["seed"] = st.number_input("Random seed", 0, MAX_SEED, plan["seed"], key="train_seed")
        return plan
    folds, holdout, metric, seed = st.columns(4)
    plan["cv_folds"] = folds.number_input("CV folds", 2, 20, plan["cv_folds"], key="train_folds")
    plan["holdout"] = holdout.slider("Hold-out share", 0.0, 0.5, float(plan["holdout"]), 0.05, key="train_holdout",
                                     help="Rows set aside before cross-validation and scored once at the end.")
    names = ["auto", *metrics.metrics_for(task)]
    current = plan["metric"] if plan["metric"] in names else "auto"
    plan["metric"] = metric.selectbox("Ranking metric", names, index=names.index(current),
                                      format_func=_metric_label, key="train_metric",
                                      help="Auto: accuracy, or balanced accuracy when a class is under 20%; "
                                           "R² for regression.")
    plan["seed"] = seed.number_input("Random seed", 0, MAX_SEED, plan["seed"], key="train_seed")
    if task == "classification":
        plan["stratify"] = st.checkbox("Stratify folds and hold-out by class", plan["stratify"], key="train_stratify")
    plan["refit_all"] = st.checkbox(
        "Refit the saved model on all rows", plan["refit_all"], key="train_refit_all",
        help="After the hold-out score is reported, the best model is refitted on the training and hold-out rows "
             "together, and that model is saved and served. Hold-out scores, charts and audits keep using the "
             "model trained without those rows, so they stay honest.")
    folds_rounds = st.checkbox(
        "Refit boosting that stopped early with its folds' rounds", plan["refit_rounds"] == "folds",
        key="train_refit_rounds",
        help="Boosting that stops early holds a share of its rows aside (a tenth by default) to choose its "
             "rounds. Checked, the final model fits the mean of the rounds its cross-validation folds stopped at, "
             "on every row; unchecked, it stops again on a share of the rows it is refitted on (what pipelines "
             "saved before did).")
    plan["refit_rounds"] = "folds" if folds_rounds else "stopping"
    plan["ensemble"] = st.checkbox(
        "Also try ensembles of the models", plan["ensemble"], key="train_ensemble",
        help="Combines the models' cross-validation predictions (never the hold-out rows) two ways: a weighted "
             "average chosen greedily (a model picked 3 times weighs 3) and a stacked linear model. Each is ranked "
             "like any model; if one wins, its members are refitted once each and saved as one model. "
             "Not exportable to ONNX or as a Python script.")
    return plan


def _tuning_inputs(spec: PipelineSpec, task: str) -> dict[str, Any]:
    plan = spec.tuning.model_dump()
    if task == "clustering":
        return plan
    method, trials, limit = st.columns(3)
    names = list(get_args(TuningMethod))
    plan["method"] = method.selectbox("Hyperparameter tuning", names, index=names.index(plan["method"]),
                                      format_func=TUNING_LABELS.get, key="train_tuning",
                                      help="Searches each model's space from the registry, scored by the same "
                                           "folds and metric as the leaderboard.")
    plan["n_trials"] = trials.number_input("Trials per model", 1, 10_000, plan["n_trials"], key="train_trials")
    most = settings().max_tuning_minutes
    least = min(MIN_TUNING_MINUTES, most)  # an administrator may allow less than the usual floor
    current = min(max(plan["timeout_seconds"] / 60, least), most)
    minutes = limit.number_input("Time limit per model (min)", least, most, current, step=1.0,
                                 key="train_timeout", help=f"A search stops at this limit with the best "
                                 f"candidate so far; this server allows at most {most:g} min per model.")
    plan["timeout_seconds"] = float(minutes) * 60
    if plan["method"] != "none":
        st.caption(f"Tuning stops after **{minutes:g} min** per model, or after {plan['n_trials']:,} trials, "
                   f"whichever comes first (server maximum: {most:g} min).")
    if plan["method"] == "halving":
        st.caption(_halving_text(int(plan["n_trials"])))
    return plan


def _halving_text(budget: int) -> str:
    """What successive halving does with the trial budget: every scoring, on some rows or all, is one trial."""
    rounds = halving_rounds(budget)
    if len(rounds) == 1:
        return (f"Successive halving with {budget:,} trial(s) scores {budget:,} candidate(s) on all rows, "
                "like random search.")
    parts = []
    for i, size in enumerate(rounds):
        share = "all rows" if i == len(rounds) - 1 else f"1/{HALVING_FACTOR ** (len(rounds) - 1 - i)} of the rows"
        parts.append(f"{size:,} candidates on {share}" if i == 0 else f"the best {size:,} on {share}")
    return (f"Successive halving spends the {budget:,} trials in {len(rounds)} rounds: {', then '.join(parts)}. "
            "Each scoring counts as one trial; only scores on all rows choose the winner.")


def _with_choices(spec: PipelineSpec, kinds: list[str], evaluation: dict, tuning: dict,
                  balanced: bool = False, threshold: dict | None = None) -> PipelineSpec:
    """The definition with these models and plans; models already configured keep their parameters."""
    existing = {m.kind: m.model_dump(mode="json") for m in spec.models}
    data = spec.to_dict()
    data["models"] = registry.with_class_weights([existing.get(kind, {"kind": kind}) for kind in kinds], balanced)
    data["evaluation"], data["tuning"] = evaluation, tuning
    if threshold is not None:
        data["threshold"] = threshold
    return load_spec(data)


def _start(spec: PipelineSpec, kinds: list[str], evaluation: dict, tuning: dict, balanced: bool = False,
           threshold: dict | None = None, autopilot: tuple[float | None, bool] = (None, False)) -> None:
    budget, again = autopilot
    if not kinds and budget is None:
        st.error("Pick at least one candidate model.", icon=":material/error:")
        return
    try:
        updated = _with_choices(spec, kinds or [m.kind for m in spec.models], evaluation, tuning, balanced, threshold)
        updated = training.with_autopilot(updated, budget, search_again=again)
        common.set_spec(updated)
        run_id = jobs.submit_training(updated, session.dataset_id(),
                                      pipeline_version_id=_saved_version_id(updated))
    except FAILURES as e:
        common.show_error(e)
        return
    session.set_run_id(run_id)
    st.rerun()


def _saved_version_id(spec: PipelineSpec) -> int | None:
    """The stored version this exact definition was saved as, so the run is linked to it."""
    editing = session.editing()
    return saved_version_id(session.actor(), spec, editing.pipeline_id, editing.version)


# ---- the run ------------------------------------------------------------------------------------------


def _run_panel(run: Any, task: str) -> None:
    if run.status in ACTIVE:
        _live_progress(run.id, task)
        return
    trained_for = run_summary(run).task if run.status == RunStatus.DONE else None
    if trained_for and trained_for != task:  # the task changed since: the old summary would read as this one's
        st.info(f"Your last run, #{run.id}, was a **{trained_for}** run; the pipeline is now set up for "
                f"**{task}**. Start training below to get {task} results.", icon=":material/swap_horiz:")
        with st.expander(f"Run #{run.id} ({trained_for})", icon=":material/history:"):
            _finished(run)
        return
    _finished(run)


@st.fragment(run_every=POLL_SECONDS)
def _live_progress(run_id: int, task: str) -> None:
    """Polls the run row; when the job ends, reruns the whole page to show the summary."""
    run = get_run(session.actor(), run_id)
    if run is None or run.status not in ACTIVE:
        st.rerun()
    with st.container(key="train_progress", border=True):
        waiting = training.queue_position(run_id) if run.status == RunStatus.QUEUED else 0
        text = f"waiting for {waiting} earlier run(s)" if waiting else (run.progress_message or "starting…")
        st.markdown(f"**Run #{run.id}** · {run.status}")
        st.progress(float(run.progress), text=text)
        st.dataframe(common.safe_table(_model_states(run, task)), hide_index=True, width="stretch")
        st.caption("Training runs on the server: you can change page or close the tab and come back.")
        if st.button("Cancel run", key="train_cancel", icon=":material/cancel:"):
            _cancel(run_id)


def _cancel(run_id: int) -> None:
    try:
        training.cancel(session.actor(), run_id)
    except FAILURES as e:
        common.show_error(e)
        return
    st.rerun()


def _model_states(run: Any, task: str) -> pd.DataFrame:
    """One row per candidate: done, training or waiting.

    Training scores candidates in order and its progress events say which one it is on, so
    earlier candidates are done; once it refits the best, every candidate is.
    """
    spec = common.current_spec()
    searching = spec.autopilot is not None and not spec.autopilot.chosen
    kinds = (families(spec, task) if searching else
             [m.kind for m in spec.autopilot.chosen] if spec.autopilot is not None else
             [m.kind for m in spec.models]) or spec.open_choices.preselected(task, spec.steps)
    labels = [registry.MODELS[kind].label for kind in kinds]
    event = progress_event(run)
    current = None if event is None else event.model_index if event.phase == "comparing" else len(labels)
    rows = []
    for i, label in enumerate(labels):
        state = "waiting" if current is None or i > current else "training" if i == current else "done"
        rows.append({"Model": label, "Status": state})
    return pd.DataFrame(rows, columns=["Model", "Status"])


def _finished(run: Any) -> None:
    session.show_messages(PAGE)
    if run.status == RunStatus.DONE:
        _summary(run)
    elif run.status == RunStatus.CANCELLED and _searching(common.current_spec()):
        st.info(f"You stopped run #{run.id}'s search. Once it has scored a model it keeps the best one found so far: "
                "it refits it and the run then shows here as finished.", icon=":material/hourglass_top:")
        _await_kept_model(run.id)
    elif run.status == RunStatus.CANCELLED:
        st.warning(f"Run #{run.id} was cancelled. Start it again when ready.", icon=":material/cancel:")
    else:
        where = f" (model: {run.failed_model})" if run.failed_model else ""
        st.error(f"Run #{run.id} {run.status}{where}: {run.error}", icon=":material/error:")
    if run.status in RERUNNABLE and run.dataset_id is not None:
        st.button("Run it again", key="train_rerun", icon=":material/replay:", on_click=_rerun, args=(run,),
                  help="Trains the same definition on the same dataset as a new run.")


def _searching(spec: PipelineSpec) -> bool:
    return spec.autopilot is not None and not spec.autopilot.chosen


@st.fragment(run_every=POLL_SECONDS)
def _await_kept_model(run_id: int) -> None:
    """Polls a stopped search's run until its job closes it as done with the best model (then redraws the page)."""
    run = get_run(session.actor(), run_id)
    if run is not None and run.status == RunStatus.DONE:
        st.rerun()


def _rerun(run: Any) -> None:
    """A run cut short (a server restart, a failure, a cancel) starts again from its saved version,
    or from the definition being edited when the run was never saved."""
    try:
        session.set_run_id(training.rerun(session.actor(), jobs.job_runner(), run, common.current_spec(),
                           owner=session.owner()))
    except FAILURES as e:
        session.leave_message(PAGE, str(e), "error")


def _summary(run: Any) -> None:
    summary = run_summary(run)
    metric = summary.metric
    board = charts.leaderboard_frame(run.leaderboard, metric)
    if board.empty:
        st.warning(f"Run #{run.id} finished without any model scores.")
        return
    best = board.iloc[0]
    score = charts.metric_text(best, metric) if metric else ""
    st.success(f"Run #{run.id} finished in {summary.total_seconds:.0f} s. Best model: "
               f"**{best['Model']}**" + (f" — {charts.metric_label(metric)} {score} {charts.score_scope(summary.task)}"
                                         if score else ""),
               icon=":material/emoji_events:")
    if (why := charts.ranked_first_note(run.leaderboard)) is not None:
        st.caption(f"{best['Model']} is {why}.")
    holdout = summary.holdout
    if metric in holdout:
        st.markdown(f"Hold-out {charts.metric_label(metric)}: **{charts.display_value(metric, holdout[metric]):.4f}**"
                    " (rows never seen in training or model selection).")
    if summary.refit_rows is not None:
        st.markdown(charts.refit_text(summary.refit_rows))
    if summary.threshold is not None:
        st.markdown(charts.threshold_text(summary.threshold))
    if summary.autopilot is not None:
        st.markdown(_autopilot_text(summary.autopilot))
        recorded = training.recorded_choices(common.current_spec(), run)
        if recorded is not None:
            common.set_spec(recorded)
    st.dataframe(charts.leaderboard_table(board, metric), hide_index=True, width="stretch",
                 column_config=charts.LEADERBOARD_COLUMNS)
    st.page_link("pages/compare.py", label="Compare the models in detail", icon=":material/leaderboard:")
    if charts.run_artifact(run.id) is not None:
        with st.expander("Register this model", icon=":material/inventory_2:"):
            registration.register_form(run, key="train_register", page=PAGE)


def _autopilot_text(record: AutopilotRecord) -> str:
    ended = {"budget": "the budget was spent", "cancelled": "you stopped it; the best model so far was kept",
             "exhausted": "nothing more fitted in the budget"}[record.stopped]
    return (f"Autopilot: **{record.trials}** configurations tried, **{record.total_seconds:.0f} s** of the "
            f"{record.budget_seconds:.0f} s budget (search {record.search_seconds:.0f} s, final refits "
            f"{record.refit_seconds:.0f} s); {ended}. The leaderboard shows each model family's best; its tuning "
            "history on Compare lists every configuration tried. The pipeline now records these choices: training "
            "it again re-trains exactly them.")


if __name__ == "__main__":
    main()
