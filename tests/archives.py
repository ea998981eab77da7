"""Hostile model files for tests: joblib pickles and skops archives with an extra entry."""

from __future__ import annotations

import io
import zipfile

import joblib


def joblib_bytes(value: object, compress: int = 0) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(value, buffer, compress=compress)
    return buffer.getvalue()


def with_entry(data: bytes, name: str, payload: bytes) -> bytes:
    """``data`` (a zip archive such as a skops file) with one more entry appended."""
    buffer = io.BytesIO(data)
    with zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, payload)
    return buffer.getvalue()
