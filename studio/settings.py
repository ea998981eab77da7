"""Every environment variable Pipeline Studio reads, validated once, with a one-line reason for a bad value.

Before this object each module read its own variables and quietly fell back on a default when a value
did not parse (``PIPELINE_STUDIO_MAX_JOBS=two`` crashed the first training, a negative memory budget was
ignored). Now the app, the CLI and the service read :func:`load_settings` once at start-up, refuse a bad
value with a message naming the variable, and pass what they need down explicitly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, PositiveFloat, PositiveInt, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipeline_core.errors import StudioError

JobBackend = Literal["dask", "threads"]


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
    scheduler_address: str | None = Field(None, alias="DASK_SCHEDULER_ADDRESS",
                                          description="an existing Dask cluster to train on, e.g. tcp://host:8786")
    memory_budget_mb: PositiveFloat = Field(4096, alias="PIPELINE_STUDIO_MEMORY_BUDGET_MB",
                                            description="files whose parsed size would exceed this are refused")

    @property
    def memory_budget_bytes(self) -> int:
        return int(self.memory_budget_mb * 2**20)

    @property
    def resolved_home(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.resolved_home / 'studio.db'}"


def load_settings() -> Settings:
    """Read the environment now; a bad value raises :class:`SettingsError` naming the variable."""
    try:
        return Settings()
    except ValidationError as e:
        first = e.errors()[0]
        variable = str(first["loc"][0]) if first["loc"] else "a setting"
        field = Settings.model_fields.get(variable)
        alias = field.alias if field is not None and field.alias else variable
        raise SettingsError(f"{alias}={first.get('input')!r} is not usable: {first['msg']}.") from None


def settings() -> Settings:
    """The settings in force now. Reading them is cheap (microseconds), so nothing is cached and a test or a
    worker that changes the environment is seen at once; the app checks them once at start-up."""
    return load_settings()
