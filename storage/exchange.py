"""Export a pipeline with its whole version history as one JSON document, and import it back.

The document is self-describing (``format``/``format_version``) and carries each version's
definition hash, so an import can tell a damaged or hand-edited file from a genuine export.
Runs, datasets and models are not included: they belong to the machine that produced them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlmodel import Session, select

from storage.db import write
from storage.errors import StorageError
from storage.models import DEFAULT_WORKSPACE_ID, Pipeline, PipelineVersion, utcnow
from storage.repository import canonical_json, clean_name, definition_sha256, get_pipeline, list_versions
from storage.store import Store

EXPORT_FORMAT = "pipeline-studio/pipeline"
EXPORT_FORMAT_VERSION = 1
MAX_NAME_SUFFIX = 1000


class ExportedVersion(BaseModel):
    model_config = ConfigDict(extra="ignore")

    version: int = Field(ge=1)
    definition: dict[str, Any]
    note: str = ""
    created_at: datetime | None = None
    definition_sha256: str | None = None


class ExportedPipeline(BaseModel):
    model_config = ConfigDict(extra="ignore")

    format: Literal["pipeline-studio/pipeline"]
    format_version: Literal[1]
    name: str = Field(min_length=1)
    versions: list[ExportedVersion] = Field(min_length=1)


def export_pipeline(store: Store, pipeline_id: int) -> dict[str, Any]:
    """The pipeline and all its versions as JSON-ready data (``json.dump`` it to a file)."""
    pipeline = get_pipeline(store, pipeline_id)
    if pipeline is None:
        raise StorageError(f"Pipeline {pipeline_id} does not exist (it may have been deleted).")
    versions = [
        {
            "version": v.version,
            "definition": v.definition,
            "definition_sha256": v.definition_sha256,
            "note": v.note,
            "created_at": v.created_at.isoformat(),
        }
        for v in list_versions(store, pipeline_id)
    ]
    return {
        "format": EXPORT_FORMAT,
        "format_version": EXPORT_FORMAT_VERSION,
        "name": pipeline.name,
        "exported_at": utcnow().isoformat(),
        "versions": versions,
    }


def _where(location: tuple[int | str, ...]) -> str:
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _parse(data: Any) -> ExportedPipeline:
    """Validate the document's shape; the message names the first few fields at fault."""
    if not isinstance(data, dict):
        raise StorageError("This is not a Pipeline Studio pipeline export: expected a JSON object at the top level.")
    if data.get("format") != EXPORT_FORMAT:
        raise StorageError(f"This is not a Pipeline Studio pipeline export: 'format' should be '{EXPORT_FORMAT}'.")
    if data.get("format_version") != EXPORT_FORMAT_VERSION:
        raise StorageError(
            f"This export uses format version {data.get('format_version')!r}, but this Pipeline Studio reads "
            f"version {EXPORT_FORMAT_VERSION}. Export it again from a matching Pipeline Studio."
        )
    try:
        parsed = ExportedPipeline.model_validate(data)
    except ValidationError as e:
        problems = "; ".join(f"{_where(err['loc'])}: {err['msg']}" for err in e.errors()[:5])
        raise StorageError(f"The pipeline export is damaged or incomplete: {problems}.") from e
    _check_versions(parsed.versions)
    return parsed


def _check_versions(versions: list[ExportedVersion]) -> None:
    numbers = [v.version for v in versions]
    if numbers != sorted(set(numbers)):
        raise StorageError(f"The pipeline export lists versions {numbers}; they must be distinct and in order.")
    for item in versions:
        canonical_json(item.definition)
        if item.definition_sha256 and item.definition_sha256 != definition_sha256(item.definition):
            raise StorageError(
                f"Version {item.version} in the export does not match its recorded hash: the file was edited "
                "or damaged. To accept a deliberate edit, remove that version's 'definition_sha256'."
            )


def _free_name(session: Session, workspace_id: int, wanted: str) -> str:
    """``wanted``, or ``wanted (2)``, ``wanted (3)``... whichever the workspace has not taken yet."""
    for number in range(1, MAX_NAME_SUFFIX + 1):
        candidate = wanted if number == 1 else f"{wanted} ({number})"
        taken = select(Pipeline.id).where(Pipeline.workspace_id == workspace_id, Pipeline.name == candidate)
        if session.exec(taken).first() is None:
            return candidate
    raise StorageError(f"Too many pipelines are named like '{wanted}'; import it under another name.")


def import_pipeline(store: Store, data: dict[str, Any], *, name: str | None = None,
                    workspace_id: int = DEFAULT_WORKSPACE_ID) -> Pipeline:
    """Create a new pipeline in ``workspace_id`` from an export, keeping version numbers, notes and dates.

    The pipeline is named ``name`` or the exported name; if that is taken, a suffix such as
    `` (2)`` is added rather than merging into the existing pipeline.
    """
    parsed = _parse(data)
    wanted = clean_name(name if name is not None else parsed.name, "pipeline")

    def work(session: Session) -> Pipeline:
        pipeline = Pipeline(name=_free_name(session, workspace_id, wanted), workspace_id=workspace_id)
        session.add(pipeline)
        session.flush()
        for item in parsed.versions:
            session.add(
                PipelineVersion(
                    pipeline_id=pipeline.id,
                    version=item.version,
                    definition=item.definition,
                    definition_sha256=definition_sha256(item.definition),
                    note=item.note,
                    created_at=item.created_at or utcnow(),
                )
            )
        session.flush()
        return pipeline

    return write(store, work, retry_conflicts=True)
