"""A model bundle: one zip with everything someone outside Pipeline Studio needs to use a trained model.

``model.skops`` (the fitted pipeline, loaded with the trusted-type list), ``schema.json`` (the columns it
reads: names, semantic types, dtypes, allowed levels, five example rows), ``rules.json`` (the definition's
quality rules), ``reference.json`` (the training statistics drift compares new rows with, see
:mod:`pipeline_core.analysis.drift_reference`), ``metadata.json``, ``requirements.txt`` (pinned) and a
``README.md`` for the person who receives it.

:func:`load_bundle` reads one back under the rules of every upload: size, zip safety (no path tricks, no
zip bomb), only the entries a bundle has, JSON validated into typed objects, and the model through
:func:`~pipeline_core.artifacts.skops_io.load_model`; nothing is ever unpickled.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
from pydantic import BaseModel, ValidationError

from pipeline_core.analysis.drift_reference import DriftReference, drift_kind, drift_reference
from pipeline_core.artifacts.bundle_readme import bundle_readme
from pipeline_core.artifacts.bundle_schema import BundleSchema, SchemaColumn
from pipeline_core.artifacts.metadata import runtime_requirements
from pipeline_core.artifacts.predict import required_features
from pipeline_core.artifacts.skops_io import LoadedModel, dump_model, load_model, read_source
from pipeline_core.errors import DataError, ModelError
from pipeline_core.io.safety import MODEL_ZIP_LIMITS, zip_problem
from pipeline_core.json_data import plain_value

MODEL, SCHEMA, RULES, REFERENCE, METADATA, REQUIREMENTS, README = (
    "model.skops", "schema.json", "rules.json", "reference.json", "metadata.json", "requirements.txt", "README.md")
ENTRIES = (MODEL, SCHEMA, RULES, REFERENCE, METADATA, REQUIREMENTS, README)
EXAMPLE_ROWS = 5
MAX_JSON_BYTES = 50 * 2**20


@dataclass(frozen=True)
class LoadedBundle:
    """A bundle read back: the model (pipeline + metadata) and what travels with it."""

    model: LoadedModel
    schema: BundleSchema
    rules: list[dict[str, Any]]
    reference: DriftReference
    requirements: list[str]

    @property
    def pipeline(self) -> Any:
        return self.model.pipeline

    @property
    def metadata(self) -> dict[str, Any]:
        return self.model.metadata


def dump_bundle(pipeline: Any, metadata: dict[str, Any], training: pd.DataFrame) -> bytes:
    """The bundle zip for a fitted pipeline, its metadata, and the raw rows it was trained on.

    ``training`` gives the example rows and the drift reference; it must hold every column the model reads.
    """
    schema = bundle_schema(pipeline, metadata, training)
    names = [c.name for c in schema.columns]
    reference = drift_reference(training[names], {c.name: drift_kind(c.type) for c in schema.columns})
    rules = list((metadata.get("definition") or {}).get("rules", []) or [])
    requirements = list(metadata.get("requirements") or runtime_requirements())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MODEL, dump_model(pipeline, "skops", metadata))
        archive.writestr(SCHEMA, schema.model_dump_json(indent=1))
        archive.writestr(RULES, json.dumps(rules, indent=1))
        archive.writestr(REFERENCE, reference.model_dump_json())
        archive.writestr(METADATA, json.dumps(metadata, indent=1, default=str))
        archive.writestr(REQUIREMENTS, requirements_text(requirements))
        archive.writestr(README, bundle_readme(schema, rules, requirements, metadata))
    return buffer.getvalue()


def bundle_schema(pipeline: Any, metadata: dict[str, Any], training: pd.DataFrame) -> BundleSchema:
    """The input schema, from what training recorded and :data:`EXAMPLE_ROWS` rows of the training data."""
    features = required_features(pipeline, metadata)
    names = [f["name"] for f in features]
    missing = [n for n in names if n not in training.columns]
    if missing:
        raise DataError(f"the training data lacks column(s) the model reads: {', '.join(map(repr, missing))}; "
                        "a bundle needs the data the model was trained on")
    columns = [SchemaColumn(name=f["name"], type=f["type"], dtype=f.get("dtype") or str(training[f["name"]].dtype),
                            levels=f.get("levels")) for f in features]
    examples = [{n: _plain(v) for n, v in row.items()} for row in training[names].head(EXAMPLE_ROWS).to_dict("records")]
    return BundleSchema(task=metadata.get("task"), target=metadata.get("target"), classes=metadata.get("classes"),
                        columns=columns, examples=examples)


def _plain(value: Any) -> Any:
    """A cell as JSON holds it exactly: missing as null, times as ISO text, numpy scalars as Python values."""
    if value is None or (not isinstance(value, (str, bytes)) and pd.isna(value)):
        return None
    if isinstance(value, (pd.Timestamp, pd.Timedelta)):
        return value.isoformat()
    return plain_value(value) if not isinstance(value, (list, dict)) else str(value)


def requirements_text(requirements: list[str]) -> str:
    """requirements.txt: the pins, with how to get this project's package, which is not on a public index."""
    return ("# Pinned packages this model was saved with; install them with pip install -r requirements.txt.\n"
            "# pipeline-studio is the Pipeline Studio project itself: install it first from its repository or\n"
            "# wheel (pip install /path/to/pipeline-studio), then this file.\n" + "\n".join(requirements) + "\n")


