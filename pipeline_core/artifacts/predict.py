"""Apply a trained pipeline to new rows, after checking they look like the training data.

A file that lacks a column, or whose numeric column now holds text, would otherwise give
silent nonsense or a scikit-learn traceback; here it gives a :class:`DataError` that names
the columns. Extra columns and unseen categories are fine and come back as notices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier

from pipeline_core.analysis import quality
from pipeline_core.errors import DataError, ModelError

PREDICTION = "prediction"
PROBABILITY_PREFIX = "probability_"


@dataclass
class PredictResult:
    """The input rows plus prediction columns, and what the user should know about them."""

    frame: pd.DataFrame
    notices: list[str] = field(default_factory=list)
    rules: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=quality.REPORT_COLUMNS))
    """The quality rules of the model's definition checked on these rows (one row per rule); they are
    reported, never applied: every row is scored."""


def predict_frame(pipeline: Any, frame: pd.DataFrame, metadata: dict[str, Any] | None = None) -> PredictResult:
    """Add ``prediction`` (and ``probability_<class>`` for classifiers) to a copy of ``frame``.

    ``metadata`` is what :func:`pipeline_core.artifacts.export.build_metadata` recorded; without it the
    required columns come from the pipeline's ``prepare`` step and types are not compared.
    """
    if len(frame) == 0:
        raise DataError("the data has no rows to predict")
    if not hasattr(pipeline, "predict"):
        raise ModelError("this model cannot label new rows (e.g. DBSCAN or agglomerative clustering); "
                         "retrain with a model that can, such as k-means")
    metadata = metadata or {}
    notices = check_columns(frame, required_features(pipeline, metadata))
    out = frame.copy()
    overwritten = [c for c in out.columns if c == PREDICTION or str(c).startswith(PROBABILITY_PREFIX)]
    if overwritten:
        notices.append(f"column(s) {_names(overwritten)} in the data were replaced by the model's output")
    try:
        features, final = _prepared(pipeline, frame)
        if hasattr(pipeline, "predict_proba") and hasattr(pipeline, "classes_"):  # classifiers, not mixtures
            labels, probabilities = _labels_and_probabilities(final, features)
            out[PREDICTION] = labels
            for label, column in zip(pipeline.classes_, probabilities.T, strict=True):
                out[f"{PROBABILITY_PREFIX}{label}"] = column
        else:
            out[PREDICTION] = final.predict(features)
    except (ValueError, TypeError) as e:
        raise DataError(f"the model could not score these rows: {e}") from e
    rules = quality.check(frame, quality.scoring_rules(metadata, frame), missing="report")
    broken = rules[rules["violations"] > 0]
    if len(broken):
        listed = "; ".join(f"{r.rule} on {r.column}: {r.violations:,} row(s)" for r in broken.head(5).itertuples())
        notices.append(f"{len(broken)} of {len(rules)} quality rule(s) of the pipeline are broken (the rows were "
                       f"scored all the same): {listed}" + (" …" if len(broken) > 5 else ""))
    return PredictResult(out, notices, rules)


def _prepared(pipeline: Any, frame: pd.DataFrame) -> tuple[Any, Any]:
    """The rows through every step but the last, and the last step: labels and probabilities then share one
    pass through the preparation instead of two (``Pipeline.predict`` does exactly this transform first)."""
    steps = getattr(pipeline, "steps", None)
    if not steps or len(steps) < 2:
        return frame, pipeline
    return pipeline[:-1].transform(frame), pipeline[-1]


def _labels_and_probabilities(final: Any, features: Any) -> tuple[np.ndarray, np.ndarray]:
    """``final.predict`` and ``final.predict_proba`` of the prepared rows.

    Histogram gradient boosting runs every tree for each of the two calls; its labels and probabilities are
    both functions of one set of raw scores, so they are computed from one run here, with scikit-learn's own
    code for each (``HistGradientBoostingClassifier.predict``/``predict_proba``, scikit-learn 1.9, the
    pinned version a model must have been saved with). tests/pipeline_core/test_predict.py holds the results
    equal to the two calls. It halves the model's share of a scoring request for the default model.
    """
    if type(final) is HistGradientBoostingClassifier:
        raw = final._raw_predict(features)
        encoded = (raw.ravel() > 0).astype(int) if raw.shape[1] == 1 else np.argmax(raw, axis=1)
        return final.classes_[encoded], final._loss.predict_proba(raw)
    return final.predict(features), final.predict_proba(features)


def required_features(pipeline: Any, metadata: dict[str, Any]) -> list[dict[str, Any]]:
    """The training feature records (raw name, type, dtype, levels), from metadata or the pipeline."""
    if metadata.get("features"):
        return list(metadata["features"])
    prepare = pipeline[0] if hasattr(pipeline, "steps") else None
    types = getattr(prepare, "types", None)
    if not types:
        raise ModelError("this model does not record which columns it needs; it was not trained by Pipeline Studio")
    raw_of = {new: raw for raw, new in (prepare.rename or {}).items()}
    return [{"name": raw_of.get(c, c), "column": c, "type": t, "dtype": None} for c, t in types.items()]


def check_columns(frame: pd.DataFrame, features: list[dict[str, Any]]) -> list[str]:
    """Refuse missing or retyped columns (naming them); return notices for the rest."""
    names = [f["name"] for f in features]
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise DataError(f"the data lacks column(s) the model needs: {_names(missing)}; "
                        f"the model reads: {_names(names)}")
    dtypes = dict(zip(frame.columns, frame.dtypes, strict=True))  # one look, not a Series per column per request
    changed = [message for f in features if (message := _type_change(frame, str(dtypes[f["name"]]), f))]
    if changed:
        raise DataError("column type changed since training: " + "; ".join(changed)
                        + ". Fix these columns in the file, or retrain the model on data like this")
    notices = []
    needed = set(names)
    extra = [str(c) for c in frame.columns if c not in needed]
    if extra:
        notices.append(f"{len(extra)} column(s) the model does not use were ignored: {_names(extra, limit=10)}")
    notices += [n for f in features if (n := _unseen_levels(frame, f))]
    return notices


def _type_change(frame: pd.DataFrame, dtype: str, feature: dict[str, Any]) -> str:
    """A sentence if the column's kind of values differs from training; '' if it is compatible."""
    trained, now = _family(feature.get("dtype")), _family(dtype)
    if trained is None or trained == now or {trained, now} <= {"text", "datetime"}:
        return ""  # decided before looking at the values: this runs for every column of every scoring request
    present = frame[feature["name"]].dropna()
    if present.empty:
        return ""
    name = feature["name"]
    if trained == "number" and now == "text":
        bad = present[pd.to_numeric(present, errors="coerce").isna()]
        if bad.empty:
            return ""
        return f"'{name}' held numbers in training but now holds text (e.g. {str(bad.iloc[0])[:40]!r})"
    return f"'{name}' held {_FAMILY_WORDS[trained]} in training but now holds {_FAMILY_WORDS[now]}"


