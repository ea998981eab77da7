"""Model files: skops (safe to load from anyone) and joblib (only for files you made yourself).

skops is the format for model files that travel: loading one never runs code from the
file. :func:`load_model` checks the archive (no pickle, no path tricks, no zip bomb),
refuses a model saved by another scikit-learn version, and lets skops build only the
types in :data:`TRUSTED_TYPES`, a fixed allow-list held in our code (never read from the file):
the union of what the registry entries declare for steps, models and the compiler's scaffolding.

joblib is offered for users who want it, but a joblib file is a pickle: load one only if
you produced it yourself; the app and the CLI never load joblib files from uploads.
"""

from __future__ import annotations

import copy
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import sklearn

from pipeline_core.artifacts.metadata import METADATA_ATTRIBUTE, METADATA_ENTRY
from pipeline_core.definition.registry import trusted_types
from pipeline_core.errors import ModelError
from pipeline_core.io.safety import MODEL_ZIP_LIMITS, ZipLimits, zip_problem
from pipeline_core.json_data import jsonable

Format = Literal["skops", "joblib"]
MAX_FILE_BYTES = 2 * 2**30
MAX_METADATA_BYTES = 20 * 2**20

# Types skops does not trust by default that our compiled pipelines contain: the union of what the
# registry entries declare (steps, models, and what the compiler adds). Tests fit every registered
# step and model and check that its entry covers what skops finds; extend an entry only the same way.
TRUSTED_TYPES: tuple[str, ...] = trusted_types()


@dataclass
class LoadedModel:
    """A fitted pipeline and what training recorded about it (empty for foreign files)."""

    pipeline: Any
    metadata: dict[str, Any] = field(default_factory=dict)


def dump_model(pipeline: Any, fmt: Format = "skops", metadata: dict[str, Any] | None = None) -> bytes:
    """Serialise ``pipeline`` with ``metadata`` embedded; the caller's object is not modified."""
    metadata = jsonable(metadata or {})
    carrier = copy.copy(pipeline)  # shallow: the attribute goes on the copy, the fitted steps are shared
    setattr(carrier, METADATA_ATTRIBUTE, metadata)
    if fmt == "joblib":
        import joblib

        buffer = io.BytesIO()
        joblib.dump(carrier, buffer)
        return buffer.getvalue()
    if fmt != "skops":
        raise ModelError(f"unknown model format '{fmt}'; use skops or joblib")
    import skops.io as sio

    buffer = io.BytesIO(sio.dumps(carrier, compression=zipfile.ZIP_DEFLATED))
    with zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(METADATA_ENTRY, json.dumps(metadata, indent=1))  # readable without loading the model
    return buffer.getvalue()


def save_model(pipeline: Any, path: str | Path, fmt: Format = "skops", metadata: dict[str, Any] | None = None) -> Path:
    """Write :func:`dump_model`'s bytes to ``path`` (parent folders are created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(dump_model(pipeline, fmt, metadata))
    return path


def load_model(source: str | Path | bytes, fmt: Format = "skops", *, name: str | None = None) -> LoadedModel:
    """Load a model file safely (skops) or, for files you produced yourself only, with joblib.

    ``name`` is how messages call the file (default: its file name, or 'model' for bytes).
    """
    data, default_name = read_source(source)
    name = name or default_name
    if fmt == "joblib":
        return _load_joblib(data, name)
    if fmt != "skops":
        raise ModelError(f"unknown model format '{fmt}'; use skops or joblib")
    metadata = read_metadata(data, name)
    check_version(metadata, name)
    for saved in schema_sklearn_versions(data, name):
        check_version({"sklearn_version": saved}, name)
    return LoadedModel(_load_skops(data, name), metadata)


def read_metadata(source: str | Path | bytes, name: str | None = None) -> dict[str, Any]:
    """The metadata of a skops model file, after the archive checks, without loading the model."""
    data, default_name = read_source(source)
    name = name or default_name
    infos = check_archive(data, name)
    entry = next((i for i in infos if i.filename == METADATA_ENTRY), None)
    if entry is None:
        return {}
    if entry.file_size > MAX_METADATA_BYTES:
        raise ModelError(f"'{name}': its metadata is {entry.file_size:,} bytes, more than a model needs")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        try:
            metadata = json.loads(archive.read(METADATA_ENTRY))
        except (ValueError, zipfile.BadZipFile) as e:
            raise ModelError(f"'{name}': its metadata is not valid JSON ({e})") from e
    if not isinstance(metadata, dict):
        raise ModelError(f"'{name}': its metadata is not a JSON object")
    return metadata


def check_version(metadata: dict[str, Any], name: str) -> None:
    """Refuse a model fitted under another scikit-learn: its internals may load wrongly or not at all."""
    saved = metadata.get("sklearn_version")
    if saved and saved != sklearn.__version__:
        raise ModelError(
            f"'{name}' was saved with scikit-learn {saved}, but this installation has scikit-learn "
            f"{sklearn.__version__}; retrain the model here, or load it where scikit-learn {saved} is installed"
        )


def schema_sklearn_versions(data: bytes, name: str) -> set[str]:
    """The scikit-learn versions the estimators in a skops file record (``_sklearn_version`` in its schema).

    Our metadata entry is only a convenience, and anyone can delete or edit it: without this, a model
    whose metadata was removed skipped the version check. scikit-learn stores its version in every
    fitted estimator's state, and skops writes that state into ``schema.json`` as data, so the version
    is read from there without loading anything. Call after :func:`check_archive` (size limits).
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            schema = json.loads(archive.read("schema.json"))
    except KeyError as e:
        raise ModelError(f"'{name}' is not a skops model file: it has no schema.json") from e
    except (ValueError, RecursionError, zipfile.BadZipFile) as e:
        raise ModelError(f"'{name}' is not a readable skops model file: its schema is not valid JSON") from e
    versions: set[str] = set()
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            recorded = node.get("_sklearn_version")
            if isinstance(recorded, dict) and isinstance(recorded.get("content"), str):
                try:
                    version = json.loads(recorded["content"])
                except ValueError:
                    version = recorded["content"]
                versions.add(str(version))
            stack.extend(node.values())
    return versions


