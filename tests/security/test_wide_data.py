"""Issue 14 point 6: one very wide upload must not take the server down.

A 30 x 20,000 CSV (1.3 MB) OOM-killed the server when Profile opened: the overview's correlation
matrices grew with the square of the columns (1,000 columns 179 MB, 4,000 columns 1.1 GB). These
tests measure allocations with ``tracemalloc`` (memory ratios with generous slack, never timings),
check that an overview the budget cannot hold is refused before anything is computed, and open
the Profile and Data pages on a 30 x 5,000 frame.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest

from pipeline_core.analysis import profile, report
from pipeline_core.analysis.overview_tables import MAX_CORRELATION_COLUMNS
from pipeline_core.errors import DataError
from tests.security.conftest import open_page, store_frame, texts

MAX_PREVIEW_COLUMNS = 100  # pages/data.py (importing a page runs it)


def wide(columns: int, rows: int = 30) -> pd.DataFrame:
    values = np.random.default_rng(0).normal(size=(rows, columns))
    return pd.DataFrame(values, columns=[f"c{i}" for i in range(columns)])


def peak_bytes(frame: pd.DataFrame, target: str | None = None) -> int:
    """Peak allocation of summarising ``frame`` and relating it to ``target`` (the frame itself not counted)."""
    tracemalloc.start()
    try:
        profile.with_target(profile.summarise(frame), target)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_overview_grows_linearly_with_the_columns():
    """4x the columns must cost about 4x the memory; quadratic growth (the bug) gave about 16x."""
    narrow, broad = wide(500), wide(2_000)
    ratio = peak_bytes(broad, "c0") / peak_bytes(narrow, "c0")
    assert ratio < 6, f"2,000 columns took {ratio:.1f}x the memory of 500: not linear"


def test_correlations_cover_a_stated_capped_subset_and_relations_still_cover_every_column():
    frame = wide(MAX_CORRELATION_COLUMNS + 50)
    frame["late"] = frame["c0"] * 2 + 1  # beyond the cap, perfectly related to the target
    result = profile.overview(frame, target="c0")
    assert result.correlation.shape == (MAX_CORRELATION_COLUMNS, MAX_CORRELATION_COLUMNS)
    assert list(result.correlation.columns) == [f"c{i}" for i in range(MAX_CORRELATION_COLUMNS)]
    assert result.numeric_columns == frame.shape[1]
    relations = result.target_relations.set_index("feature")["value"]
    assert len(relations) == frame.shape[1] - 1
    assert relations["late"] == pytest.approx(1.0)
    assert relations["c1"] == pytest.approx(frame["c1"].corr(frame["c0"]))


def test_an_overview_the_budget_cannot_hold_is_refused_before_computing():
    frame = wide(4_000)
    budget = profile.estimate_summary_bytes(frame) // 2
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match=r"more than the [\d,]+ MB memory budget"):
            profile.summarise(frame, memory_budget_bytes=budget)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20, "the refusal came after summarising had started"
    profile.summarise(wide(50), memory_budget_bytes=budget)  # a narrow frame still fits


def test_the_estimate_is_not_below_what_summarising_takes():
    frame = wide(2_000)
    assert profile.estimate_summary_bytes(frame) > peak_bytes(frame)


def test_the_full_report_is_minimal_for_wide_data_and_refused_for_very_wide_data(monkeypatch):
    """ydata's correlations and interactions are pairwise: wide data never gets them, very wide data no report."""
    asked = {}

    class FakeReport:
        def __init__(self, data, **options):
            asked.update(options, columns=data.shape[1])

        def to_html(self):
            return "<html></html>"

    monkeypatch.setattr(report, "_profile_report_class", lambda: FakeReport)
    report.full_report_html(wide(report.MINIMAL_REPORT_ABOVE_COLUMNS + 1), title="wide", minimal=False)
    assert asked["minimal"] is True and asked["columns"] == report.MINIMAL_REPORT_ABOVE_COLUMNS + 1
    report.full_report_html(wide(20), title="narrow", minimal=False)
    assert asked["minimal"] is False
    asked.clear()
    with pytest.raises(DataError, match="at most 1,000 columns"):
        report.full_report_html(wide(report.MAX_REPORT_COLUMNS + 1), title="very wide")
    assert not asked  # refused before ydata was asked for anything


@pytest.fixture
def wide_id(store) -> int:
    return store_frame(store, wide(5_000), "wide")


def test_the_profile_page_renders_wide_data_and_states_the_correlation_cap(wide_id):
    at = open_page("pages/profile.py", dataset_id=wide_id)
    assert not at.exception
    assert not at.error, texts(at, "error")
    captions = " ".join(at.caption.values)
    assert f"first {MAX_CORRELATION_COLUMNS:,} of 5,000 numeric columns" in captions
    assert f"first 30 of the {MAX_CORRELATION_COLUMNS:,} correlated columns" in captions
    assert "The full report covers at most 1,000 columns; this dataset has 5,000" in texts(at, "info")
    assert not at.button  # no "Build full report" to click


def test_the_profile_page_refuses_wide_data_over_the_budget_plainly(store, monkeypatch):
    dataset_id = store_frame(store, wide(4_000), "wider")  # not the frame above: summaries are cached by content
    monkeypatch.setenv("PIPELINE_STUDIO_MEMORY_BUDGET_MB", "20")
    at = open_page("pages/profile.py", dataset_id=dataset_id)
    assert not at.exception
    assert "memory budget" in texts(at, "error") and "PIPELINE_STUDIO_MEMORY_BUDGET_MB" in texts(at, "error")


def test_the_data_page_renders_wide_data_and_states_the_preview_cap(wide_id):
    at = open_page("pages/data.py", dataset_id=wide_id)
    assert not at.exception
    assert at.dataframe[0].value.shape[1] == MAX_PREVIEW_COLUMNS
    assert f"the first {MAX_PREVIEW_COLUMNS:,} of 5,000 columns shown" in " ".join(at.caption.values)


def test_the_profile_page_says_the_report_of_wide_data_is_minimal(store):
    at = open_page("pages/profile.py", dataset_id=store_frame(store, wide(150), "150 columns"))
    assert not at.exception
    assert at.toggle(key="profile_minimal").value is True and at.toggle(key="profile_minimal").disabled
    assert "Minimal, since the data has more than 100 columns" in " ".join(at.caption.values)