def is_bundle(source: str | Path | bytes) -> bool:
    """Whether ``source`` is a zip holding a bundle's model entry (a plain skops file is a zip too, without it)."""
    data, _ = read_source(source)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return MODEL in archive.namelist()
    except (zipfile.BadZipFile, ValueError):
        return False


def load_bundle(source: str | Path | bytes, *, name: str | None = None) -> LoadedBundle:
    """Read a bundle safely: archive checks, only the known entries, typed JSON, the model via ``load_model``."""
    data, default_name = read_source(source)
    name = name or (default_name if default_name != "model" else "bundle")
    entries = _checked_entries(data, name)
    model = load_model(entries[MODEL], "skops", name=f"{name}/{MODEL}")
    schema = _parsed(entries, SCHEMA, name, BundleSchema)
    reference = _parsed(entries, REFERENCE, name, DriftReference)
    rules = _json(entries, RULES, name)
    if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
        raise ModelError(f"'{name}': {RULES} is not a list of rules")
    requirements = [line.strip() for line in entries[REQUIREMENTS].decode("utf-8", "replace").splitlines()
                    if line.strip() and not line.lstrip().startswith("#")]
    return LoadedBundle(model=model, schema=schema, rules=rules, reference=reference, requirements=requirements)


def _checked_entries(data: bytes, name: str) -> dict[str, bytes]:
    if data[:4] != b"PK\x03\x04":
        raise ModelError(f"'{name}' is not a model bundle (a bundle is a zip file)")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            problem = zip_problem(infos, MODEL_ZIP_LIMITS)
            if problem is not None:
                where = f" (entry '{problem.entry}')" if problem.entry else ""
                raise ModelError(f"'{name}' is not a safe archive{where}: {_problem_words[problem.kind]}; "
                                 "refusing to open it")
            names = [i.filename for i in infos]
            unknown = sorted(set(names) - set(ENTRIES))
            if unknown:
                raise ModelError(f"'{name}' holds entries a model bundle does not have ({', '.join(unknown[:5])}); "
                                 "refusing to open it")
            absent = [e for e in ENTRIES if e not in names]
            if absent:
                raise ModelError(f"'{name}' is not a complete model bundle: it lacks {', '.join(absent)}")
            if len(names) != len(set(names)):
                raise ModelError(f"'{name}' holds an entry twice; refusing to open it")
            return {i.filename: archive.read(i) for i in infos}
    except (zipfile.BadZipFile, ValueError, NotImplementedError) as e:
        raise ModelError(f"'{name}' is not a readable model bundle: {e}") from e


_Parsed = TypeVar("_Parsed", bound=BaseModel)
_problem_words = {"entries": "too many entries", "path": "an entry's path leaves the archive",
                  "ratio": "it expands like a zip bomb", "size": "it unpacks to too many bytes"}


def _json(entries: dict[str, bytes], entry: str, name: str) -> Any:
    raw = entries[entry]
    if len(raw) > MAX_JSON_BYTES:
        raise ModelError(f"'{name}': {entry} is {len(raw):,} bytes, more than a bundle needs")
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as e:
        raise ModelError(f"'{name}': {entry} is not valid JSON ({e})") from e


def _parsed(entries: dict[str, bytes], entry: str, name: str, kind: type[_Parsed]) -> _Parsed:
    try:
        return kind.model_validate(_json(entries, entry, name))
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(map(str, first["loc"])) or "its top level"
        raise ModelError(f"'{name}': {entry} is not a valid {entry.removesuffix('.json')} ({where}: {first['msg']})") \
            from e


def load_model_or_bundle(source: str | Path | bytes, *, name: str | None = None) -> LoadedModel:
    """The model of a bundle zip or of a plain skops file, whichever ``source`` is (for ``predict``)."""
    data, default_name = read_source(source)
    name = name or default_name
    return load_bundle(data, name=name).model if is_bundle(data) else load_model(data, "skops", name=name)
