"""The input schema a scoring service publishes: what each row must hold, read once from the model's metadata.

A client should learn from ``GET /schema`` alone how to call ``POST /predict``: the column names, what kind of
JSON value each takes, the levels seen in training, the quality rules checked on every row, and an example
body. The same :class:`FeatureField` list drives request validation (:mod:`pipeline_core.serving.requests`),
so what the schema promises is what the service checks. Built once per service, never per request.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from pipeline_core.analysis import quality
from pipeline_core.artifacts.predict import required_features
from pipeline_core.artifacts.skops_io import LoadedModel

JsonKind = Literal["number", "string", "boolean"]

# One value of the right JSON kind per semantic type, for a synthesized example row when the model file
# carries no example rows of its own. It shows the shape of a request, not realistic data.
_PLACEHOLDER: dict[str, Any] = {"number": 0, "boolean": True, "datetime": "2024-01-31", "text": "some words"}


class FeatureField(BaseModel):
    """One raw column the model reads: every row must carry it (``null`` for a missing value)."""

    name: str = Field(description="column name as in the training data")
    type: str = Field(description="semantic type the model treats it as: numeric, categorical, text or datetime")
    json_type: JsonKind = Field(description="the JSON value a row gives: number, string or boolean (or null)")
    dtype: str | None = Field(None, description="pandas dtype in training, when recorded")
    levels: list[str] | None = Field(None, description="categories seen in training (others are treated as unknown)")


class RuleField(BaseModel):
    """A quality rule checked on every scored row; a broken rule is reported, the row is still scored.

    A rule on a column the request does not carry is broken by every row (as on the Predict page)."""

    column: str
    rule: str = Field(description="what the rule asks, as shown in violations")
    spec: dict[str, Any] = Field(description="the rule as saved in the model's definition")


class ModelIdentity(BaseModel):
    """Which model a service runs: shown in ``/schema`` and as the ``scoring_model_info`` metric."""

    name: str = "model"
    version: str = ""
    sha256: str = ""
    task: str = ""
    model: str = ""
    created: str = ""


class InputSchema(BaseModel):
    """Everything ``GET /schema`` answers; ``features`` is what ``POST /predict`` validates against."""

    model: ModelIdentity
    target: str | None = None
    classes: list[Any] | None = None
    features: list[FeatureField]
    rules: list[RuleField] = Field(default_factory=list)
    max_rows: int
    max_body_bytes: int
    example: dict[str, list[dict[str, Any]]] = Field(description='a valid request body: {"rows": [...]}')
    example_is_synthetic: bool = Field(
        description="true when the model file holds no example rows and the example only shows the shape")


def model_identity(model: LoadedModel, *, sha256: str = "", version: str = "", name: str = "") -> ModelIdentity:
    """Task, estimator and creation time from the metadata; hash, version and name (default: the definition's)
    from the caller, who knows where the model came from (a file, a registry stage)."""
    meta = model.metadata
    definition = meta.get("definition") or {}
    return ModelIdentity(name=name or str(definition.get("name") or meta.get("model") or "model"),
                         version=version or sha256[:12], sha256=sha256, task=str(meta.get("task") or ""),
                         model=str(meta.get("model") or ""), created=str(meta.get("created") or ""))


def feature_fields(model: LoadedModel) -> list[FeatureField]:
    """The raw columns the model needs, in training order (``required_features`` is the one source)."""
    return [_field(record) for record in required_features(model.pipeline, model.metadata)]


def without_target_rules(model: LoadedModel) -> LoadedModel:
    """The model with its definition's rules on the target left out, for a service to score with.

    A rule on the target is about training data. Requests never carry the target, and the convention of the
    Predict page (a rule on an absent column is broken by every row) would flag every scored row for it, in
    ``violations``, in the metrics and in the notice ``predict_frame`` adds. Predictions do not change.
    """
    definition = model.metadata.get("definition")
    target = quality.raw_target(model.metadata)  # the one reading of the target's raw name, as batch scoring uses
    if not isinstance(definition, dict) or not definition.get("rules") or target is None:
        return model
    rules = [r for r in definition["rules"] if not (isinstance(r, dict) and r.get("column") == target)]
    return LoadedModel(model.pipeline, {**model.metadata, "definition": {**definition, "rules": rules}})


def model_rules(model: LoadedModel) -> list[quality.Rule]:
    """The quality rules the model's definition carries (none for models saved before rules travelled)."""
    return quality.rules_of(model.metadata)


def build_schema(model: LoadedModel, identity: ModelIdentity, *, max_rows: int, max_body_bytes: int) -> InputSchema:
    features = feature_fields(model)
    rules = [RuleField(column=r.column, rule=r.describe(), spec=r.model_dump(mode="json")) for r in model_rules(model)]
    recorded = model.metadata.get("example_rows")
    examples = [dict(r) for r in recorded if isinstance(r, dict)] if isinstance(recorded, list) else []
    meta = model.metadata
    return InputSchema(model=identity, target=meta.get("target"), classes=meta.get("classes"), features=features,
                       rules=rules, max_rows=max_rows, max_body_bytes=max_body_bytes,
                       example={"rows": examples or [_example_row(features)]}, example_is_synthetic=not examples)


def _field(record: dict[str, Any]) -> FeatureField:
    kind, dtype = str(record.get("type") or ""), record.get("dtype")
    levels = record.get("levels")
    return FeatureField(name=str(record["name"]), type=kind, json_type=_json_kind(kind, dtype), dtype=dtype,
                        levels=[str(v) for v in levels] if isinstance(levels, list) else None)


def _json_kind(kind: str, dtype: str | None) -> JsonKind:
    """Numbers for numeric columns and columns that held numbers; true/false for boolean ones; text otherwise.

    A categorical column that held numbers in training (codes such as 1, 2, 3) still takes numbers, because
    the prediction check refuses text in a column that was numeric.
    """
    dtype = dtype or ""
    if dtype in ("bool", "boolean"):
        return "boolean"
    if kind == "numeric" or dtype.startswith(("int", "uint", "float", "Int", "UInt", "Float")):
        return "number"
    return "string"


def _example_row(features: list[FeatureField]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for f in features:
        if f.levels and f.json_type == "string":
            row[f.name] = f.levels[0]
        elif f.levels and f.json_type == "number":
            row[f.name] = _number(f.levels[0])
        elif f.json_type != "string":
            row[f.name] = _PLACEHOLDER[f.json_type]
        else:
            row[f.name] = _PLACEHOLDER.get(f.type, "a")
    return row


def _number(text: str) -> float | int:
    try:
        value = float(text)
    except ValueError:
        return 0
    return int(value) if value.is_integer() else value
