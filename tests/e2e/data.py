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


LONG_CLASSES = (
    "Chronic obstructive pulmonary disease — severe exacerbation",
    "Community-acquired pneumonia with pleural effusion",
    "Acute decompensated heart failure, reduced ejection fraction",
)


def clinic_frame(n: int = 240, seed: int = 3) -> pd.DataFrame:
    """A messy clinic export: an ID column, visit dates, free-text notes, gaps, a learnable target ``diagnosis``
    whose classes have long names, and a few rows where the diagnosis is missing."""
    rng = np.random.default_rng(seed)
    age = rng.normal(64, 11, n).round(0)
    spo2 = rng.normal(93, 3, n).round(1)
    heart_rate = rng.normal(88, 14, n).round(0)
    smoker = rng.choice(["yes", "no", "former"], n, p=[0.4, 0.35, 0.25])
    signal = 0.08 * (93 - spo2) + 0.6 * (smoker == "yes") - 0.03 * (heart_rate - 88) + rng.normal(0, 0.5, n)
    diagnosis = np.where(signal > 0.6, LONG_CLASSES[0], np.where(signal < -0.2, LONG_CLASSES[2], LONG_CLASSES[1]))
    words = ["cough", "fever", "dyspnoea", "oedema", "wheeze", "fatigue", "chest pain", "sputum"]
    notes = [", ".join(rng.choice(words, rng.integers(1, 4), replace=False)) + f" (ward {rng.integers(1, 9)})"
             for _ in range(n)]
    frame = pd.DataFrame({
        "patient_id": [f"P{100000 + i}" for i in rng.permutation(n)],
        "visit_date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 500, n), unit="D"),
        "notes": notes, "age": age, "spo2": spo2, "heart_rate": heart_rate, "smoker": smoker,
        "diagnosis": diagnosis,
    })
    frame["visit_date"] = frame["visit_date"].dt.strftime("%Y-%m-%d")
    frame.loc[rng.choice(n, max(1, n // 20), replace=False), "spo2"] = np.nan
    frame.loc[rng.choice(n, max(1, n // 30), replace=False), "diagnosis"] = np.nan  # a few unlabelled rows
    return frame


def write_clinic_csv(path: Path, n: int = 240, seed: int = 3, with_target: bool = True) -> Path:
    frame = clinic_frame(n, seed)
    if not with_target:
        frame = frame.drop(columns="diagnosis")
    frame.to_csv(path, index=False)
    return path
