"""Every environment variable Pipeline Studio reads, validated once, with a one-line reason for a bad value.

Before this object each module read its own variables and quietly fell back on a default when a value
did not parse (``PIPELINE_STUDIO_MAX_JOBS=two`` crashed the first training, a negative memory budget was
ignored). Now the app, the CLI and the service read :func:`load_settings` once at start-up, refuse a bad
value with a message naming the variable, and pass what they need down explicitly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, PositiveFloat, PositiveInt, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from pipeline_core.definition.spec import MAX_TUNING_SECONDS
from pipeline_core.errors import StudioError
from storage.limits import parse_size
from storage.sql_source import SqlPolicy

JobBackend = Literal["dask", "threads"]
SignInMethod = Literal["accounts", "sso"]
SIGN_IN_METHODS: tuple[SignInMethod, ...] = ("accounts", "sso")
DEFAULT_ACCOUNT_JOBS = 3  # jobs an account may have queued or running when neither the admin nor the server says
# never echoed in an error
SECRET_VARIABLES = frozenset({"PIPELINE_STUDIO_SQL_SOURCES", "DATABASE_URL", "PIPELINE_STUDIO_TOKEN"})


class SettingsError(StudioError):
    """An environment variable holds a value Pipeline Studio cannot use."""


class Settings(BaseSettings):
    """The studio's configuration; each field's alias is the environment variable that sets it."""

    model_config = SettingsConfigDict(env_ignore_empty=True, extra="ignore", frozen=True)

    home: Path = Field(Path("studio_data"), alias="PIPELINE_STUDIO_HOME",
                       description="data directory: the SQLite database, datasets and models")
    database_url: str | None = Field(None, alias="DATABASE_URL",
                                     description="any SQLAlchemy URL; default the SQLite file studio.db in home")
    jobs: JobBackend = Field("dask", alias="PIPELINE_STUDIO_JOBS",
                             description="dask: a local Dask cluster started with the app; threads: in-process")
    max_jobs: PositiveInt = Field(1, alias="PIPELINE_STUDIO_MAX_JOBS",
                                  description="training jobs that run at once per server; others wait queued")
    max_tuning_minutes: PositiveFloat = Field(
        60, le=MAX_TUNING_SECONDS / 60, alias="PIPELINE_STUDIO_MAX_TUNING_MINUTES",
        description="the longest a hyperparameter search may run per model; longer limits in a definition are "
                    f"lowered to it (at most {MAX_TUNING_SECONDS / 60:g}, the definition's own bound)")
    max_jobs_per_user: PositiveInt | None = Field(
        None, alias="PIPELINE_STUDIO_MAX_JOBS_PER_USER",
        description="queued plus running jobs (trainings, searches, retrains) one user may have; a further one is "
                    f"refused until one ends. Unset: {DEFAULT_ACCOUNT_JOBS} per account with sign-in, no limit for "
                    "the local user without; an administrator may set another per account")
    max_storage_per_user: Annotated[int | None, NoDecode] = Field(
        None, alias="PIPELINE_STUDIO_MAX_STORAGE_PER_USER",
        description="bytes of datasets and model files one user may hold, e.g. 2GB or 500MB; a further upload or "
                    "training is refused. Unset: no limit; an administrator may set one per account")
    scheduler_address: str | None = Field(None, alias="DASK_SCHEDULER_ADDRESS",
                                          description="an existing Dask cluster to train on, e.g. tcp://host:8786")
    memory_budget_mb: PositiveFloat = Field(4096, alias="PIPELINE_STUDIO_MEMORY_BUDGET_MB",
                                            description="files whose parsed size would exceed this are refused")
    sql_sources: Annotated[tuple[str, ...], NoDecode] = Field(
        (), alias="PIPELINE_STUDIO_SQL_SOURCES", repr=False,
        description="database URLs the SQL query tab may read (JSON list or comma-separated); default none")
    sql_dirs: Annotated[tuple[Path, ...], NoDecode] = Field(
        (), alias="PIPELINE_STUDIO_SQL_DIRS",
        description="folders whose SQLite files the SQL query tab may read (JSON list or comma-separated)")
    sql_timeout_s: PositiveFloat = Field(30, alias="PIPELINE_STUDIO_SQL_TIMEOUT_S",
                                         description="a SQL query running longer than this is stopped")
    sql_max_rows: PositiveInt = Field(1_000_000, alias="PIPELINE_STUDIO_SQL_MAX_ROWS",
                                      description="a SQL query returning more rows than this is refused")

    prediction_log: bool = Field(True, alias="PIPELINE_STUDIO_PREDICTION_LOG",
                                 description="record every scored row (service, batch, Predict page); false: none")
    log_input_sample: float = Field(1.0, ge=0.0, le=1.0, alias="PIPELINE_STUDIO_LOG_INPUT_SAMPLE",
                                    description="share of logged rows whose model inputs are kept (0 to 1); "
                                                "time, ids, output and latency are kept for every row")
    log_retention_days: PositiveFloat = Field(30, alias="PIPELINE_STUDIO_LOG_RETENTION_DAYS",
                                              description="logged rows and outcomes older than this are deleted")
    log_max_rows: PositiveInt = Field(5_000_000, alias="PIPELINE_STUDIO_LOG_MAX_ROWS",
                                      description="the log keeps at most this many rows, the oldest deleted first")
    log_queue_rows: PositiveInt = Field(20_000, alias="PIPELINE_STUDIO_LOG_QUEUE_ROWS",
                                        description="scored rows a service holds waiting for the database (about "
                                                    "4 KiB each when requests hold one row); beyond, rows are not "
                                                    "logged and counted as dropped")
    alert_refresh_seconds: PositiveFloat = Field(60, alias="PIPELINE_STUDIO_ALERT_REFRESH_SECONDS",
                                                 description="how often a scoring service re-evaluates its pipeline's "
                                                             "alert thresholds for /metrics (in a background thread)")

    auth: Annotated[tuple[SignInMethod, ...], NoDecode] = Field(
        (), alias="PIPELINE_STUDIO_AUTH",
        description="none: one local user, no sign-in (only on 127.0.0.1); accounts: built-in accounts (python -m "
                    "studio users add-admin NAME creates the first); sso: single sign-on through the OpenID Connect "
                    "provider of .streamlit/secrets.toml's [auth] section; accounts,sso: both")
    sso_provider: str | None = Field(None, alias="PIPELINE_STUDIO_SSO_PROVIDER",
                                     description="the [auth.NAME] section of .streamlit/secrets.toml to sign in "
                                                 "with; unset: the [auth] section's own provider")
    sso_label: str = Field("single sign-on", min_length=1, max_length=60, alias="PIPELINE_STUDIO_SSO_LABEL",
                           description="what the sign-in button names: 'Sign in with <label>'")
    max_sign_in_failures: PositiveInt = Field(5, alias="PIPELINE_STUDIO_MAX_SIGN_IN_FAILURES",
                                              description="wrong passwords in a row that lock an account")
    lockout_minutes: PositiveFloat = Field(15, alias="PIPELINE_STUDIO_LOCKOUT_MINUTES",
                                           description="how long a locked account refuses every sign-in")
    session_hours: PositiveFloat = Field(12, alias="PIPELINE_STUDIO_SESSION_HOURS",
                                         description="a sign-in lasts this long, then the browser must sign in again")
    api_token: str | None = Field(None, alias="PIPELINE_STUDIO_TOKEN", repr=False,
                                  description="an API token: the command line acts as its account, in its workspace "
                                              "and with its role, instead of as the local user")

    @field_validator("auth", mode="before")
    @classmethod
    def _methods(cls, value: Any) -> Any:
        """``none``, or one or both of ``accounts`` and ``sso``, comma-separated."""
        if not isinstance(value, str):
            return value
        words = [word.strip().lower() for word in value.split(",") if word.strip()]
        if words in ([], ["none"]):
            return ()
        unknown = [word for word in words if word not in SIGN_IN_METHODS]
        if unknown:
            raise ValueError(f"give none, accounts, sso or accounts,sso (not {', '.join(unknown)})")
        return tuple(dict.fromkeys(words))

    @field_validator("max_storage_per_user", mode="before")
    @classmethod
    def _size(cls, value: Any) -> Any:
        return parse_size(value) if isinstance(value, str) else value

    @field_validator("sql_sources", "sql_dirs", mode="before")
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        """A JSON list, or comma-separated (use JSON when a password or a path holds a comma)."""
        if not isinstance(value, str):
            return value
        text = value.strip()
        if text.startswith("["):
            try:
                items = json.loads(text)
            except json.JSONDecodeError:
                raise ValueError("not a valid JSON list") from None
            if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
                raise ValueError("give a JSON list of strings")
        else:
            items = text.split(",")
        return tuple(item.strip() for item in items if item.strip())

    @field_validator("sql_sources")
    @classmethod
    def _urls_parse(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        """A typo in the allow-list is reported at start-up, by position: the URL may hold a password."""
        for position, url in enumerate(value, start=1):
            try:
                make_url(url)
            except ArgumentError:
                raise ValueError(f"entry {position} is not a database URL (dialect+driver://user@host/db)") from None
        return value

    @property
    def sign_in(self) -> bool:
        """Whether visitors must sign in (what allows the app to listen beyond this machine)."""
        return bool(self.auth)

    def offers(self, method: SignInMethod) -> bool:
        """Whether the sign-in page offers ``method`` (built-in accounts, single sign-on)."""
        return method in self.auth

    @property
    def memory_budget_bytes(self) -> int:
        return int(self.memory_budget_mb * 2**20)

    @property
    def max_tuning_seconds(self) -> float:
        return self.max_tuning_minutes * 60

    @property
    def resolved_home(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.resolved_home / 'studio.db'}"

    def sql_policy(self) -> SqlPolicy:
        """What the SQL query tab may read: the allow-lists, minus the app's own store, within the budgets.

        The home folder (datasets, models, the default ``studio.db``) and the database the app itself uses
        are protected even if an administrator lists them or a folder that holds them.
        """
        protected_paths = [self.resolved_home]
        protected_urls: list[str] = []
        try:
            own = make_url(self.resolved_database_url)
        except ArgumentError:
            own = None
        if own is not None and own.get_backend_name() == "sqlite" and own.database:
            protected_paths.append(Path(own.database))
        elif own is not None:
            protected_urls.append(self.resolved_database_url)
        return SqlPolicy(sources=self.sql_sources, sqlite_dirs=self.sql_dirs,
                         protected_paths=tuple(protected_paths), protected_urls=tuple(protected_urls),
                         timeout_seconds=self.sql_timeout_s, max_rows=self.sql_max_rows,
                         max_bytes=self.memory_budget_bytes)


def load_settings() -> Settings:
    """Read the environment now; a bad value raises :class:`SettingsError` naming the variable."""
    try:
        return Settings()
    except ValidationError as e:
        first = e.errors()[0]
        variable = str(first["loc"][0]) if first["loc"] else "a setting"
        field = Settings.model_fields.get(variable)
        alias = field.alias if field is not None and field.alias else variable
        shown = "(value hidden)" if alias in SECRET_VARIABLES else repr(first.get("input"))
        raise SettingsError(f"{alias}={shown} is not usable: {first['msg']}.") from None


def settings() -> Settings:
    """The settings in force now. Reading them is cheap (microseconds), so nothing is cached and a test or a
    worker that changes the environment is seen at once; the app checks them once at start-up."""
    return load_settings()
