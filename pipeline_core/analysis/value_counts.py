"""Summaries of one column's values (distinct values, rows per value) for the Features page.

They answer questions about a single target column, so they stand apart from the whole-frame
overview; both avoid turning every row into text, which takes seconds on a million rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def distinct_values(values: pd.Series) -> pd.Series:
    """Each distinct value once (missing included once), same dtype and name.

    For questions the distinct values answer as well as all rows do (how many distinct, all
    whole numbers?): task detection on a million-row target then hashes it once, not thrice.
    """
    return pd.Series(values.unique(), name=values.name)


def class_counts(values: pd.Series) -> pd.Series:
    """Rows per value as text, "(missing)" for missing ones, most frequent first.

    Exactly ``values.astype(object).where(values.notna(), "(missing)").astype(str).value_counts()``
    (same order among ties), but for strings, integers, booleans and floats each distinct
    value is turned into text once instead of every row (seconds on a million rows).
    """
    coded = _text_codes(values)
    if coded is None:  # mixed objects (1 and 1.0 are one value but two texts), categories, dates: row by row
        return values.astype("object").where(values.notna(), "(missing)").astype(str).value_counts()
    codes, texts = coded
    rows = np.bincount(codes + 1, minlength=len(texts) + 1)  # [0]: missing
    missing_at = None  # how many codes appear before the first missing row (codes number by first appearance)
    if rows[0]:
        first = int(np.argmax(codes < 0))
        missing_at = int(codes[:first].max()) + 1 if first else 0
    merged: dict[str, int] = {}  # insertion order: the order in which each text first appears
    for i, text in enumerate([*texts, None]):
        if i == missing_at:
            merged["(missing)"] = merged.get("(missing)", 0) + int(rows[0])
        if text is not None and rows[i + 1]:
            merged[text] = merged.get(text, 0) + int(rows[i + 1])
    shaped = pd.Series(list(merged), name=values.name, dtype=object).value_counts(sort=False)  # value_counts' form
    counted = pd.Series(list(merged.values()), index=shaped.index, name=shaped.name, dtype=shaped.dtype)
    return counted.sort_values(ascending=False)


def _text_codes(values: pd.Series) -> tuple[np.ndarray, list[str]] | None:
    """Codes by first appearance (-1: missing) and each code's text, where equal values have equal texts.

    Floats are coded by their bits: -0.0 equals 0.0 but prints differently. None for the dtypes
    where equality and text differ in ways not worth coding here.
    """
    dtype, array = values.dtype, values.to_numpy()
    if isinstance(dtype, np.dtype) and dtype.kind == "f" and dtype.itemsize == 8:
        codes, bits = pd.factorize(array.view(np.int64))
        codes[np.isnan(array)] = -1  # NaN bits got codes of their own: they count no rows
        uniques = np.asarray(bits).view(np.float64)
    elif isinstance(dtype, np.dtype) and (dtype.kind in "iub" or (
            dtype.kind == "O" and pd.api.types.infer_dtype(array, skipna=True) in ("string", "empty"))):
        codes, uniques = pd.factorize(array, use_na_sentinel=True)  # -1 for exactly what isna() calls missing
    else:
        return None
    if len(uniques) > max(1000, len(values) // 10):  # mostly distinct: text per value is no saving
        return None
    return np.asarray(codes, dtype=np.int64), pd.Series(uniques, dtype=object).astype(str).tolist()
