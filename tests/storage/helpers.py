"""Small real data and a subprocess runner shared by the storage tests."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[2]
PG_ENV = "TEST_DATABASE_URL"
PG_SKIP_REASON = f"PostgreSQL runs skipped: set {PG_ENV}=postgresql+psycopg://user@host:port/db to include them"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def small_frame(rows: int = 4) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": [31 + i for i in range(rows)],
            "income": [1000.5 * (i + 1) for i in range(rows)],
            "city": [["Lyon", "Oslo", "Lima"][i % 3] for i in range(rows)],
        }
    )


def run_python(code: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter that inherits this test's environment (home, database)."""
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT
    )
