"""The full ydata-profiling report: built offline on a seeded sample, and shown only sandboxed.

It is slow, so it is separate from the instant overview and computed on demand; and it echoes
column names and values into its HTML, so names are escaped before it is built and the page
embeds it only through :func:`sandboxed_report_html`, an opaque-origin iframe.
"""

from __future__ import annotations

import functools
import html
import os
import warnings
from collections.abc import Callable
from typing import Any

import pandas as pd

from pipeline_core.analysis.overview_tables import MAX_CORRELATION_COLUMNS
from pipeline_core.errors import DataError

# ydata's correlations, interactions and missing-value heatmap are pairwise (quadratic in the columns), so
# wider data always gets the minimal report; and its HTML grows by tens of KB per column, so beyond
# MAX_REPORT_COLUMNS no report is built at all (the instant overview still covers every column).
MINIMAL_REPORT_ABOVE_COLUMNS = MAX_CORRELATION_COLUMNS
MAX_REPORT_COLUMNS = 1_000
NO_ANALYTICS_ENV = "YDATA_PROFILING_NO_ANALYTICS"  # otherwise every report phones home


def full_report_html(frame: pd.DataFrame, *, title: str, minimal: bool = False, sample_rows: int = 100_000,
                     seed: int = 0) -> str:
    """A ydata-profiling HTML report, on a seeded random sample when the frame is larger than ``sample_rows``.

    The title says how many rows were profiled. Assets are inlined and analytics are off, so
    nothing is fetched from the network. Show it only through :func:`sandboxed_report_html`. Wide
    frames get the minimal report, very wide ones none (``MINIMAL_REPORT_ABOVE_COLUMNS``, ``MAX_REPORT_COLUMNS``).
    """
    if sample_rows < 1:
        raise DataError(f"sample_rows must be at least 1 for the report '{title}' (got {sample_rows}).")
    if frame.shape[1] > MAX_REPORT_COLUMNS:
        raise DataError(f"The full report covers at most {MAX_REPORT_COLUMNS:,} columns and '{title}' has "
                        f"{frame.shape[1]:,}. Use the overview, or profile an extract with fewer columns.")
    minimal = minimal or frame.shape[1] > MINIMAL_REPORT_ABOVE_COLUMNS
    data, described = _report_sample(frame, sample_rows, seed)
    profile_report = _profile_report_class()
    safe_title = report_title(f"{title} ({described})")
    os.environ[NO_ANALYTICS_ENV] = "1"  # read on every report, so set it every time
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            report = profile_report(data, title=safe_title, minimal=minimal, progress_bar=False,
                                    html={"inline": True, "use_local_assets": True, "navbar_show": True})
            return report.to_html()
        except Exception as e:  # noqa: BLE001 - a third-party failure must reach the user as a DataError
            raise DataError(f"The full report for '{title}' could not be built ({type(e).__name__}: {e}). "
                            "Try the minimal report or a smaller sample.") from e


def report_title(title: str) -> str:
    """The title as ydata-profiling must be given it: it writes the title into the navbar unescaped.

    The title comes from the data file's name, so ``<img src=x onerror=alert(1)>.csv`` would run its script in
    the CLI's report (the app shows the report sandboxed, but there it would still run in the frame). Escaping is
    not enough on its own: the page's ``<title>`` is ``{{ title | striptags }}``, and Jinja's ``striptags``
    unescapes entities again, so ``&lt;/title&gt;&lt;script&gt;`` would come back as markup there. Angle brackets
    therefore become the look-alike single guillemets first; the rest (``&``, quotes) is escaped for the navbar.
    """
    return html.escape(title.replace("<", "\u2039").replace(">", "\u203a"), quote=True)


def _report_sample(frame: pd.DataFrame, sample_rows: int, seed: int) -> tuple[pd.DataFrame, str]:
    if len(frame) > sample_rows:
        data = frame.sample(n=sample_rows, random_state=seed).sort_index()
        described = f"random sample of {sample_rows:,} of {len(frame):,} rows, seed {seed}"
    else:
        data, described = frame, f"all {len(frame):,} rows"
    return _escaped(data), described


def _escaped(frame: pd.DataFrame) -> pd.DataFrame:
    """ydata-profiling writes names and text values into its HTML unescaped: escape them first,
    so a column called ``<img onerror=…>`` reads as text in the report instead of running."""
    data = frame.copy()
    data.columns = [html.escape(str(c)) for c in data.columns]
    for col in data.columns:
        values = data[col]
        if values.dtype == object:
            data[col] = values.where(values.isna(), values.astype(str).map(html.escape))
    return data


def _profile_report_class() -> Callable[..., Any]:
    """Import ydata-profiling quietly (after the first call this is a cheap module lookup).

    Its usage analytics (a network call per report) are switched off before it is imported.
    """
    os.environ[NO_ANALYTICS_ENV] = "1"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ydata_profiling import ProfileReport

        _silence_column_progress_bar()
    return ProfileReport


def _silence_column_progress_bar() -> None:
    """ydata-profiling draws one progress bar even with ``progress_bar=False``; it would spam server logs."""
    try:
        from tqdm.auto import tqdm
        from ydata_profiling.model.pandas import summary_pandas
    except ImportError:
        return
    if hasattr(summary_pandas, "tqdm"):
        summary_pandas.tqdm = functools.partial(tqdm, disable=True)


def sandboxed_report_html(report_html: str, *, title: str = "Data profile report") -> str:
    """Wrap a report so its scripts run in an isolated frame that cannot reach the hosting page.

    The report goes into ``<iframe sandbox="allow-scripts" srcdoc=...>`` without
    ``allow-same-origin``: the frame gets an opaque origin, so a column named
    ``</script><script>...`` can at worst script the report itself, never the app, its
    cookies or its storage. The whole report is attribute-escaped, so it cannot close the
    iframe tag either.
    """
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title>"
        "<style>html,body{margin:0;height:100%}iframe{border:0;width:100%;height:100vh;display:block}</style>"
        "</head><body>"
        f"<iframe sandbox=\"allow-scripts\" referrerpolicy=\"no-referrer\" title=\"{html.escape(title)}\" "
        f"srcdoc=\"{html.escape(report_html, quote=True)}\"></iframe>"
        "</body></html>\n"
    )
