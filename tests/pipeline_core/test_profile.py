"""The overview must agree with pandas; the full report must be offline and safely embeddable."""

from __future__ import annotations

import re
import socket
import warnings
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from pipeline_core.analysis.profile import memory_bytes, overview, summarise, with_target
from pipeline_core.analysis.report import full_report_html, sandboxed_report_html
from pipeline_core.analysis.value_counts import class_counts, distinct_values
from pipeline_core.definition.task import detect_task
from pipeline_core.errors import DataError

NASTY = "</script><script>alert(1)</script>"


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 400
    data = pd.DataFrame({
        "x": rng.normal(10, 2, n),
        "y": rng.integers(0, 7, n),
        "z": rng.normal(size=n),
        "city": rng.choice(["Paris", "Lyon", "Nice"], n).astype(object),
        "flag": rng.random(n) < 0.3,
        "when": pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 300, n), unit="D"),
        "label": rng.choice(["yes", "no"], n).astype(object),
        "const": 5,
    })
    data.loc[rng.random(n) < 0.1, "x"] = np.nan
    data.loc[rng.random(n) < 0.2, "z"] = np.nan
    data.loc[rng.random(n) < 0.05, "city"] = None
    return pd.concat([data, data.iloc[:9]], ignore_index=True)  # 9 exact duplicate rows


def test_overview_basics_match_pandas(frame):
    result = overview(frame)
    assert result.shape == frame.shape
    assert result.duplicate_rows == frame.duplicated().sum() == 9
    assert result.memory_bytes == frame.memory_usage(deep=True).sum()
    assert result.dtypes == {c: str(t) for c, t in frame.dtypes.items()}
    missing = result.missing.set_index("column")
    pd.testing.assert_series_equal(missing["missing"], frame.isna().sum(), check_names=False)
    assert missing.loc["z", "missing_pct"] == pytest.approx(100 * frame["z"].isna().mean())


def test_stats_match_pandas_describe(frame):
    stats = overview(frame).stats.set_index("column")
    described = frame[["x", "y", "z"]].describe()
    for col in ["x", "y", "z"]:
        expected = described[col]
        got = stats.loc[col]
        assert got["non_null"] == expected["count"]
        for ours, theirs in [("mean", "mean"), ("std", "std"), ("min", "min"), ("p25", "25%"), ("median", "50%"),
                             ("p75", "75%"), ("max", "max")]:
            assert got[ours] == pytest.approx(expected[theirs]), (col, ours)
    for col in frame.columns:
        assert stats.loc[col, "unique"] == frame[col].nunique(), col
    counts = frame["city"].value_counts()
    assert stats.loc["city", "top_value"] == counts.index[0] and stats.loc["city", "top_freq"] == counts.iloc[0]
    assert stats.loc["flag", "mean"] == pytest.approx(frame["flag"].mean())
    assert stats.loc["const", "type"] == "constant" and stats.loc["city", "type"] == "categorical"
    assert stats.loc["when", "type"] == "datetime" and stats.loc["x", "type"] == "numeric"


def test_histograms_are_tidy_and_complete(frame):
    hist = overview(frame).histograms
    assert list(hist.columns) == ["column", "kind", "bin_left", "bin_right", "value", "count"]
    x = hist[hist["column"] == "x"]
    assert (x["kind"] == "numeric").all() and len(x) == 30
    expected, edges = np.histogram(frame["x"].dropna(), bins=30)
    assert x["count"].tolist() == expected.tolist()
    assert x["bin_left"].to_numpy() == pytest.approx(edges[:-1])
    city = hist[hist["column"] == "city"].set_index("value")["count"]
    assert city.to_dict() == frame["city"].value_counts().to_dict()


def test_correlation_matches_pandas_pairwise(frame):
    corr = overview(frame).correlation
    expected = frame[["x", "y", "z", "const"]].corr()
    assert list(corr.columns) == list(expected.columns)
    np.testing.assert_allclose(corr.to_numpy(), expected.to_numpy(), atol=1e-10, equal_nan=True)


def test_categorical_target_relations(frame):
    result = overview(frame, target="label")
    assert result.target == "label" and result.target_kind == "categorical"
    rel = result.target_relations
    means = rel[rel["feature"] == "x"].set_index("target_class")["mean"]
    expected = frame.groupby("label")["x"].mean()
    assert means.to_dict() == pytest.approx(expected.to_dict())
    cities = rel[rel["feature"] == "city"].set_index(["level", "target_class"])["count"]
    crosstab = pd.crosstab(frame["city"], frame["label"]).stack()
    assert cities.sort_index().to_dict() == crosstab.sort_index().to_dict()
    assert "const" not in set(rel["feature"]) and "label" not in set(rel["feature"])


