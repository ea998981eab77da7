"""Fair sharing (issue 19 point 5): what one user holds of the server, counted in the transaction that adds to it.

The *limits* themselves (an account's override, the server's default) are the application's (``studio.limits``);
this module counts and refuses. A user is an account id, or ``None`` for the local user (no sign-in), who also
holds every row made before migration 0015 recorded owners.

Jobs are runs queued or running. An account's are counted by ``owner_id`` (all its tabs, browsers and workspaces);
the local user's by the ``owner`` string its caller passes (a browser tab's draft, ``cli``), as before accounts.

Storage is the bytes of the distinct files a user's rows point at: the Parquet files of the datasets they uploaded
and the model files of the runs they submitted. Files are stored once by content hash, so *a file shared by two
users counts in full for each of them*, and once per user however many of their rows point at it (the same upload
in two workspaces). Splitting it instead would let one user's quota change when the other deletes their copy, and
each of them may need the file after the other is gone. Uploading bytes that are already a dataset of the same
workspace makes no row and charges nobody: the row stays its first uploader's.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage.errors import JobLimitError, StorageLimitError
from storage.models import ACTIVE_STATUSES, Dataset, ModelArtifact, Run

UNITS = (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("kB", 10**3))


def format_bytes(size: int) -> str:
    """``2 GB``, ``1.5 MB``, ``120 bytes``: decimal units, as the limits are written (``--storage 2GB``)."""
    for unit, scale in UNITS:
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size} byte{'' if size == 1 else 's'}"


def _is_owner(column: object, owner_id: int | None) -> object:
    return col(column).is_(None) if owner_id is None else col(column) == owner_id


def active_jobs(session: Session, *, owner: str | None, owner_id: int | None) -> int:
    """Queued plus running runs of the account ``owner_id``, or (``owner_id`` ``None``) of the submitter ``owner``."""
    query = select(func.count()).select_from(Run).where(col(Run.status).in_([s.value for s in ACTIVE_STATUSES]))
    query = query.where(Run.owner_id == owner_id) if owner_id is not None else query.where(Run.owner == owner)
    return int(session.exec(query).one())


def check_jobs(session: Session, *, owner: str | None, owner_id: int | None, limit: int) -> None:
    """Raise :class:`JobLimitError` when the user already has ``limit`` jobs queued or running."""
    active = active_jobs(session, owner=owner, owner_id=owner_id)
    if active >= limit:
        raise JobLimitError(f"you have {active} job{'' if active == 1 else 's'} queued or running, the limit is "
                            f"{limit}; wait for one to finish or cancel one")


def owned_files(session: Session, owner_id: int | None) -> dict[str, int]:
    """The distinct files (sha256 → bytes) the user's datasets and runs' model files are stored in."""
    datasets = select(Dataset.parquet_sha256, Dataset.parquet_size).where(_is_owner(Dataset.owner_id, owner_id))
    models = (select(ModelArtifact.sha256, ModelArtifact.size).join(Run, col(Run.id) == col(ModelArtifact.run_id))
              .where(_is_owner(Run.owner_id, owner_id)))
    return {sha256: int(size) for query in (datasets, models) for sha256, size in session.exec(query)}


def storage_used(session: Session, owner_id: int | None) -> int:
    return sum(owned_files(session, owner_id).values())


def check_storage(session: Session, *, owner_id: int | None, limit: int, sha256: str, size: int, what: str) -> None:
    """Raise :class:`StorageLimitError` when a new file ``what`` of ``size`` bytes would take the user past
    ``limit``; a file the user already holds adds nothing."""
    held = owned_files(session, owner_id)
    if sha256 in held:
        return
    used = sum(held.values())
    if used + size > limit:
        raise StorageLimitError(
            f"your files take {format_bytes(used)} and {what} would add {format_bytes(size)}, the limit is "
            f"{format_bytes(limit)}; delete datasets or runs you no longer need, or ask an administrator to raise it")


_SIZE_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9,
               "t": 10**12, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def parse_size(text: str) -> int:
    """Bytes of ``2GB``, ``500 MB``, ``1.5G``, ``2GiB`` or ``1000000`` (decimal units; ``KiB``… binary); a
    :class:`ValueError` saying what is accepted otherwise."""
    value = text.strip().lower().replace(" ", "").replace("_", "")
    number = value.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = value[len(number):]
    try:
        size = float(number) * _SIZE_UNITS[unit]
    except (ValueError, KeyError):
        raise ValueError(f"{text!r} is not a size: give bytes or a number with kB, MB, GB or TB, e.g. 2GB") from None
    if not size > 0 or size != size or size == float("inf"):
        raise ValueError(f"{text!r} is not a size above zero")
    return int(size)
