"""Real models for the service tests, trained once per session with the project's own training.

The churn classifier's definition carries quality rules, one of them on the target (which the service does
not check: requests do not carry the target).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipeline_core.artifacts.export import build_metadata, save_model
from pipeline_core.compiler.columns import default_steps, infer_schema
from pipeline_core.definition.spec import EvaluationPlan, ModelSpec, PipelineSpec
from pipeline_core.training.train import train
from tests.pipeline_core.frames import diabetes, messy_frame
from tests.serving.service import CliService

RULES = [
    {"kind": "range", "column": "age", "min": 18, "max": 70},
    {"kind": "allowed_values", "column": "city", "values": ["paris", "lyon", "nice", "lille"]},
    {"kind": "not_null", "column": "income"},
    {"kind": "not_null", "column": "churned"},  # on the target: not checked on scored rows
]
TOKEN = "s3cret-token-for-tests"
MAX_ROWS = 500
MAX_BODY_MB = 0.25


def save_trained(frame: pd.DataFrame, target: str, model: str, path: Path, rules: list | None = None) -> Path:
    spec = PipelineSpec(name=path.stem, target=target, models=[ModelSpec(kind=model)],
                        evaluation=EvaluationPlan(cv_folds=2), rules=rules or [])
    spec = spec.model_copy(update={"steps": default_steps(infer_schema(frame, spec))})
    result = train(spec, frame)
    return save_model(result.pipeline, path, "skops", build_metadata(result, frame))


@pytest.fixture(scope="session")
def churn_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``churn.skops`` (logistic regression with rules) and ``rows.csv`` (the features of its 240 rows)."""
    folder = tmp_path_factory.mktemp("churn")
    frame = messy_frame()
    save_trained(frame, "churned", "logistic_regression", folder / "churn.skops", RULES)
    frame.drop(columns=["churned"]).to_csv(folder / "rows.csv", index=False)
    return folder


@pytest.fixture(scope="session")
def churn_rows() -> pd.DataFrame:
    return messy_frame().drop(columns=["churned"])


@pytest.fixture(scope="session")
def regression_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_trained(diabetes(), "target", "ridge", tmp_path_factory.mktemp("diabetes") / "diabetes.skops")


@pytest.fixture(scope="module")
def service(churn_dir: Path):
    """The churn model served by the command line, without a token, with small limits to test them."""
    running = CliService(churn_dir / "churn.skops", "--max-rows", str(MAX_ROWS), "--max-body-mb", str(MAX_BODY_MB))
    yield running
    running.stop()


def records(frame: pd.DataFrame) -> list[dict]:
    """JSON-ready rows: NaN and None become null."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")