def test_numeric_target_relations(frame):
    result = overview(frame, target="x")
    assert result.target_kind == "numeric"
    rel = result.target_relations.set_index("feature")
    assert rel.loc["z", "measure"] == "pearson"
    assert rel.loc["z", "value"] == pytest.approx(frame[["x", "z"]].corr().loc["x", "z"])
    assert rel.loc["city", "measure"] == "correlation_ratio" and 0 <= rel.loc["city", "value"] <= 1
    assert rel["value"].abs().is_monotonic_decreasing


def test_relations_skip_missing_targets_and_values_and_lump_rare_levels():
    rng = np.random.default_rng(5)
    n = 3000
    data = pd.DataFrame({"x": rng.normal(size=n), "shop": rng.choice([f"s{i:02d}" for i in range(14)], n),
                         "label": rng.choice(["a", "b", "c"], n).astype(object)})
    data.loc[rng.random(n) < 0.1, "x"] = np.nan
    data.loc[rng.random(n) < 0.1, "shop"] = None
    data.loc[rng.random(n) < 0.1, "label"] = None
    rel = overview(data, target="label").target_relations
    x = rel[rel["feature"] == "x"].set_index("target_class")
    grouped = data.dropna(subset=["label", "x"]).groupby("label")["x"]
    assert x["count"].to_dict() == grouped.count().to_dict()
    assert x["mean"].to_dict() == pytest.approx(grouped.mean().to_dict(), rel=1e-12)
    shops = rel[rel["feature"] == "shop"].set_index(["level", "target_class"])["count"]
    top = data["shop"].value_counts().index[:10]  # the ten most frequent levels only
    expected = pd.crosstab(data["shop"], data["label"]).loc[top].stack()
    assert shops.sort_index().to_dict() == expected.sort_index().to_dict()


def test_one_summary_serves_every_target_unchanged(frame):
    summary = summarise(frame)
    assert all(c.row_hash is None for c in summary.columns)  # only needed to count duplicates: not kept
    for target in ["label", "x", None, "city", "y", "when", "label"]:
        ours, fresh = with_target(summary, target), overview(frame, target)
        assert (ours.target, ours.target_kind) == (fresh.target, fresh.target_kind)
        pd.testing.assert_frame_equal(ours.target_relations, fresh.target_relations, check_exact=True)
        pd.testing.assert_frame_equal(ours.stats, fresh.stats)
        assert ours.duplicate_rows == fresh.duplicate_rows
    with pytest.raises(DataError, match="Target column 'nope'"):
        with_target(summary, "nope")


def test_unknown_target_is_a_data_error(frame):
    with pytest.raises(DataError, match="Target column 'nope'"):
        overview(frame, target="nope")


def test_overview_of_empty_and_unhashable_frames():
    empty = overview(pd.DataFrame({"a": pd.Series([], dtype=float), "b": pd.Series([], dtype=object)}))
    assert empty.shape == (0, 2) and empty.duplicate_rows == 0
    lists = overview(pd.DataFrame({"tags": [["a"], ["b"], ["a"]]}))
    assert lists.stats.loc[0, "unique"] == 2


def test_memory_of_long_frames_is_estimated_closely():
    rng = np.random.default_rng(0)
    long = pd.DataFrame({"s": rng.choice(["a", "bb", "a much longer value"], 300_000).astype(object),
                         "n": np.arange(300_000)})
    exact = long.memory_usage(deep=True).sum()
    assert memory_bytes(long) == pytest.approx(exact, rel=0.02)


class _IframeFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.iframes: list[dict[str, str | None]] = []
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "iframe":
            self.iframes.append(dict(attrs))
        self.scripts += tag == "script"


def test_sandbox_wrapper_escapes_everything():
    report = f'<html><body><h1>{NASTY}</h1><script>var c = "{NASTY}";</script></body></html>'
    wrapped = sandboxed_report_html(report)
    finder = _IframeFinder()
    finder.feed(wrapped)
    assert finder.scripts == 0  # nothing in the outer page runs
    assert len(finder.iframes) == 1
    iframe = finder.iframes[0]
    assert iframe["sandbox"] == "allow-scripts" and "allow-same-origin" not in wrapped
    assert iframe["srcdoc"] == report
    assert "<script>alert(1)" not in wrapped


@pytest.mark.slow
def test_full_report_is_offline_sampled_and_embeddable(monkeypatch, capfd):
    attempts: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError("network disabled in tests")

    monkeypatch.setattr(socket.socket, "connect", lambda self, *a: refuse(*a))
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)  # ydata-profiling's analytics would look up its host
    monkeypatch.delenv("YDATA_PROFILING_NO_ANALYTICS", raising=False)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": np.arange(60), "b": rng.choice(["x", "y"], 60), NASTY: rng.random(60)})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = full_report_html(frame, title="Tiny", minimal=True, sample_rows=40, seed=1)
    assert attempts == []
    assert caught == []
    assert "random sample of 40 of 60 rows" in report
    assert not re.search(r"<(?:script|link|img)[^>]+(?:src|href)=[\"']?https?://", report)
    assert "it/s" not in capfd.readouterr().err
    finder = _IframeFinder()
    finder.feed(sandboxed_report_html(report))
    assert finder.scripts == 0 and finder.iframes[0]["srcdoc"] == report


