"""One owner of which rows train: preview, training and the exported script keep the same rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline_core.artifacts.codegen import python_script
from pipeline_core.compiler.prepare import prepare
from pipeline_core.compiler.preview import preview_step
from pipeline_core.definition import steps as st
from pipeline_core.definition.spec import ModelSpec, PipelineSpec


def frame() -> pd.DataFrame:
    """Duplicates whose first copy has an unusable target: dropping targets before or after deduplication differs."""
    rng = np.random.default_rng(0)
    x = np.repeat(np.arange(30, dtype=float), 2)
    y = rng.normal(size=60)
    y[::2][:10] = np.nan
    y[::2][10:14] = np.inf
    return pd.DataFrame({"x": x, "noise": rng.normal(size=60), "y": y})


def spec(*row_steps: st.Step) -> PipelineSpec:
    return PipelineSpec(target="y", task="regression", models=[ModelSpec(kind="ridge")],
                        steps=[*row_steps, st.Impute(columns="numeric")])


def script_rows(spec: PipelineSpec, data: pd.DataFrame) -> pd.Index:
    prepared = prepare(spec, data)
    namespace: dict[str, object] = {"__name__": "exported"}
    exec(python_script(spec, prepared.schema, "regression", "ridge", {}), namespace)  # noqa: S102 - our own script
    X, _ = namespace["training_rows"](data)  # type: ignore[operator]
    return X.index


def test_preview_training_and_script_agree_on_the_rows_wherever_the_target_step_sits():
    data = frame()
    dedupe = st.DropDuplicates(subset=["x"])
    for row_steps in ([st.DropMissingTarget(), dedupe], [dedupe, st.DropMissingTarget()], [dedupe]):
        definition = spec(*row_steps)
        trained = prepare(definition, data).X.index
        previewed = preview_step(definition, len(row_steps), data, n_rows=len(data)).before.index
        assert list(trained) == list(previewed) == list(script_rows(definition, data)), row_steps
        assert len(trained) == 16  # 30 keys, 14 of whose kept first copy has no usable target


def test_the_target_step_preview_shows_the_rows_training_drops():
    data = frame()
    definition = spec(st.DropMissingTarget(), st.DropDuplicates(subset=["x"]))
    preview = preview_step(definition, 0, data)
    assert len(preview.removed) == 14
    assert "dropped 14 rows" in preview.summary
