"""Table models, one ``XBase`` (the data) and one ``X(table=True)`` (id and timestamps) per entity.

JSON columns hold plain data (definitions, leaderboards, schemas) so this layer never
needs ``pipeline_core``. Timestamps are stored as UTC and always come back timezone-aware.
The schema itself is owned by the Alembic revisions in ``storage/migrations/versions``;
a test checks that these models and the migrations agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Dialect, Index, UniqueConstraint, event, text
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from storage.errors import StorageError


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A datetime column that is UTC on the way in and timezone-aware on the way out, on every database."""

    impl = DateTime
    cache_ok = True

    def __init__(self) -> None:
        super().__init__(timezone=True)

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class RunStatus(StrEnum):
    """Stored as plain text, so adding a status later needs no database enum migration.

    ``INTERRUPTED`` is only read: older versions closed a run a stopped server left behind with it;
    such a run is now closed as ``FAILED`` with :data:`STOPPED_RUN_MESSAGE` (or, if it was still queued,
    :data:`NEVER_STARTED_RUN_MESSAGE`).
    """

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"


ACTIVE_STATUSES = frozenset({RunStatus.QUEUED, RunStatus.RUNNING})
CLOSING_STATUSES = frozenset({RunStatus.DONE, RunStatus.FAILED, RunStatus.CANCELLED})
"""What a run can be finished as now."""
FINISHED_STATUSES = CLOSING_STATUSES | {RunStatus.INTERRUPTED}
"""What a finished run may hold, rows written by older versions included."""
STOPPED_RUN_MESSAGE = (
    "Pipeline Studio stopped while this run was in progress (the app was restarted or its training workers "
    "were shut down), so the run did not finish. You can start it again: 'Run it again' on the Train page "
    "trains the same pipeline on the same data."
)
"""The error of a run left running by a process that is gone, written for the person who started it."""
NEVER_STARTED_RUN_MESSAGE = (
    "Pipeline Studio stopped before this run started (the app was restarted or its training workers were shut "
    "down while it waited in the queue), so it never ran. You can start it now: 'Run it again' on the Train page "
    "trains the same pipeline on the same data."
)
"""The error of a run left queued by a process that is gone: telling it "stopped while in progress" was wrong
(it never started, so nothing of it ran and no partial result exists)."""


def lost_run_message(status: str) -> str:
    """The error for a run a gone process left in ``status``: it never started if it was still queued."""
    return NEVER_STARTED_RUN_MESSAGE if status == RunStatus.QUEUED else STOPPED_RUN_MESSAGE


DEFAULT_WORKSPACE_ID = 1
"""The workspace migration 0014 created for the data from before workspaces; rows made without naming a workspace
go there, which is where a single local user works."""


def _workspace_column() -> Any:
    # Nullable in the database only: SQLite adds a column with a foreign key in place only if it may be NULL, and
    # rebuilding these tables instead would cascade-delete what references them. The application always sets it,
    # and a row without one belongs to no workspace, so nobody sees it.
    # No ON DELETE action: a workspace that still holds anything cannot be deleted (its files would be orphaned).
    return Field(default=DEFAULT_WORKSPACE_ID, foreign_key="workspaces.id", index=True, nullable=True)


class DatasetBase(SQLModel):
    workspace_id: int = _workspace_column()
    name: str
    file_name: str
    format: str
    n_rows: int = Field(sa_type=BigInteger)
    n_columns: int
    columns: list[dict[str, str]] = Field(default_factory=list, sa_type=JSON)
    sha256: str = Field(index=True)  # unique per workspace: the same file uploaded in two is two datasets, one file
    parquet_path: str
    parquet_sha256: str
    parquet_size: int = Field(sa_type=BigInteger)
    # the account that uploaded it, whose storage limit it counts against; None: the local user (or from before 0015)
    owner_id: int | None = Field(default=None, foreign_key="users.id", index=True)