def test_full_report_small_frame_says_all_rows():
    from pipeline_core.analysis.report import _report_sample

    data, described = _report_sample(pd.DataFrame({1: [1, 2, 3]}), sample_rows=10, seed=0)
    assert described == "all 3 rows" and list(data.columns) == ["1"]


# ---- one column: the target summaries of the Features page ------------------------------------------

_RNG = np.random.default_rng(0)
COLUMNS = {
    "strings": pd.Series(_RNG.choice(["a", "b", None, "(missing)"], 50), name="t"),
    "mixed": pd.Series([1, "1", 1.0, None, np.nan, "x", True, 2], dtype=object, name="m"),
    "floats": pd.Series(np.where(_RNG.random(40) < .2, np.nan, _RNG.integers(0, 4, 40)), name="f"),
    "signed zeros": pd.Series([0.0, -0.0, np.nan, 1.5, -0.0, 0.1 + 0.2], name="z"),
    "ints": pd.Series(_RNG.integers(0, 5, 100), name="i"),
    "bools": pd.Series(_RNG.random(30) < .5, name="b"),
    "category": pd.Series(pd.Categorical(_RNG.choice(["x", "y", None], 30)), name="c"),
    "dates": pd.Series(pd.to_datetime(_RNG.choice(["2024-01-01", None, "2024-02-01"], 30)), name="d"),
    "nullable ints": pd.Series(pd.array(_RNG.choice([1, 2, None], 30), dtype="Int64"), name="I"),
    "ties": pd.Series(list("abcdabcdxyxy") + [None, None], name="ties"),
    "missing first": pd.Series([None, "b", "a", "b"], name="mf"),
    "NaN first": pd.Series([np.nan, 2.0, 1.0, 2.0, np.nan], name="nf"),
    "empty": pd.Series([], dtype=object, name="e"),
    "all NaN": pd.Series([np.nan] * 4, name="n"),
}


@pytest.mark.parametrize("name", list(COLUMNS))
def test_class_counts_are_the_row_by_row_text_counts(name):
    values = COLUMNS[name]
    expected = values.astype("object").where(values.notna(), "(missing)").astype(str).value_counts()
    got = class_counts(values)
    pd.testing.assert_series_equal(got, expected, check_index_type=True)
    assert list(got.index) == list(expected.index)  # ties keep the same order (the bar chart's order)


@pytest.mark.parametrize("name", [n for n in COLUMNS if len(COLUMNS[n])])
def test_task_detection_on_the_distinct_values_matches_all_rows(name):
    assert detect_task(distinct_values(COLUMNS[name])) == detect_task(COLUMNS[name])


def test_a_date_target_is_related_as_a_point_in_time(frame):
    """Which features move with time: Pearson r against the timestamps, and the correlation ratio."""
    result = overview(frame, target="when")
    assert (result.target, result.target_kind) == ("when", "datetime")
    rel = result.target_relations.set_index("feature")
    seconds = frame["when"].astype("int64") / 1e9
    assert rel.loc["x", "measure"] == "pearson"
    assert rel.loc["x", "value"] == pytest.approx(frame["x"].corr(seconds))
    assert rel.loc["z", "value"] == pytest.approx(frame["z"].corr(seconds))
    assert rel.loc["city", "measure"] == "correlation_ratio" and 0 <= rel.loc["city", "value"] <= 1
    assert "when" not in rel.index and "const" not in rel.index
    assert rel["value"].abs().is_monotonic_decreasing


def test_a_date_target_with_few_dates_is_related_per_date_like_classes():
    days = pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"])
    data = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "day": days.repeat(2),
                         "shop": ["a", "b", "a", "a", "b", "b"]})
    data.loc[5, "day"] = pd.NaT
    result = overview(data, target="day")
    assert result.target_kind == "categorical"
    means = result.target_relations.query("feature == 'x'").set_index("target_class")["mean"]
    assert means.to_dict() == {"2024-01-01 00:00:00": 1.5, "2024-02-01 00:00:00": 3.5, "2024-03-01 00:00:00": 5.0}


def test_a_time_zone_aware_date_target_is_related_in_utc():
    when = pd.date_range("2024-01-01", periods=50, freq="h", tz="Europe/Paris")
    data = pd.DataFrame({"when": when, "x": np.arange(50.0) ** 2})
    rel = overview(data, target="when").target_relations.set_index("feature")
    assert rel.loc["x", "value"] == pytest.approx(data["x"].corr(pd.Series(np.arange(50.0))))
