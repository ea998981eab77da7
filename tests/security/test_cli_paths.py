"""Issue 14 point 5: ``run`` reads a definition's data only from the definition's own folder.

A shared ``pipeline.json`` says which file to read in ``data.file_name``; ``run`` followed
``../../../../etc/passwd`` or an absolute path and echoed the file's columns in its errors. Each
case runs the real command (``python -m pipeline_core run``) in a subprocess, with a "secret" file
outside the folder whose column names must appear nowhere.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.pipeline_core.test_cli import run_all

SECRET = "SECRET_COLUMN_password_hash"


@pytest.fixture
def folders(tmp_path) -> tuple[Path, Path]:
    """``defs/`` holds the definition and its data; ``secret.csv`` sits beside the folder, outside it."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=40), "y": ["a", "b"] * 20})
    defs = tmp_path / "defs"
    (defs / "sub").mkdir(parents=True)
    frame.to_csv(defs / "data.csv", index=False)
    frame.to_csv(defs / "sub" / "nested.csv", index=False)
    frame.rename(columns={"x": SECRET}).to_csv(tmp_path / "secret.csv", index=False)
    (defs / "link.csv").symlink_to(tmp_path / "secret.csv")
    return defs, tmp_path / "secret.csv"


def definition(folder: Path, file_name: str, stem: str) -> str:
    spec = {"name": stem, "target": "y", "data": {"file_name": file_name},
            "models": [{"kind": "logistic_regression"}], "evaluation": {"cv_folds": 2, "holdout": 0}}
    (folder / f"{stem}.json").write_text(json.dumps(spec))
    return f"{stem}.json"


def test_run_refuses_data_outside_the_definitions_folder(folders):
    defs, secret = folders
    outside = {
        "parent": "../secret.csv",
        "deep": "../" * 12 + str(secret).lstrip("/"),
        "absolute": str(secret),
        "through-a-subfolder": "sub/../../secret.csv",
        "symlink-out": "link.csv",
        "windows-drive": "C:\\secret.csv",
    }
    inside = {"beside": "data.csv", "nested": "sub/nested.csv"}
    commands = [["run", definition(defs, name, stem), "--out", f"out-{stem}"]
                for stem, name in {**outside, **inside}.items()]
    commands.append(["run", definition(defs, "../secret.csv", "explicit"), "--data", "data.csv", "--out", "out-x"])
    results = run_all(commands, defs)
    for stem, result in zip(outside, results, strict=False):
        assert result.returncode == 2, (stem, result.stdout, result.stderr)
        lines = [line for line in result.stderr.splitlines() if not line.startswith("note: ")]
        assert len(lines) == 1 and "not inside the definition's folder" in lines[0] and "--data" in lines[0], lines
        assert SECRET not in result.stdout + result.stderr, stem
        assert not (defs / f"out-{stem}" / "leaderboard.json").exists(), stem
    for result in results[len(outside):]:
        assert result.returncode == 0, (result.args, result.stderr[-2000:])
        assert SECRET not in result.stdout + result.stderr
    for out in ("out-beside", "out-nested", "out-x"):
        assert (defs / out / "leaderboard.json").exists(), out