class Dataset(DatasetBase, table=True):
    """An uploaded table, stored once as Parquet and identified by the sha256 of the uploaded bytes."""

    __tablename__ = "datasets"
    __table_args__ = (Index("uq_datasets_workspace_sha256", "workspace_id", "sha256", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PipelineBase(SQLModel):
    workspace_id: int = _workspace_column()
    name: str = Field(index=True)  # unique per workspace


class Pipeline(PipelineBase, table=True):
    """A named pipeline; its content lives in immutable :class:`PipelineVersion` rows."""

    __tablename__ = "pipelines"
    __table_args__ = (Index("uq_pipelines_workspace_name", "workspace_id", "name", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PipelineVersionBase(SQLModel):
    pipeline_id: int = Field(foreign_key="pipelines.id", ondelete="CASCADE", index=True)
    version: int
    definition: dict[str, Any] = Field(sa_type=JSON)
    definition_sha256: str = Field(index=True)
    note: str = ""


class PipelineVersion(PipelineVersionBase, table=True):
    """Version N of a pipeline: written once, never updated (see :func:`_refuse_update`)."""

    __tablename__ = "pipeline_versions"
    __table_args__ = (UniqueConstraint("pipeline_id", "version", name="uq_pipeline_versions_pipeline_id_version"),)

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class RunBase(SQLModel):
    workspace_id: int = _workspace_column()
    pipeline_version_id: int | None = Field(
        default=None, foreign_key="pipeline_versions.id", ondelete="SET NULL", index=True
    )
    dataset_id: int | None = Field(default=None, foreign_key="datasets.id", ondelete="SET NULL", index=True)
    status: str = Field(default=RunStatus.QUEUED.value, index=True)
    owner: str | None = Field(default=None, index=True)  # who submitted it: its active runs are capped per owner
    # the account that submitted it (its job and storage limits count it); None: the local user
    owner_id: int | None = Field(default=None, foreign_key="users.id", index=True)
    error: str | None = None
    failed_model: str | None = None
    leaderboard: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    summary: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)  # the core's RunSummary, as JSON
    seed: int | None = None
    library_versions: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    progress: float = Field(default=0.0, sa_column_kwargs={"server_default": "0"})
    progress_message: str = Field(default="", sa_column_kwargs={"server_default": ""})
    progress_updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    progress_event: dict[str, Any] | None = Field(default=None, sa_type=JSON)  # the core's last ProgressEvent
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Run(RunBase, table=True):
    """One training run: what ran on which data, how far it got, and its leaderboard."""

    __tablename__ = "runs"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ArtifactRole(StrEnum):
    """What a run's model file is for; stored as plain text, like :class:`RunStatus`."""

    MODEL = "model"
    HOLDOUT = "holdout"


class ModelArtifactBase(SQLModel):
    run_id: int = Field(foreign_key="runs.id", ondelete="CASCADE", index=True)
    model_name: str = ""
    format: str
    path: str
    size: int = Field(sa_type=BigInteger)
    sha256: str = Field(index=True)
    # "model": what the run saves and serves; "holdout": the model its hold-out rows scored, kept when the saved
    # model was refitted on every row (issue 20 point 4), so hold-out charts and audits never use a model that saw them
    role: str = Field(default=ArtifactRole.MODEL.value, sa_column_kwargs={"server_default": ArtifactRole.MODEL.value})


class ModelArtifact(ModelArtifactBase, table=True):
    """A fitted model file of a run, stored by content hash under ``<home>/models``."""

    __tablename__ = "model_artifacts"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ModelStage(StrEnum):
    """Where a registered model version stands. Stored as plain text, like :class:`RunStatus`."""

    NONE = "none"
    STAGING = "staging"
    PRODUCTION = "production"
    ARCHIVED = "archived"


ONE_PRODUCTION_WHERE = "stage = 'production'"
"""The partial index condition that lets a pipeline hold at most one production version (SQLite and PostgreSQL)."""


class RegisteredModelBase(SQLModel):
    pipeline_id: int = Field(foreign_key="pipelines.id", ondelete="CASCADE", index=True)
    version: int
    artifact_id: int = Field(foreign_key="model_artifacts.id", ondelete="RESTRICT", index=True)
    run_id: int = Field(foreign_key="runs.id", ondelete="RESTRICT", index=True)
    pipeline_version_id: int = Field(foreign_key="pipeline_versions.id", ondelete="CASCADE", index=True)
    data_sha256: str | None = None
    metrics: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)  # CV means/stds and hold-out scores
    stage: str = Field(default=ModelStage.NONE.value, index=True)
    created_by: str = ""
    note: str = ""


class RegisteredModel(RegisteredModelBase, table=True):
    """Version N of a pipeline's model registry: one run's saved model, with its lineage and stage.

    The partial unique index keeps two production versions of one pipeline out of the database itself, so two
    promotions racing each other cannot both commit. Runs and model files a version points at cannot be deleted
    (``RESTRICT``): the registry is the record of what was deployed.
    """

    __tablename__ = "registered_models"
    __table_args__ = (
        UniqueConstraint("pipeline_id", "version", name="uq_registered_models_pipeline_id_version"),
        UniqueConstraint("pipeline_id", "artifact_id", name="uq_registered_models_pipeline_id_artifact_id"),
        Index("uq_registered_models_one_production", "pipeline_id", unique=True,
              sqlite_where=text(ONE_PRODUCTION_WHERE), postgresql_where=text(ONE_PRODUCTION_WHERE)),
    )

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class StageChangeBase(SQLModel):
    pipeline_id: int = Field(foreign_key="pipelines.id", ondelete="CASCADE", index=True)
    registered_model_id: int = Field(foreign_key="registered_models.id", ondelete="CASCADE", index=True)
    version: int
    from_stage: str | None = None  # None: the version was registered by this change
    to_stage: str
    changed_by: str = ""
    reason: str = ""
    rollback: bool = False


class StageChange(StageChangeBase, table=True):
    """One move of a registered version between stages: who, when, why, from and to. Written once, never changed."""

    __tablename__ = "model_stage_changes"

    id: int | None = Field(default=None, primary_key=True)
    changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class DraftBase(SQLModel):
    workspace_id: int = _workspace_column()
    token: str = Field(index=True, unique=True)  # in the page address; random, so drafts cannot be enumerated
    dataset_id: int | None = Field(default=None, foreign_key="datasets.id", ondelete="SET NULL", index=True)
    definition: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)  # the pipeline being edited
    context: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)  # what the pages need around it
    revision: int = 0  # +1 on every save, so a tab can tell that another tab saved since it last read


