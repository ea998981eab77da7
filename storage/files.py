"""Content-addressed file store under the studio home directory.

Every function that touches a stored file takes that home (``Store.home``, an absolute path) as its
first argument: the directory is the caller's choice, never this process's environment.

Datasets live at ``<home>/datasets/<source sha256>.parquet`` and models at
``<home>/models/<sha256>.<ext>``; rows in the database hold the relative path, size
and sha256, so the home directory can be moved as a whole.

A file reaches its final name only through :func:`publish`, which the repository calls
*after* the row that refers to it is committed. Until then it sits under a temporary
name that records the host and process that wrote it (``.<final>.<host>.<pid>.<token>.part``),
so :func:`stale_temp_files` can tell an abandoned write (its process is gone) from one
still in progress. Deletions work the same way in reverse (``.trash`` files).
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from storage.errors import StorageError

try:
    import pwd
except ImportError:  # not on Windows
    pwd = None  # type: ignore[assignment]

DATASETS = "datasets"
MODELS = "models"
KINDS = (DATASETS, MODELS)
STALE_AFTER_SECONDS = 24 * 3600
_CHUNK = 1 << 20
_TEMP_NAME = re.compile(
    r"^\.(?P<final>.+)\.(?P<host>[A-Za-z0-9_-]+)\.(?P<pid>\d+)\.(?P<token>[0-9a-f]+)\.(?P<kind>part|trash)$"
)


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of in-memory bytes (the identity of an uploaded file or a model)."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks so large files do not need to fit in memory."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def resolve(home: Path, relpath: str) -> Path:
    """Absolute path of a stored file under ``home``; refuses paths that would escape it."""
    path = (home / relpath).resolve()
    if not path.is_relative_to(home):
        raise StorageError(f"The stored file path '{relpath}' points outside the studio data directory {home}.")
    return path


@dataclass(frozen=True)
class StagedFile:
    """A fully written and hashed file waiting under its temporary name for :func:`publish`."""

    temp: Path
    final: Path
    relpath: str
    sha256: str
    size: int


def host_tag() -> str:
    """This machine's name as it appears in temp file names (a pid only means something on its own host)."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", socket.gethostname())[:40] or "host"


def temp_path(final: Path, kind: str = "part", token: str | None = None) -> Path:
    """Temporary sibling of ``final`` that names this host and process as its owner."""
    token = token or secrets.token_hex(6)
    return final.with_name(f".{final.name}.{host_tag()}.{os.getpid()}.{token}.{kind}")


def stage(home: Path, kind: str, final_name: str, write: Callable[[Path], None], label: str = "") -> StagedFile:
    """Let ``write`` create the file under a temporary name, fsync and hash it.

    On any failure the temporary file is removed, so a failed write leaves nothing behind; a
    full or read-only disk becomes a :class:`StorageError` that says so (``label`` names the file).
    """
    folder = home / kind
    final = folder / final_name
    temp = temp_path(final)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write(temp)
        with temp.open("rb+") as handle:
            os.fsync(handle.fileno())
        staged = StagedFile(temp, final, f"{kind}/{final_name}", sha256_file(temp), temp.stat().st_size)
    except OSError as e:
        temp.unlink(missing_ok=True)
        where = folder if folder.is_dir() else folder.parent  # a read-only home refuses to make the folder
        raise disk_error(e, where, f"save {label or final_name}") from e
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return staged


def _server_user() -> str:
    if pwd is None:  # Windows: the login name, without reading the environment here
        try:
            return os.getlogin()
        except OSError:
            return "?"
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())


def disk_error(error: OSError, folder: Path, action: str, undone: str = "saved") -> StorageError:
    """One line for a file operation the disk refused: what failed, which folder, what to do about it.

    ``action`` is what the user asked for ("save dataset 'sales'"); nothing of it happened (``undone``).
    """
    reason = error.strerror or str(error)
    if error.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        problem = f"The disk holding {folder} is full ({reason}): free some space, then try again."
    elif error.errno == errno.EROFS:
        problem = (f"The folder {folder} is on a read-only file system: store the studio data on a writable "
                   "disk, then try again.")
    elif error.errno in (errno.EACCES, errno.EPERM):
        problem = (f"The folder {folder} is read-only for this server (it runs as user {_server_user()}): "
                   "make it writable for that user, then try again.")
    else:
        problem = (f"{reason} in {folder}. Check the disk and the permissions of the studio data directory, "
                   "then try again.")
    return StorageError(f"Could not {action}: {problem} Nothing was {undone}; everything saved before is intact.")


