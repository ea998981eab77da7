"""Small CSV files for the browser tests, written where the test says (usually ``tmp_path``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

XSS_IMG = "<img src=x onerror=window.top.__pwned=1;alert(1)>"
XSS_SCRIPT = "</script><script>window.top.__pwned=2;alert(2)</script>"


def churn_frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """Numeric and categorical columns, a few gaps, and a learnable binary target ``churned``."""
    rng = np.random.default_rng(seed)
    age = rng.normal(40, 12, n).round(1)
    income = rng.lognormal(10, 0.4, n).round(2)
    visits = rng.poisson(5, n)
    plan = rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2])
    city = rng.choice(["paris", "lyon", "nice"], n)
    score = 0.04 * (age - 40) - 0.3 * visits + 1.2 * (plan == "basic") + rng.normal(0, 0.8, n)
    frame = pd.DataFrame(
        {"age": age, "income": income, "visits": visits, "plan": plan, "city": city,
         "churned": np.where(score > -1.0, "yes", "no")}
    )  # fmt: skip
    frame.loc[rng.choice(n, max(1, n // 25), replace=False), "income"] = np.nan  # 4% gaps at any size
    return frame


def write_churn_csv(path: Path, n: int = 300, seed: int = 0, with_target: bool = True) -> Path:
    frame = churn_frame(n, seed)
    if not with_target:
        frame = frame.drop(columns="churned")
    frame.to_csv(path, index=False)
    return path


def write_png_named_csv(path: Path) -> Path:
    """A real (tiny, 1×1) PNG image under a ``.csv`` name."""
    png = bytes.fromhex(
        "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
        "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )
    path.write_bytes(png)
    return path


def write_xss_csv(path: Path, n: int = 60, seed: int = 1) -> Path:
    """Column names and values carrying HTML/script payloads that set ``window.top.__pwned`` if run."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            XSS_IMG: rng.normal(0, 1, n).round(3),
            XSS_SCRIPT: rng.choice([XSS_IMG, XSS_SCRIPT, "plain"], n),
            "amount": rng.integers(0, 100, n),
        }
    )
    frame.to_csv(path, index=False)
    return path
