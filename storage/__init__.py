"""Pipeline Studio storage: datasets, versioned pipelines, runs and model files.

Everything the application layer needs is importable from here. Each function takes the
:class:`Store` to work on (a database URL and a home directory) as its first argument, opens and
closes its own short transaction and returns detached rows; the one error to catch is
:class:`StorageError`. Pipeline definitions are plain dicts here (this layer does not
import ``pipeline_core``). See ``docs/storage.md``.
"""

from storage.db import create_db_and_tables, get_engine, reset_engines
from storage.diff import diff_versions, summarize_changes
from storage.errors import StorageError
from storage.exchange import export_pipeline, import_pipeline
from storage.maintenance import cleanup_orphans, init_db
from storage.models import (
    NEVER_STARTED_RUN_MESSAGE,
    STOPPED_RUN_MESSAGE,
    Dataset,
    ModelArtifact,
    Pipeline,
    PipelineVersion,
    Run,
    RunStatus,
)
from storage.repository import (
    best_run,
    canonical_json,
    create_run,
    definition_sha256,
    delete_dataset,
    delete_pipeline,
    delete_run,
    finish_run,
    get_dataset,
    get_dataset_by_sha256,
    get_model_artifact,
    get_pipeline,
    get_run,
    get_version,
    get_version_by_id,
    link_run_to_version,
    list_datasets,
    list_model_artifacts,
    list_pipelines,
    list_runs,
    list_versions,
    load_frame,
    load_model_bytes,
    load_rows,
    mark_interrupted_runs,
    run_score,
    save_dataset,
    save_imported_model,
    save_model_artifact,
    save_pipeline_version,
    start_run,
    update_run_progress,
)
from storage.store import Store

__all__ = [
    "Dataset",
    "ModelArtifact",
    "NEVER_STARTED_RUN_MESSAGE",
    "Pipeline",
    "PipelineVersion",
    "Run",
    "RunStatus",
    "STOPPED_RUN_MESSAGE",
    "StorageError",
    "Store",
    "best_run",
    "canonical_json",
    "cleanup_orphans",
    "create_db_and_tables",
    "create_run",
    "definition_sha256",
    "delete_dataset",
    "delete_pipeline",
    "delete_run",
    "diff_versions",
    "export_pipeline",
    "finish_run",
    "get_dataset",
    "get_dataset_by_sha256",
    "get_engine",
    "get_model_artifact",
    "get_pipeline",
    "get_run",
    "get_version",
    "get_version_by_id",
    "import_pipeline",
    "init_db",
    "list_datasets",
    "list_model_artifacts",
    "list_pipelines",
    "list_runs",
    "link_run_to_version",
    "list_versions",
    "load_frame",
    "load_model_bytes",
    "load_rows",
    "mark_interrupted_runs",
    "reset_engines",
    "run_score",
    "save_dataset",
    "save_imported_model",
    "save_model_artifact",
    "save_pipeline_version",
    "start_run",
    "summarize_changes",
    "update_run_progress",
]