class Draft(DraftBase, table=True):
    """The working pipeline of a browser tab, saved on every edit so a refresh, a second tab or a server restart
    finds it where it was left. Overwritten in place (unlike a pipeline version, which is immutable)."""

    __tablename__ = "drafts"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ScoringServiceBase(SQLModel):
    pipeline_id: int = Field(foreign_key="pipelines.id", ondelete="CASCADE", index=True)
    version: int  # the registry version it serves (loaded when it started)
    stage: str
    pid: int  # the service's process on this machine
    host: str
    port: int
    started_by: str = ""
    # what the service accepts for GET /metrics alone when it takes API tokens (sign-in configured), so the Models
    # page can read its request count; kept in clear because the page sends it, and it reads nothing else
    metrics_secret: str = ""


class ScoringService(ScoringServiceBase, table=True):
    """A scoring service started from the Models page: its process and where it listens.

    Kept after it stops (``stopped_at`` set), so a restarted app still knows which services it started and
    can stop them; the application layer checks the process is still that service before signalling it.
    """

    __tablename__ = "scoring_services"

    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    stopped_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


SHADOW_SOURCE = "shadow"  # a log row's source when a challenger scored it in shadow: logged, never returned


class PredictionLogBase(SQLModel):
    logged_at: datetime = Field(sa_type=UTCDateTime)  # when the row was scored
    source: str  # service, batch or page
    pipeline_id: int | None = Field(default=None, foreign_key="pipelines.id", ondelete="CASCADE")
    model_version: int | None = None  # the registry version that scored it (None: a model not registered)
    model_sha256: str = ""
    request_id: str
    row_id: int  # the row's position in its request or file, from 0
    inputs: dict[str, Any] | None = Field(default=None, sa_type=JSON(none_as_null=True))  # None: not sampled
    prediction: Any = Field(default=None, sa_type=JSON)
    latency_ms: float  # the whole request's scoring time, the same on each of its rows
    # the quality rules the row broke, as [rule, column] pairs; None: none (or logged before 0010 recorded them)
    violations: list[list[str]] | None = Field(default=None, sa_type=JSON(none_as_null=True))


class PredictionLog(PredictionLogBase, table=True):
    """One scored row: which model scored it, when, its inputs (or not, when sampled out), output and latency.

    Append-only, written in batches by a background writer; pruned by age and by count (``storage.predictions``).
    """

    __tablename__ = "prediction_logs"
    __table_args__ = (Index("ix_prediction_logs_request_row", "request_id", "row_id"),
                      Index("ix_prediction_logs_pipeline_time", "pipeline_id", "logged_at"),
                      Index("ix_prediction_logs_logged_at", "logged_at"))

    id: int | None = Field(default=None, primary_key=True)


