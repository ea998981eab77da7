"""Compare: the leaderboard of a run, fold-level spread, an A/B test of two models, hold-out charts, bias by
group and error analysis (``pages/audit_tabs.py``), past runs.

Hold-out charts of a stored run come from its saved model and a deterministic rebuild of
the rows it held out (same definition, data and seed), cached per run and model hash.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pandas as pd
import streamlit as st

from pages import audit_tabs, charts, common, explain_tabs, session
from pipeline_core.definition import metrics
from pipeline_core.training import evaluate
from pipeline_core.training.holdout import holdout_frames, holdout_split, learning_curve, training_split
from pipeline_core.training.results import run_summary
from studio.datasets import list_datasets
from studio.errors import FAILURES, StorageError
from studio.roles import Actor
from studio.runs import RunStatus, best_model_label, get_run, list_runs, run_inputs

TABS = ["Leaderboard", "A/B test", "Hold-out charts", "Explanations", "Bias by group", "Errors"]
# wide enough for "#12" and "interrupted": the default width cut them to "R…" and "cancelle" (issue 15 point 15)
RUNS_COLUMNS = {"Run": st.column_config.NumberColumn("Run", width=60),
                "Status": st.column_config.TextColumn("Status", width=100),
                "Best model": st.column_config.TextColumn("Best model", width="medium")}


def main() -> None:
    common.run_inside_app()
    st.header("Compare")
    runs = list_runs(session.actor())
    if not runs:
        st.info("No runs yet. Train some models first.", icon=":material/leaderboard:")
        st.page_link("pages/train.py", label="Go to Train", icon=":material/model_training:")
        return
    run = _pick_run(runs)
    if run.status != RunStatus.DONE:
        _not_done(run)
    else:
        _run_tabs(run)
    st.subheader("All runs")
    with st.container(key="compare_runs"):
        st.dataframe(common.readable_table(_runs_table(runs), {"Duration (s)": "{:.1f}"}), hide_index=True,
                     width="stretch", column_config=RUNS_COLUMNS)


def _run_tabs(run: Any) -> None:
    """Only the open tab runs, so hold-out charts are computed when someone looks at them."""
    board = charts.leaderboard_frame(run.leaderboard, run_summary(run).metric)
    leaderboard, ab_test, holdout, explained, bias, errors = st.tabs(TABS, key="compare_tab", on_change="rerun")
    if leaderboard.open:
        with leaderboard:
            _leaderboard(run, board)
    if ab_test.open:
        with ab_test:
            _ab_test(run, board)
    if holdout.open:
        with holdout:
            _holdout_charts(run)
    for tab, show in ((explained, explain_tabs.explanations_tab), (bias, audit_tabs.bias_tab),
                      (errors, audit_tabs.errors_tab)):
        if not tab.open:
            continue
        with tab:
            if run_summary(run).task == "clustering":
                st.info("Clustering has no target, so there is no prediction to explain and nothing to be right "
                        "or wrong about per group or per slice.")
            else:
                show(run)


def _pick_run(runs: list[Any]) -> Any:
    """Shows this session's latest run when it changes; otherwise keeps the user's choice."""
    ids = [r.id for r in runs]
    labels = {r.id: charts.run_label(r) for r in runs}
    # The browser keeps showing a selectbox's old text when only the label of the chosen option changes ("Run #3 ·
    # running" after it finished), so the widget is keyed by its labels: new labels, a fresh widget on the same run.
    widget = "compare_run_" + hashlib.sha256("\n".join(labels.values()).encode()).hexdigest()[:12]
    session_run = session.run_id()
    if session_run in ids and st.session_state.get("compare_followed_run") != session_run:
        st.session_state["compare_followed_run"] = session_run
        st.session_state["compare_run"] = st.session_state[widget] = session_run
    if st.session_state.get("compare_run") not in ids:
        st.session_state["compare_run"] = next((r.id for r in runs if r.status == RunStatus.DONE), ids[0])
    if st.session_state.get(widget) not in ids:
        st.session_state[widget] = st.session_state["compare_run"]
    with st.container(key="compare_run_picker"):
        chosen = st.selectbox("Run", ids, format_func=labels.get, key=widget)
    st.session_state["compare_run"] = chosen
    return next(r for r in runs if r.id == chosen)


def _not_done(run: Any) -> None:
    if run.status in (RunStatus.QUEUED, RunStatus.RUNNING):
        st.info(f"Run #{run.id} is {run.status} ({run.progress:.0%}). Its leaderboard appears here when it ends.",
                icon=":material/hourglass_top:")
        st.page_link("pages/train.py", label="Follow it on Train", icon=":material/model_training:")
    elif run.status == RunStatus.CANCELLED:
        st.warning(f"Run #{run.id} was cancelled before it finished; it has no leaderboard.")
    else:
        st.error(f"Run #{run.id} {run.status}: {run.error}", icon=":material/error:")


# ---- leaderboard --------------------------------------------------------------------------------------


def _leaderboard(run: Any, board: pd.DataFrame) -> None:
    metric = run_summary(run).metric
    if board.empty:
        st.warning("This run recorded no model scores.")
        return
    if metric:
        direction = "higher" if metrics.shown_greater_is_better(metric) else "lower"
        if run_summary(run).task == "clustering":
            st.caption(f"Ranked by **{charts.metric_label(metric)}** ({direction} is better) on the training rows: "
                       "clustering has no labels to cross-validate against. Click a column header to sort.")
        else:
            st.caption(f"Ranked by cross-validated **{charts.metric_label(metric)}** ({direction} is better); "
                       "mean ± standard deviation across folds. Click a column header to sort.")
    with st.container(key="compare_leaderboard"):
        st.dataframe(charts.leaderboard_table(board, metric), hide_index=True, width="stretch",
                     column_config=charts.LEADERBOARD_COLUMNS)
    _holdout_scores(run)
    names = charts.metric_names(run.leaderboard)
    if not names or not any(r.get("folds") for r in run.leaderboard):
        return
    index = names.index(metric) if metric in names else 0
    chosen = st.selectbox("Metric to plot", names, index=index, format_func=charts.metric_label,
                          key="compare_metric")
    folds = charts.fold_scores(run.leaderboard, chosen)
    st.plotly_chart(charts.fold_spread_figure(board, folds, chosen), key="compare_fold_chart")
    _tuning(run, metric)


def _tuning(run: Any, metric: str | None) -> None:
    """The parameters each tuned model ended with and its trial history (stored with the run)."""
    tuned = [row for row in run.leaderboard if row.get("tuning_history")]
    if not tuned or not metric:
        return
    st.subheader("Tuning")
    for row in tuned:
        label = row.get("label") or row["model"]
        kept = any("none beat the untuned model" in note for note in row.get("notes") or [])
        with st.expander(f"{label}: {'untuned settings kept' if kept else 'tuned parameters'}", expanded=False):
            params = row.get("params") or {}
            if params:
                st.dataframe(common.safe_table(pd.DataFrame({"parameter": list(params),
                                                             "value": [str(v) for v in params.values()]})),
                             hide_index=True, width="stretch")
            if kept:
                st.info("No trial beat the model's untuned settings on the same folds, so the untuned model was "
                        "kept.", icon=":material/info:")
            st.plotly_chart(charts.tuning_history_figure(row["tuning_history"], metric, label),
                            key=f"compare_tuning_{row['model']}")


def _holdout_scores(run: Any) -> None:
    holdout = run_summary(run).holdout
    if not holdout:
        return
    best = best_model_label(run)
    st.markdown(f"**{best}** on the hold-out rows (scored once, after model selection):")
    shown = list(holdout.items())[:6]
    for column, (name, value) in zip(st.columns(len(shown)), shown, strict=True):
        column.metric(charts.metric_label(name), f"{charts.display_value(name, value):.4f}")


def _runs_table(runs: list[Any]) -> pd.DataFrame:
    datasets = {d.id: d.name for d in list_datasets(session.actor())}
    rows = []
    for run in runs:
        summary = run_summary(run)
        metric = summary.metric
        board = charts.leaderboard_frame(run.leaderboard, metric) if run.leaderboard else pd.DataFrame()
        best = board.iloc[0] if not board.empty else None
        rows.append({
            "Run": run.id, "Started": run.created_at.strftime("%Y-%m-%d %H:%M"), "Status": run.status,
            "Data": datasets.get(run.dataset_id, "(deleted)" if run.dataset_id is None else run.dataset_id),
            "Models": len(run.leaderboard), "Best model": best["Model"] if best is not None else "",
            "Metric": charts.metric_label(metric) if metric else "",
            "CV score": charts.metric_text(best, metric) if best is not None and metric else "",
            "Duration (s)": round(summary.total_seconds, 1) if summary.total_seconds else None,
        })
    return pd.DataFrame(rows)


# ---- A/B ---------------------------------------------------------------------------------------------


def _ab_test(run: Any, board: pd.DataFrame) -> None:
    metric = run_summary(run).metric
    scored = board[(board["Error"] == "") & board[metric].notna()] if metric in board else board.iloc[0:0]
    if len(scored) < 2:
        st.info("An A/B comparison needs two models that finished cross-validation in this run.")
        return
    labels = dict(zip(scored["model"], scored["Model"], strict=True))
    keys = list(labels)
    left, right = st.columns(2)
    a = left.selectbox("Model A", keys, index=0, format_func=labels.get, key="compare_model_a")
    b = right.selectbox("Model B", keys, index=1, format_func=labels.get, key="compare_model_b")
    if a == b:
        st.info("Pick two different models.")
        return
    _side_by_side(board, a, b, (left, right))
    folds = charts.fold_scores(run.leaderboard, metric)
    _paired_test(run, folds, labels[a], labels[b], metric)


def _side_by_side(board: pd.DataFrame, a: str, b: str, columns: tuple[Any, Any]) -> None:
    names = charts.metric_names_of(board)
    for column, key in zip(columns, (a, b), strict=True):
        row = board[board["model"] == key].iloc[0]
        table = pd.DataFrame({"Metric": [charts.metric_label(n) for n in names],
                              "Mean ± std": [charts.metric_text(row, n) for n in names]})
        column.dataframe(common.safe_table(table), hide_index=True, width="stretch")
        column.caption(f"Mean fit time per fold: {row['Fit time (s)']:.2f} s" if row["Fit time (s)"] else "")


def _paired_test(run: Any, folds: pd.DataFrame, label_a: str, label_b: str, metric: str) -> None:
    scores_a = folds[folds["Model"] == label_a].sort_values("fold")["value"].tolist()
    scores_b = folds[folds["Model"] == label_b].sort_values("fold")["value"].tolist()
    if len(scores_a) != len(scores_b) or len(scores_a) < 2:
        st.info("These two models were not scored on the same folds, so they cannot be compared fold by fold.")
        return
    raw_a = [charts.display_value(metric, v) for v in scores_a]  # back to the scorer's sign
    raw_b = [charts.display_value(metric, v) for v in scores_b]
    n_train, n_test = _fold_sizes(run)
    verdict = evaluate.paired_fold_test(raw_a, raw_b, n_train=n_train, n_test=n_test, metric=metric,
                                        names=(label_a, label_b))
    show = st.success if verdict["significant"] else st.info
    show(verdict["sentence"], icon=":material/science:")
    if not n_train:
        st.caption("Fold sizes are unknown (the run's data or model is gone), so the t-test is not corrected for "
                   "overlapping training sets and is over-confident.")
    st.plotly_chart(charts.paired_folds_figure(folds, label_a, label_b, metric), key="compare_ab_chart")


def _fold_sizes(run: Any) -> tuple[int | None, int | None]:
    try:
        return _split_sizes(session.actor(), run.id, _artifact_sha(run.id))
    except FAILURES:
        return None, None


@st.cache_data(max_entries=16, show_spinner=False)
def _split_sizes(actor: Actor, run_id: int, artifact_sha: str) -> tuple[int, int]:
    """Rows trained on and scored per CV fold in this run (for the corrected t-test)."""
    _, spec, frame = _run_inputs(actor, run_id)
    return training_split(spec, frame).fold_sizes(spec.evaluation.cv_folds)


# ---- hold-out charts ---------------------------------------------------------------------------------


def _artifact_sha(run_id: int) -> str:
    artifact = charts.run_artifact(run_id)
    if artifact is None:
        raise StorageError(f"Run #{run_id} has no saved model, so its hold-out charts cannot be drawn.")
    return artifact.sha256


def _run_inputs(actor: Actor, run_id: int) -> tuple[Any, Any, pd.DataFrame]:
    """The run's loaded model, definition and training data, through the pages' shared caches."""
    inputs = run_inputs(actor, run_id, load_model=lambda artifact: charts.loaded_model(artifact.id, artifact.sha256),
                        load_frame=common.frame_of)
    return inputs.model, inputs.spec, inputs.frame


@st.cache_data(max_entries=8, show_spinner="Scoring the best model on its hold-out rows…")
def _evaluation(actor: Actor, run_id: int, artifact_sha: str) -> dict[str, Any]:
    """Hold-out chart frames of a stored run, keyed by who asks, run id and model hash."""
    loaded, spec, frame = _run_inputs(actor, run_id)
    split = holdout_split(spec, frame)
    metric = loaded.metadata.get("metric") or run_summary(get_run(actor, run_id)).metric
    frames = holdout_frames(loaded.pipeline, spec, split, metric)
    return {"frames": frames, "metric": metric, "task": split.task, "n_holdout": len(split.X_test)}


@st.cache_data(max_entries=8, show_spinner="Refitting on growing training sets…")
def _learning_curve(actor: Actor, run_id: int, artifact_sha: str) -> pd.DataFrame:
    loaded, spec, frame = _run_inputs(actor, run_id)
    metric = loaded.metadata.get("metric") or run_summary(get_run(actor, run_id)).metric
    return learning_curve(loaded.pipeline, spec, training_split(spec, frame), metric,
                          kind=loaded.metadata.get("model"), params=loaded.metadata.get("params"))


def _holdout_charts(run: Any) -> None:
    if run_summary(run).task == "clustering":
        st.info("Clustering has no target, so there are no hold-out rows to chart; the leaderboard's silhouette, "
                "Davies-Bouldin and Calinski-Harabasz scores describe the clusters.")
        return
    try:
        evaluation = _evaluation(session.actor(), run.id, _artifact_sha(run.id))
    except FAILURES as e:
        common.show_error(e)
        return
    frames, metric = evaluation["frames"], evaluation["metric"]
    best = best_model_label(run)
    st.caption(f"**{best}** (the best model, refitted on the training rows only) on the "
               f"{evaluation['n_holdout']:,} hold-out rows.")
    for _, note in frames.get("notes", pd.DataFrame()).iterrows():
        if note["frame"] != "learning_curve":
            st.info(f"{note['frame'].replace('_', ' ')}: {note['reason']}")
    figures = charts.holdout_figures(frames)
    if figures and figures[0][0] == "confusion_matrix":  # a row of its own: in half a row, class names squeezed it
        key, figure = figures.pop(0)
        st.plotly_chart(figure, key=f"compare_{key}")
    for i in range(0, len(figures), 2):
        for column, (key, figure) in zip(st.columns(2), figures[i:i + 2], strict=False):
            column.plotly_chart(figure, key=f"compare_{key}")
    importance = frames.get("permutation_importance")
    if importance is not None and not importance.empty:
        st.plotly_chart(charts.importance_figure(importance, metric), key="compare_importance")
    _learning_curve_section(run, metric)


def _learning_curve_section(run: Any, metric: str) -> None:
    st.markdown("**Learning curve** — does more data help, or is the model the limit? It refits the best model "
                "on growing shares of the training rows (5 sizes × the run's folds).")
    if not st.toggle("Compute the learning curve", key="compare_learning_curve"):
        return
    try:
        frame = _learning_curve(session.actor(), run.id, _artifact_sha(run.id))
    except FAILURES as e:
        common.show_error(e)
        return
    st.plotly_chart(charts.learning_curve_figure(frame, metric), key="compare_learning_chart")


if __name__ == "__main__":
    main()