def check_archive(data: bytes, name: str) -> list[zipfile.ZipInfo]:
    """Refuse anything that is not a plain, reasonably sized zip before skops reads it."""
    if _looks_like_pickle(data):
        raise ModelError(
            f"'{name}' looks like a pickle/joblib file; only .skops model files can be loaded, because opening "
            "a pickle can run any code it contains. Export the model as skops instead"
        )
    if data[:4] != b"PK\x03\x04":
        raise ModelError(f"'{name}' is not a skops model file (a skops file is a zip archive)")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError) as e:
        raise ModelError(f"'{name}' is not a readable skops model file: {e}") from e
    _refuse_zip_problem(infos, name, MODEL_ZIP_LIMITS)
    return infos


def _refuse_zip_problem(infos: list[zipfile.ZipInfo], name: str, limits: ZipLimits) -> None:
    """The ZIP rules are :func:`pipeline_core.io.safety.zip_problem`'s; this only words them for a model file."""
    problem = zip_problem(infos, limits)
    if problem is None:
        return
    if problem.kind == "entries":
        raise ModelError(f"'{name}' holds {problem.count:,} entries; refusing to open it")
    if problem.kind == "path":
        raise ModelError(f"'{name}' contains an entry with an unsafe path ('{problem.entry}'); refusing to open it")
    if problem.kind == "size":
        raise ModelError(f"'{name}' would unpack to {problem.unpacked:,} bytes, over the "
                         f"{limits.max_unpacked_bytes:,} limit")
    where = f"entry '{problem.entry}'" if problem.entry else "the archive"
    raise ModelError(f"'{name}': {where} expands {problem.unpacked / max(problem.packed, 1):,.0f}-fold "
                     f"(limit {limits.max_ratio:,.0f}); this looks like a zip bomb, refusing to open it")


def _looks_like_pickle(data: bytes) -> bool:
    """Pickle protocol 2+ starts with 0x80; joblib's compressed pickles start with a zlib/gzip/xz/lz4 header."""
    zlib_header = len(data) > 1 and data[0] == 0x78 and (data[0] * 256 + data[1]) % 31 == 0
    return data[:1] == b"\x80" or zlib_header or data.startswith((b"\x1f\x8b", b"\xfd7zXZ", b"\x04\x22\x4d\x18"))


def _load_skops(data: bytes, name: str) -> Any:
    import skops.io as sio

    try:
        found = sio.get_untrusted_types(data=data)
    except Exception as e:  # noqa: BLE001 - any parse failure means the file is not a usable model
        raise ModelError(f"'{name}' is not a readable skops model file: {e}") from e
    unknown = sorted(set(found) - set(TRUSTED_TYPES))
    if unknown:
        raise ModelError(f"'{name}' contains types this app does not trust: {', '.join(unknown)}; refusing to load it")
    try:
        return sio.loads(data, trusted=list(TRUSTED_TYPES))
    except Exception as e:  # noqa: BLE001 - skops raises many types; the user needs one message
        raise ModelError(f"'{name}' could not be loaded as a model: {e}") from e


def _load_joblib(data: bytes, name: str) -> LoadedModel:
    """joblib/pickle: for files this installation produced itself, never for uploads."""
    import joblib

    try:
        pipeline = joblib.load(io.BytesIO(data))
    except Exception as e:  # noqa: BLE001 - unpickling can fail in countless ways
        raise ModelError(f"'{name}' could not be loaded with joblib: {e}") from e
    metadata = getattr(pipeline, METADATA_ATTRIBUTE, None) or {}
    check_version(metadata, name)
    return LoadedModel(pipeline, metadata)


def read_source(source: str | Path | bytes) -> tuple[bytes, str]:
    """(the file's bytes, how messages name it), refusing a file over :data:`MAX_FILE_BYTES` unread."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), "model"
    path = Path(source)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ModelError(f"'{path.name}' is {size:,} bytes, over the {MAX_FILE_BYTES:,}-byte model limit")
        return path.read_bytes(), path.name
    except OSError as e:
        raise ModelError(f"cannot read model file '{path.name}': {e.strerror or e}") from e