_FAMILY_WORDS = {"number": "numbers", "bool": "true/false values", "datetime": "dates", "text": "text"}


def _family(dtype: str | None) -> str | None:
    if not dtype or dtype == "unknown":
        return None
    if dtype.startswith(("int", "uint", "float", "Int", "UInt", "Float")):
        return "number"
    if dtype in ("bool", "boolean"):
        return "bool"
    if dtype.startswith("datetime"):
        return "datetime"
    return "text"


def _unseen_levels(frame: pd.DataFrame, feature: dict[str, Any]) -> str:
    levels = feature.get("levels")
    if feature.get("type") != "categorical" or not levels:
        return ""
    values = frame[feature["name"]]
    known = set(levels)
    if len(values) <= _FEW_ROWS:  # a scoring request's row or two: plain Python beats pandas' per-call cost
        unseen = [text for v in values.tolist() if not _is_missing(v) and (text := str(v)) not in known]
    elif not any(not _is_missing(v) and str(v) not in known for v in pd.unique(values.to_numpy())):
        return ""  # one hash pass over the column, then its few distinct values: the usual case of a batch request
    else:
        present = values.dropna().astype(str)
        unseen = present[~present.isin(known)].tolist()
    if not unseen:
        return ""
    examples = _names(sorted(set(unseen))[:5])
    return (f"'{feature['name']}': {len(unseen):,} row(s) have values not seen in training ({examples}); "
            "the model treats them as unknown")


_FEW_ROWS = 16


def _is_missing(value: Any) -> bool:
    """What ``Series.dropna`` drops: None, NaN, NaT and pd.NA."""
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value)


def _names(items: list[Any], limit: int = 20) -> str:
    shown = ", ".join(f"'{i}'" for i in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")

