"""Fair sharing (issue 19 point 5): how many jobs and how many bytes of files each user may hold, and the checks
that refuse more before any work starts.

An administrator sets an account's limits (``python -m studio users limits NAME --jobs N --storage 2GB``, or the
*Limits* section an administrator sees in the sidebar); an account without its own takes the server's defaults,
``PIPELINE_STUDIO_MAX_JOBS_PER_USER`` (unset: :data:`~studio.settings.DEFAULT_ACCOUNT_JOBS`) and
``PIPELINE_STUDIO_MAX_STORAGE_PER_USER`` (unset: none). The local user (no sign-in configured: one person on their
own machine) is limited only by what those variables explicitly say.

Jobs are everything that queues on the shared training workers: training, hyperparameter searches and the
autopilot (all one training run), and retrains. Batch scoring (the Predict page, ``predict``) runs in the caller's
own request, not on the workers, so it holds no queue place and is not counted. Storage is counted as
:mod:`storage.limits` says: the distinct files of a user's datasets and runs, a file two users share counting in
full for each. A training's model files are not known before it runs, so a user already at their storage limit
may not start one; the model files of a run they started under it are kept whatever their size.
"""

from __future__ import annotations

from dataclasses import dataclass

import storage
from storage import StorageLimitError, Store
from storage.limits import format_bytes, parse_size

__all__ = ["DEFAULT", "Limits", "Usage", "format_bytes", "parse_size", "usage", "set_limits", "all_usage"]
from studio.accounts import AccountError
from studio.audit_log import EventKind, record_account_event
from studio.roles import AccessDenied, Actor
from studio.settings import DEFAULT_ACCOUNT_JOBS, Settings, settings
from studio.workspace import open_store

DEFAULT = "default"  # what the CLI and the admin section take for "the server's default"


@dataclass(frozen=True)
class Limits:
    """A user's limits in force; ``None``: none. ``own_*``: the administrator set this one for the account."""

    max_jobs: int | None
    max_storage_bytes: int | None
    own_jobs: bool = False
    own_storage: bool = False


@dataclass(frozen=True)
class Usage:
    """What a user holds now against their limits."""

    name: str
    jobs: int
    storage_bytes: int
    limits: Limits

    def sentence(self) -> str:
        """``jobs queued or running: 1 of at most 3; files: 1.2 GB of at most 2 GB``, for a caption or the CLI."""
        jobs = f"{self.jobs} of at most {self.limits.max_jobs}" if self.limits.max_jobs is not None else \
            f"{self.jobs} (no limit)"
        files = format_bytes(self.storage_bytes)
        if self.limits.max_storage_bytes is not None:
            files += f" of at most {format_bytes(self.limits.max_storage_bytes)}"
        else:
            files += " (no limit)"
        return f"jobs queued or running: {jobs}; files: {files}"


def job_owner(actor: Actor, owner: str | None) -> str | None:
    """Whom a run is recorded under: an account always as itself (a page cannot count it as someone else), the local
    user as its caller says (a browser tab's draft, ``cli``)."""
    return f"user:{actor.name}" if actor.user_id is not None else owner


def limits_of(store: Store, actor: Actor, config: Settings) -> Limits:
    """The limits in force for the actor: the account's own, else the server's defaults (see the module)."""
    if actor.user_id is None:
        return Limits(max_jobs=config.max_jobs_per_user, max_storage_bytes=config.max_storage_per_user)
    row = storage.get_user(store, actor.user_id)
    own_jobs = row is not None and row.max_jobs is not None
    own_storage = row is not None and row.max_storage_bytes is not None
    return Limits(max_jobs=row.max_jobs if own_jobs else config.max_jobs_per_user or DEFAULT_ACCOUNT_JOBS,
                  max_storage_bytes=row.max_storage_bytes if own_storage else config.max_storage_per_user,
                  own_jobs=own_jobs, own_storage=own_storage)


def usage(actor: Actor, owner: str | None = None) -> Usage:
    """The actor's jobs and files now, against their limits (``owner``: the local user's submitter, as for jobs)."""
    config = settings()
    store = open_store(config)
    jobs = storage.count_active_runs(store, job_owner(actor, owner), owner_id=actor.user_id)
    return Usage(name=actor.name, jobs=jobs, storage_bytes=storage.storage_used(store, actor.user_id),
                 limits=limits_of(store, actor, config))