def stage_bytes(home: Path, kind: str, final_name: str, data: bytes, label: str = "") -> StagedFile:
    """:func:`stage` for bytes already in memory (model artifacts)."""
    return stage(home, kind, final_name, lambda path: path.write_bytes(data), label)


def publish(staged: StagedFile) -> None:
    """Atomically move a staged file to its final name (call only after the row is committed)."""
    os.replace(staged.temp, staged.final)
    _fsync_dir(staged.final.parent)


def discard(staged: StagedFile) -> None:
    """Remove a staged file whose row was never committed."""
    staged.temp.unlink(missing_ok=True)


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable: on POSIX the directory entry itself must be flushed."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_verified(home: Path, relpath: str, sha256: str, label: str) -> bytes:
    """Read a stored file and check it against the hash recorded when it was saved."""
    path = resolve(home, relpath)
    try:
        data = path.read_bytes()
    except FileNotFoundError as e:
        raise StorageError(
            f"The file for {label} is missing ({path}). It was moved or deleted outside Pipeline Studio; "
            "restore the studio data directory from a backup or save it again."
        ) from e
    if sha256_bytes(data) != sha256:
        raise StorageError(
            f"The file for {label} ({path}) has changed since it was saved: its sha256 no longer matches. "
            "It may be damaged or tampered with, so it will not be loaded; save it again from the original."
        )
    return data


def matches(home: Path, relpath: str, sha256: str) -> bool:
    """True when the stored file exists and still has the recorded hash."""
    path = resolve(home, relpath)
    return path.is_file() and sha256_file(path) == sha256


@dataclass(frozen=True)
class PendingTrash:
    """A file to be deleted together with its row: moved aside before commit, removed after."""

    final: Path
    trash: Path
    label: str = ""

    def move_aside(self) -> None:
        """Idempotent, so a retried transaction may call it again; a refusing disk is a :class:`StorageError`."""
        if self.final.exists():
            try:
                os.replace(self.final, self.trash)
            except OSError as e:
                raise disk_error(e, self.final.parent, f"delete {self.label or self.final.name}", "deleted") from e

    def purge(self) -> None:
        self.trash.unlink(missing_ok=True)

    def restore(self) -> None:
        """Undo :meth:`move_aside` when the transaction did not commit."""
        if self.trash.exists() and not self.final.exists():
            os.replace(self.trash, self.final)


def pending_trash(home: Path, relpath: str, label: str = "") -> PendingTrash:
    """Prepare the deletion of a stored file (of ``label``, for messages); nothing happens on disk yet."""
    final = resolve(home, relpath)
    return PendingTrash(final, temp_path(final, kind="trash"), label)


@dataclass(frozen=True)
class TempFile:
    """A ``.part`` or ``.trash`` file whose writer has gone away."""

    path: Path
    final: Path
    relpath: str


def _owner_gone(host: str, pid: int, path: Path) -> bool:
    """A temp file is abandoned when its process is dead, or (other hosts) when it is old."""
    if host != host_tag():
        return time.time() - path.stat().st_mtime > STALE_AFTER_SECONDS
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return time.time() - path.stat().st_mtime > STALE_AFTER_SECONDS


def stale_temp_files(home: Path) -> list[TempFile]:
    """Temporary files left behind by processes that crashed or were killed."""
    found = []
    for kind in KINDS:
        folder = home / kind
        for path in sorted(folder.glob(".*")) if folder.is_dir() else []:
            match = _TEMP_NAME.match(path.name)
            if match and _owner_gone(match["host"], int(match["pid"]), path):
                final = folder / match["final"]
                found.append(TempFile(path, final, f"{kind}/{match['final']}"))
    return found


def stored_files(home: Path) -> list[str]:
    """Relative paths of all published (final-name) files in the store."""
    found = []
    for kind in KINDS:
        folder = home / kind
        if folder.is_dir():
            found += [
                f"{kind}/{p.name}" for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")
            ]
    return found