class PredictionMinuteBase(SQLModel):
    pipeline_id: int = Field(foreign_key="pipelines.id", ondelete="CASCADE")
    minute: int = Field(sa_type=BigInteger)  # its start, in seconds since the epoch (UTC), a multiple of 60
    model_version: int  # the registry version, or NO_VERSION for rows of a model that is not registered
    shadow: bool  # a challenger's answers scored in shadow (never returned), kept apart from the served ones
    rows: int
    requests: int  # rows that start a request (row_id 0), each carrying the request's latency
    latencies: str = ""  # those requests' latencies in ms, comma-separated, each exact (repr / round-trip text)


class PredictionMinute(PredictionMinuteBase, table=True):
    """The prediction log of one pipeline counted per minute, version and shadow-or-served, kept by the log's writer
    in the same transaction as the rows (``storage.prediction_minutes``), so the Monitor's traffic reads thousands
    of these instead of grouping a million logged rows."""

    __tablename__ = "prediction_minutes"
    __table_args__ = (UniqueConstraint("pipeline_id", "minute", "model_version", "shadow",
                                       name="uq_prediction_minutes_key"),)

    id: int | None = Field(default=None, primary_key=True)


class GroundTruthBase(SQLModel):
    request_id: str
    row_id: int
    outcome: Any = Field(default=None, sa_type=JSON)


class GroundTruth(GroundTruthBase, table=True):
    """The true outcome of a logged row, joined to it on (request id, row id); a later upload replaces it."""

    __tablename__ = "ground_truths"
    __table_args__ = (UniqueConstraint("request_id", "row_id", name="uq_ground_truths_request_row"),
                      Index("ix_ground_truths_received_at", "received_at"))

    id: int | None = Field(default=None, primary_key=True)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AlertThresholdsBase(SQLModel):
    pipeline_id: int = Field(foreign_key="pipelines.id", ondelete="CASCADE")
    thresholds: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)  # the application's typed thresholds
    updated_by: str = ""