def check_can_submit(store: Store, actor: Actor, owner: str | None, config: Settings) -> Limits:
    """Refuse a new job, before anything starts, when the user has as many jobs queued or running as allowed
    (:class:`storage.JobLimitError`) or their files already fill their storage (:class:`storage.StorageLimitError`).

    Returns the limits, whose job cap :func:`storage.create_run` checks again in the transaction that records
    the run (two submissions at once cannot both slip under it)."""
    limits = limits_of(store, actor, config)
    if limits.max_jobs is not None:
        storage.check_job_limit(store, job_owner(actor, owner), limits.max_jobs, owner_id=actor.user_id)
    check_storage_left(store, actor, limits, "a training run saves model files, so")
    return limits


def check_can_store(store: Store, actor: Actor, config: Settings) -> int | None:
    """Refuse an upload at once when the user's files already fill their storage; returns the storage limit, which
    :func:`storage.save_dataset` checks with the stored file's size when it records it."""
    limits = limits_of(store, actor, config)
    check_storage_left(store, actor, limits, "so")
    return limits.max_storage_bytes


def check_storage_left(store: Store, actor: Actor, limits: Limits, why: str) -> None:
    if limits.max_storage_bytes is None:
        return
    used = storage.storage_used(store, actor.user_id)
    if used >= limits.max_storage_bytes:
        raise StorageLimitError(
            f"your files take {format_bytes(used)}, the limit is {format_bytes(limits.max_storage_bytes)}; {why} "
            "delete datasets or runs you no longer need first, or ask an administrator to raise it")


# ---- the administrator's side --------------------------------------------------------------------------------


def require_admin(store: Store, actor: Actor) -> None:
    """Limits are the server's administrators' (and the local user's: whoever runs its command line)."""
    if actor.user_id is None:
        return
    row = storage.get_user(store, actor.user_id)
    if row is None or not row.is_admin:
        raise AccessDenied(f"{actor.name} is not an administrator: only an administrator sets limits")


def set_limits(store: Store, actor: Actor, name: str, *, jobs: int | str | None = None,
               storage_bytes: int | str | None = None) -> Usage:
    """Set the account ``name``'s job and storage limits (administrators only). ``None`` leaves one as it is,
    :data:`DEFAULT` returns it to the server's default; a number must be at least 1."""
    require_admin(store, actor)
    row = storage.get_user_by_name(store, name.strip())
    if row is None or row.id is None:
        raise AccountError(f"there is no account named {name.strip()!r}")
    new_jobs = row.max_jobs if jobs is None else None if jobs == DEFAULT else jobs
    new_bytes = row.max_storage_bytes if storage_bytes is None else None if storage_bytes == DEFAULT else storage_bytes
    for value, what in ((new_jobs, "a job limit"), (new_bytes, "a storage limit")):
        if value is not None and (not isinstance(value, int) or value < 1):
            raise AccountError(f"{what} is a number of at least 1, or '{DEFAULT}' (got {value!r})")
    storage.set_user_limits(store, row.id, max_jobs=new_jobs, max_storage_bytes=new_bytes)
    record_account_event(store, actor.name, actor.user_id, EventKind.LIMITS_CHANGE, target=row.name,
                         detail=f"jobs {new_jobs or 'default'}, "
                                f"storage {format_bytes(new_bytes) if new_bytes else 'default'}")
    return account_usage(store, actor, row.name)


def account_usage(store: Store, actor: Actor, name: str) -> Usage:
    """An account's usage and limits, as an administrator sees it."""
    require_admin(store, actor)
    row = storage.get_user_by_name(store, name.strip())
    if row is None or row.id is None:
        raise AccountError(f"there is no account named {name.strip()!r}")
    account = Actor.account(row.id, row.name, storage.DEFAULT_WORKSPACE_ID)
    return Usage(name=row.name, jobs=storage.count_active_runs(store, None, owner_id=row.id),
                 storage_bytes=storage.storage_used(store, row.id), limits=limits_of(store, account, settings()))


def all_usage(store: Store, actor: Actor) -> list[Usage]:
    """Every account's usage and limits, by name (the admin section's table)."""
    require_admin(store, actor)
    return [account_usage(store, actor, row.name) for row in storage.list_users(store)]
