"""Display tables built from a run's leaderboard, the pages' own figures, and the figures the pages share
with the model report (re-exported from :mod:`pipeline_core.reporting`, which draws them without Streamlit).

It also holds the one cached loader of stored models that Compare, Predict and Pipelines
share, so a model is loaded once per content hash whichever page asks first.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from pages import session
from pipeline_core.io.writers import neutralise_frame
from pipeline_core.reporting.evaluation_figures import calibration_figure as calibration_figure
from pipeline_core.reporting.evaluation_figures import confusion_figure as confusion_figure
from pipeline_core.reporting.evaluation_figures import error_bars as error_bars
from pipeline_core.reporting.evaluation_figures import fold_spread_figure as fold_spread_figure
from pipeline_core.reporting.evaluation_figures import holdout_figures as holdout_figures
from pipeline_core.reporting.evaluation_figures import importance_figure as importance_figure
from pipeline_core.reporting.evaluation_figures import learning_curve_figure as learning_curve_figure
from pipeline_core.reporting.evaluation_figures import paired_folds_figure as paired_folds_figure
from pipeline_core.reporting.evaluation_figures import parity_figure as parity_figure
from pipeline_core.reporting.evaluation_figures import pr_figure as pr_figure
from pipeline_core.reporting.evaluation_figures import residuals_figure as residuals_figure
from pipeline_core.reporting.evaluation_figures import roc_figure as roc_figure
from pipeline_core.reporting.evaluation_figures import tuning_history_figure as tuning_history_figure
from pipeline_core.reporting.leaderboard import fold_scores as fold_scores
from pipeline_core.reporting.leaderboard import leaderboard_frame as leaderboard_frame
from pipeline_core.reporting.leaderboard import metric_names as metric_names
from pipeline_core.reporting.leaderboard import metric_names_of as metric_names_of
from pipeline_core.reporting.leaderboard import metric_text as metric_text
from pipeline_core.reporting.leaderboard import ranked_first_note as ranked_first_note
from pipeline_core.reporting.style import LABEL_WIDTH as LABEL_WIDTH
from pipeline_core.reporting.style import LAYOUT as LAYOUT
from pipeline_core.reporting.style import LINE_PX as LINE_PX
from pipeline_core.reporting.style import PALETTE as PALETTE
from pipeline_core.reporting.style import display_value as display_value
from pipeline_core.reporting.style import figure as _figure
from pipeline_core.reporting.style import metric_label as metric_label
from pipeline_core.reporting.style import wrap_label as wrap_label
from studio import models
from studio.runs import best_model_label

BEST_FILL = "#e6f4ea"


# ---- metric names and values ------------------------------------------------------------------------


def score_scope(task: str | None) -> str:
    """Where a run's scores come from: CV folds, except for clustering (scored once on the training rows)."""
    return "on the training rows" if task == "clustering" else "across folds"


# ---- leaderboards ------------------------------------------------------------------------------------


def leaderboard_table(board: pd.DataFrame, metric: str | None) -> Any:
    """The leaderboard as a sortable, labelled table with the best model highlighted (a pandas Styler)."""
    table = pd.DataFrame({"Rank": range(1, len(board) + 1), "Model": board["Model"]})
    names = [m for m in metric_names_of(board) if m != metric]
    if metric in board:
        table[f"{metric_label(metric)} (mean ± std)"] = [metric_text(row, metric) for _, row in board.iterrows()]
    if "Threshold" in board and board["Threshold"].notna().any():  # the mean of the CV folds' tuned thresholds
        tuned_for = board["Threshold metric"].dropna().iloc[0]  # beside the ranking score, where a glance finds it
        table[f"Threshold ({metric_label(tuned_for).lower()})"] = board["Threshold"].astype(float).round(3)
    for name in names:
        table[metric_label(name)] = board[name].round(4)
    for column in ("Fit time (s)", "Notes", "Error"):
        if column in board and board[column].astype(bool).any():
            table[column] = board[column].round(3) if column == "Fit time (s)" else board[column]
    best = 0 if len(board) and not board.get("Error", pd.Series([""])).iloc[0] else None
    table = neutralise_frame(table)  # as ``common.safe_table``: the toolbar's CSV download writes cells raw
    return table.style.apply(lambda row: [f"background-color: {BEST_FILL}" if row.name == best else ""] * len(row),
                             axis=1).format(precision=4, na_rep="—")


def threshold_text(threshold: Any) -> str:
    """The saved model's tuned decision threshold, what it optimised and on which rows (issue 15 point 12)."""
    from pages.common import escape_markdown

    default = "0.5" if threshold.response == "probability" else "0"
    score = f" ({threshold.score:.3f} there)" if threshold.score is not None else ""
    return (f"Decision threshold: predicts **{escape_markdown(threshold.positive_class)}** when its "
            f"{threshold.response} is at least **{threshold.value:.3f}** (untuned: {default}), chosen to maximise "
            f"{metric_label(threshold.metric).lower()}{score} on out-of-fold predictions of the training rows; "
            "the hold-out rows played no part.")


