"""Step previews: what one step does to a sample, named by the columns it touches."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline_core.compiler.preview import preview_step
from pipeline_core.definition import steps as st
from pipeline_core.definition.spec import PipelineSpec
from pipeline_core.errors import DataError, SpecError
from tests.pipeline_core.frames import messy_frame


@pytest.fixture
def frame() -> pd.DataFrame:
    return messy_frame()


def spec_with(*steps: st.Step, target: str | None = "churned") -> PipelineSpec:
    return PipelineSpec(target=target, steps=list(steps))


def counts(preview) -> dict[str, tuple[int, int]]:
    return {row.metric: (row.before, row.after) for row in preview.counts.itertuples()}


def test_impute_preview_shows_missing_values_before_and_after(frame):
    preview = preview_step(spec_with(st.Impute(columns=["age"], strategy="median")), 0, frame, n_rows=240)
    assert list(preview.before.columns) == ["age"]
    assert counts(preview)["missing values"] == (int(frame["age"].isna().sum()), 0)
    assert "applies to 1 column(s): age" in preview.summary


def test_a_later_step_sees_the_output_of_earlier_steps_on_the_same_columns(frame):
    spec = spec_with(st.Impute(columns="categorical", strategy="constant", fill_value="missing"),
                     st.OneHot(columns="categorical"))
    preview = preview_step(spec, 1, frame)
    assert preview.before["city"].notna().all()
    assert "city_paris" in preview.after.columns
    assert counts(preview)["features"] == (1, preview.after.shape[1])


def test_row_step_preview_counts_rows_and_shows_removed_examples(frame):
    spec = spec_with(st.FilterRows(column="city", op="==", value="paris"))
    preview = preview_step(spec, 0, frame)
    kept = int((frame["city"] == "paris").sum())
    assert counts(preview)["rows"] == (len(frame), kept)
    assert (preview.removed["city"] != "paris").all()
    assert preview.summary.startswith(f"kept {kept}")


def test_row_steps_before_a_step_apply_to_its_preview(frame):
    spec = spec_with(st.FilterRows(column="city", op="==", value="paris"), st.Impute(columns=["age"]))
    preview = preview_step(spec, 1, frame, n_rows=1000)
    assert len(preview.before) == int((frame["city"] == "paris").sum())


def test_drop_columns_preview_names_the_dropped_columns(frame):
    preview = preview_step(spec_with(st.DropColumns(columns=["constant", "nope"])), 0, frame)
    assert list(preview.before.columns) == ["constant"]
    assert "not in the data: nope" in preview.summary


def test_global_step_preview_counts_features(frame):
    spec = spec_with(st.Impute(columns="numeric"), st.OneHot(columns="categorical"),
                     st.Impute(columns="categorical", strategy="most_frequent"), st.DateParts(columns="datetime"),
                     st.Tfidf(columns="text"), st.PCA(n_components=3))
    spec = spec.model_copy(update={"steps": [spec.steps[2], *spec.steps[:2], *spec.steps[3:]]})
    preview = preview_step(spec, 5, frame)
    before, after = counts(preview)["features"]
    assert after == 3 and before > 3
    assert list(preview.after.columns) == ["pca0", "pca1", "pca2"]


def test_a_step_matching_no_column_says_so(frame):
    preview = preview_step(spec_with(st.Scale(columns=["nope"])), 0, frame)
    assert "matches no feature column" in preview.summary
    assert preview.before.empty


def test_target_encoding_without_a_target_is_a_data_error(frame):
    with pytest.raises(DataError, match=r"steps\[0\] \(Target encode\)"):
        preview_step(spec_with(st.TargetEncode(), target=None), 0, frame)


def test_a_missing_step_index_is_a_spec_error(frame):
    with pytest.raises(SpecError, match=r"steps\[3\]"):
        preview_step(spec_with(st.Scale()), 3, frame)


# ---- issue 15 point 9: previews say what changed ------------------------------------------------------------


def test_a_clipping_preview_counts_the_clipped_values_and_names_the_steps_before_it():
    import numpy as np
    import pandas as pd

    from pipeline_core.compiler.preview import preview_step
    from pipeline_core.definition import steps as st
    from pipeline_core.definition.spec import PipelineSpec

    values = np.r_[np.linspace(0, 10, 58), 500.0, -400.0]
    frame = pd.DataFrame({"x": values, "y": np.arange(60) % 2})
    spec = PipelineSpec(target="y", steps=[st.Impute(columns="numeric"), st.ClipOutliers(columns="numeric")])
    preview = preview_step(spec, 1, frame, n_rows=60)
    assert "2 value(s) changed" in preview.summary
    assert "'Before' is this step's input, after step(s) 1. Fill missing values" in preview.summary


def test_a_filter_preview_reads_as_a_sentence():
    import pandas as pd

    from pipeline_core.definition import steps as st

    frame = pd.DataFrame({"date": ["2020-01-01", None, "2020-01-03"]})
    _, summary = st.FilterRows(column="date", op="is not missing").apply(frame, None)
    assert summary == "kept 2 of 3 rows where date is not missing"
    _, summary = st.FilterRows(column="date", op="==", value="2020-01-01").apply(frame, None)
    assert summary == "kept 1 of 3 rows where date == '2020-01-01'"
