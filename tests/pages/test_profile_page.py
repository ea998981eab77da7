"""Profile page: the instant overview with Plotly charts, and the sandboxed full report on demand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline_core.analysis import profile
from tests.apptest import open_page, store_frame, texts

PAGE = "pages/profile.py"


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_overview_shows_shape_stats_and_charts(iris_id):
    at = open_page(PAGE, dataset_id=iris_id)
    assert not at.exception
    shown = metrics(at)
    assert (shown["Rows"], shown["Columns"], shown["Duplicate rows"]) == ("150", "5", "1")
    stats = at.dataframe[0].value
    assert list(stats["column"]) == ["sepal length (cm)", "sepal width (cm)", "petal length (cm)",
                                     "petal width (cm)", "target"]
    assert len(at.get("plotly_chart")) == 2  # distribution and correlation heatmap (nothing missing)
    assert "No missing values." in texts(at, "success")


def test_the_pipeline_target_is_preselected_and_adds_a_relation_chart(iris_id):
    at = open_page(PAGE, dataset_id=iris_id, spec={"target": "target"})
    assert at.selectbox(key="profile_target").value == "target"
    assert len(at.get("plotly_chart")) == 3
    at.selectbox(key="profile_relation_feature").set_value("petal width (cm)").run()
    assert not at.exception


def test_choosing_another_column_redraws_its_distribution(iris_id):
    at = open_page(PAGE, dataset_id=iris_id)
    at.selectbox(key="profile_column").set_value("target").run()
    assert not at.exception


def test_the_report_sample_size_defaults_to_the_whole_small_dataset(iris_id):
    at = open_page(PAGE, dataset_id=iris_id)
    assert at.number_input(key="profile_sample_rows").value == 150
    assert "ydata-profiling on all rows" in " ".join(at.caption.values)


@pytest.mark.slow
def test_the_full_report_is_built_on_demand_and_offered_for_download(iris_id):
    at = open_page(PAGE, dataset_id=iris_id)
    at.toggle(key="profile_minimal").set_value(True)
    at.button(key="profile_full_report").click().run(timeout=180)
    assert not at.exception
    assert not at.error
    assert len(at.get("download_button")) == 1
    (iframe,) = at.get("iframe")
    outer = iframe.proto.srcdoc
    assert '<iframe sandbox="allow-scripts"' in outer  # the report runs in an opaque origin
    assert "allow-same-origin" not in outer
    assert "ydata" in outer.lower()


def test_an_all_missing_column_and_a_constant_column_do_not_break_the_overview(store):
    import numpy as np
    import pandas as pd

    from tests.apptest import store_frame

    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "empty": [np.nan] * 4, "same": ["a"] * 4})
    at = open_page(PAGE, dataset_id=store_frame(store, frame, "odd"))
    assert not at.exception
    at.selectbox(key="profile_target").set_value("empty").run()
    assert not at.exception


def test_a_new_target_relates_the_features_without_summarising_the_data_again(store, monkeypatch):
    """The per-dataset summary is computed once; each target choice only adds its relations."""
    calls = []
    real = profile.summarise
    monkeypatch.setattr(profile, "summarise", lambda frame, **budget: calls.append(len(frame)) or real(frame, **budget))
    rng = np.random.default_rng(11)  # a frame of its own: no other test has summarised it
    frame = pd.DataFrame({"x": rng.normal(size=120), "size": rng.choice(["s", "m", "l"], 120),
                          "label": rng.choice(["yes", "no"], 120)})
    at = open_page(PAGE, dataset_id=store_frame(store, frame, "summarised once"))
    for target in ["label", "size", "x"]:
        at.selectbox(key="profile_target").set_value(target).run()
        assert not at.exception
    assert calls == [120]
    assert [c.key for c in at.get("plotly_chart")] == ["profile_distribution_chart", "profile_target_chart"]


def test_a_date_column_as_the_target_shows_how_the_features_move_with_time(store):
    rng = np.random.default_rng(4)
    days = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(200), unit="D")
    frame = pd.DataFrame({"signed_up": days, "spend": np.arange(200) * 2.0 + rng.normal(size=200),
                          "plan": rng.choice(["free", "pro"], 200)})
    at = open_page(PAGE, dataset_id=store_frame(store, frame, "dated"))
    at.selectbox(key="profile_target").set_value("signed_up").run()
    assert not at.exception
    assert not at.error
    assert [c.key for c in at.get("plotly_chart")][-1] == "profile_target_chart"
    assert "point in time" in " ".join(at.caption.values)