def refit_text(rows: int) -> str:
    """What the saved model was trained on when it was refitted on every row (issue 20 point 4)."""
    return (f"Saved model: refitted on all **{rows:,}** rows (training and hold-out) after the hold-out score above; "
            "that score, the hold-out charts and the audits come from the same model trained without the hold-out "
            "rows.")


# "Rank" and the model's name were cut to "R…" by the default widths (issue 15 point 15)
LEADERBOARD_COLUMNS = {"Rank": st.column_config.NumberColumn("Rank", width=60),
                       "Model": st.column_config.TextColumn("Model", width="medium")}


def prediction_figure(predictions: pd.Series, task: str | None) -> go.Figure:
    """How the predictions are distributed: counts per class or cluster, a histogram for numbers."""
    if task == "regression":
        figure = _figure("Predicted values", height=360, showlegend=False, xaxis_title="Prediction",
                         yaxis_title="Rows")
        figure.add_histogram(x=predictions, marker_color=PALETTE[0], nbinsx=40)
        return figure
    counts = predictions.astype(str).value_counts().head(30)
    title = "Rows per predicted cluster" if task == "clustering" else "Rows per predicted class"
    figure = _figure(title, height=360, showlegend=False, yaxis_title="Rows")
    figure.add_bar(x=counts.index, y=counts.to_numpy(), marker_color=PALETTE[0], text=counts.to_numpy(),
                   textposition="outside", hovertemplate="%{x}: %{y} rows<extra></extra>")
    figure.update_xaxes(type="category")
    return figure


def drift_figure(report: pd.DataFrame, psi_moderate: float, psi_drift: float) -> go.Figure:
    """PSI per column, drifted columns in orange, with the usual 0.1 / 0.2 thresholds."""
    shown = report.dropna(subset=["psi"]).sort_values("psi")
    shown = shown.assign(psi=shown["psi"].clip(lower=1e-4))  # a log axis cannot show 0
    colors = [PALETTE[1] if drifted else PALETTE[0] for drifted in shown["drifted"]]
    figure = _figure("Population stability index per column", height=max(260, 24 * len(shown) + 120),
                     showlegend=False, xaxis_title="PSI, new data vs training data (log scale)", xaxis_type="log")
    figure.add_bar(y=shown["column"], x=shown["psi"], orientation="h", marker_color=colors,
                   customdata=shown[["ks_statistic", "ks_pvalue"]].to_numpy(),
                   hovertemplate="%{y}: PSI %{x:.3f}<br>KS %{customdata[0]:.3f}, p=%{customdata[1]:.2g}<extra></extra>")
    for value, anchor in ((psi_moderate, "right"), (psi_drift, "left")):
        figure.add_vline(x=value, line_dash="dot", line_color="#868e96")
        # on a log axis an annotation's x is given in log10 units
        figure.add_annotation(x=math.log10(value), y=1, xref="x", yref="paper", yanchor="bottom", xanchor=anchor,
                              text=f"PSI {value:g}", showarrow=False, font={"size": 11, "color": "#868e96"})
    return figure


# ---- stored runs and their models (one shared cache for Compare, Predict and Pipelines) ---------------


def loaded_model(artifact_id: int, sha256: str) -> Any:
    """A stored model, loaded (and checked) once per content hash; callers must not mutate it.

    The session's right to it is checked on every call (a row read), before the copy shared by every session."""
    actor = session.actor()
    models.get_artifact(actor, artifact_id)
    return _loaded_model(artifact_id, sha256, actor)


@st.cache_resource(max_entries=8, show_spinner="Loading the model…")
def _loaded_model(artifact_id: int, sha256: str, _actor: Any) -> Any:
    return models.load_stored_model(_actor, artifact_id)


def run_artifact(run_id: int) -> Any | None:
    """The run's saved model (the best one, saved when the run finished), if any."""
    return models.run_artifact(session.actor(), run_id)


def run_label(run: Any) -> str:
    """``Run #7 · done · 21 Nov 14:02 · best: Random forest``."""
    when = run.created_at.strftime("%d %b %H:%M") if run.created_at else ""
    best = best_model_label(run)
    parts = [f"Run #{run.id}", run.status, when] + ([f"best: {best}"] if best else [])
    return " · ".join(p for p in parts if p)


if __name__ == "__main__":  # opened by its address as the first run of a server: not a page
    from pages import common

    common.run_inside_app()