class AlertThresholds(AlertThresholdsBase, table=True):
    """The alert thresholds a user set for one pipeline (drift, performance, rule violations), one row per pipeline.

    The thresholds are plain JSON here; their shape and meaning are the application's (``studio.alerts``).
    """

    __tablename__ = "alert_thresholds"
    __table_args__ = (UniqueConstraint("pipeline_id", name="uq_alert_thresholds_pipeline_id"),)

    id: int | None = Field(default=None, primary_key=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class RetrainBase(SQLModel):
    pipeline_id: int = Field(foreign_key="pipelines.id", ondelete="CASCADE", index=True)
    from_version: int  # the registry version whose definition and training data were re-run
    run_id: int | None = Field(default=None, foreign_key="runs.id", ondelete="SET NULL", index=True)
    dataset_id: int | None = Field(default=None, foreign_key="datasets.id", ondelete="SET NULL")
    source: str  # log: the version's training data plus labelled logged rows; file: a file the user picked
    base_rows: int  # rows of the version's training data (source log) or of the file (source file)
    added_rows: int = 0  # labelled logged rows added to the training data
    without_inputs: int = 0  # labelled logged rows left out: their inputs were sampled out of the log
    file_name: str | None = None
    labels_through: datetime | None = Field(default=None, sa_type=UTCDateTime)  # newest outcome taken in
    version: int | None = None  # the registry version the retrained model became, once registered
    error: str | None = None  # why the finished run's model could not be registered
    created_by: str = ""


class Retrain(RetrainBase, table=True):
    """One retrain of a registered version: on which rows, its training run, and the version it produced.

    The run carries the progress and status; this row is the lineage a challenger keeps ("retrain of version 2
    on 1,000 training rows and 120 labelled logged rows") and tells the next retrain which outcomes are new.
    """

    __tablename__ = "retrains"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class UserBase(SQLModel):
    name: str
    password_hash: str = Field(repr=False)  # argon2id, with its own salt and parameters; never the password
    is_admin: bool = False
    failed_sign_ins: int = 0  # wrong passwords since the last sign-in or lockout
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # fair sharing (issue 19 point 5): the administrator's limits for this account; None: the server's default
    max_jobs: int | None = None
    max_storage_bytes: int | None = Field(default=None, sa_type=BigInteger)
    # single sign-on (issue 19 point 1): the OpenID Connect issuer and subject that sign this account in (both None
    # for a built-in account); the pair, never the name or e-mail, is who the provider says the person is
    oidc_issuer: str | None = None
    oidc_subject: str | None = None


class User(UserBase, table=True):
    """An account (issue 19): its name, and either a password hash and the state of its sign-in lockout (built-in) or
    the single sign-on identity it is (``password_hash`` empty, which no password matches)."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("name", name="uq_users_name"),
                      Index("uq_users_oidc_identity", "oidc_issuer", "oidc_subject", unique=True))

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class UserSessionBase(SQLModel):
    token_sha256: str = Field(repr=False)  # the browser holds the token; a copy of this table grants nothing
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    expires_at: datetime = Field(sa_type=UTCDateTime)


class UserSession(UserSessionBase, table=True):
    """A signed-in browser: the hash of its token, whose account, until when. Signing out deletes it."""

    __tablename__ = "user_sessions"
    __table_args__ = (UniqueConstraint("token_sha256", name="uq_user_sessions_token_sha256"),)

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WorkspaceBase(SQLModel):
    name: str


class Workspace(WorkspaceBase, table=True):
    """A shared space of work (issue 19): its datasets, drafts, pipelines and runs name it; a pipeline's registry
    versions, services, prediction log, alert thresholds and retrains, and a run's model files, belong to it
    through their pipeline or run. Who may do what in it is a :class:`Membership`."""

    __tablename__ = "workspaces"
    __table_args__ = (UniqueConstraint("name", name="uq_workspaces_name"),)

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WorkspaceRole(StrEnum):
    """A member's role, each allowing what the one before allows and more. Stored as plain text."""

    VIEWER = "viewer"
    EDITOR = "editor"
    OWNER = "owner"


class MembershipBase(SQLModel):
    workspace_id: int = Field(foreign_key="workspaces.id", ondelete="CASCADE", index=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    role: str


class Membership(MembershipBase, table=True):
    """One account's role in one workspace; an account with no row here sees nothing of the workspace."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("workspace_id", "user_id", name="uq_memberships_workspace_user"),)

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ApiTokenBase(SQLModel):
    name: str
    prefix: str  # the token's first characters, shown in lists so its holder can tell which one it is
    token_sha256: str = Field(repr=False)  # the token itself is shown once and never stored
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    workspace_id: int = Field(foreign_key="workspaces.id", ondelete="CASCADE", index=True)
    role: str  # at most its creator's role in the workspace when made; checked again against it on every use
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_by: str | None = None


class ApiToken(ApiTokenBase, table=True):
    """An API token (issue 19 point 3): lets a program act as one account, in one workspace, with one role at
    most, for the scoring service and the command line. Revoking keeps the row (it says who revoked it, when)."""

    __tablename__ = "api_tokens"
    __table_args__ = (UniqueConstraint("token_sha256", name="uq_api_tokens_token_sha256"),)

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AuditEventBase(SQLModel):
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    kind: str  # what happened: sign in, upload, delete, stage change, member change, token created, token used, ...
    actor: str  # the account's name (or "local user"), as it was then; a typed name for a refused sign-in
    user_id: int | None = None  # no foreign key: the record outlives whatever it names
    workspace_id: int | None = Field(default=None, index=True)  # None for account events (sign-ins)
    target: str = ""  # what it was done to, in words ("dataset #3 'iris'")
    detail: str = ""
    token_id: int | None = None  # the API token acted through, if any
    count: int = 1  # token use is one row per token and minute, counting the requests


class AuditEvent(AuditEventBase, table=True):
    """One entry of the audit log (issue 19 point 4): who did what, when, where. Written by the application layer
    only (``studio.audit_log``), never changed except a token-use row's count within its minute."""

    __tablename__ = "audit_events"

    id: int | None = Field(default=None, primary_key=True)


TABLES = ("datasets", "pipelines", "pipeline_versions", "runs", "model_artifacts", "registered_models",
          "model_stage_changes", "drafts", "scoring_services", "prediction_logs", "prediction_minutes", "ground_truths",
          "alert_thresholds", "retrains", "users", "user_sessions", "workspaces", "memberships", "api_tokens",
          "audit_events")


@event.listens_for(PipelineVersion, "before_update")
def _refuse_update(_mapper: Any, _connection: Any, target: PipelineVersion) -> None:
    """Runs and exports refer to a version by number, so its content must never change."""
    raise StorageError(
        f"Version {target.version} of a pipeline is read-only; save the change as a new version instead."
    )
