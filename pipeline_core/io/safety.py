"""Refusals that protect the server before a parser runs: zip bombs and slips, and the memory budget.

Uploads are untrusted. An Excel workbook is a ZIP archive, so its central directory is checked
before openpyxl unpacks anything; and every format estimates its parsed size from a sample so a
table too large for memory is refused with the numbers instead of exhausting the machine.

This module owns the ZIP rules (:func:`zip_problem`) for every archive the app opens: workbooks here,
skops model files in :mod:`pipeline_core.artifacts.skops_io`. Each kind of archive names its limits
(:data:`WORKBOOK_ZIP_LIMITS`, :data:`MODEL_ZIP_LIMITS`) and words its own refusal.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from pipeline_core.errors import DataError
from pipeline_core.io.options import ReadOptions


@dataclass(frozen=True)
class ZipLimits:
    """What an archive may hold before it is refused unopened, read from its central directory only.

    ``max_ratio`` (unpacked / packed size) applies to each entry above ``ratio_min_bytes`` and, with
    ``total_ratio``, to the whole archive: small entries cannot hurt, whatever their ratio.
    """

    max_entries: int
    max_unpacked_bytes: int
    max_ratio: float
    total_ratio: bool = True
    ratio_min_bytes: int = 2**20


# A workbook holds a few dozen XML parts; 500 MB unpacked is already more than any sheet we can parse.
WORKBOOK_ZIP_LIMITS = ZipLimits(max_entries=10_000, max_unpacked_bytes=500 * 2**20, max_ratio=100)
# A skops model holds one entry per array (forests have hundreds of thousands) and large weights, and
# zero-filled arrays compress far better than text, so the limits are wider and only entries are ratio-checked.
MODEL_ZIP_LIMITS = ZipLimits(max_entries=500_000, max_unpacked_bytes=4 * 2**30, max_ratio=200, total_ratio=False)


@dataclass(frozen=True)
class ZipProblem:
    """Why an archive is refused; ``entry`` names the offending entry ("" for the whole archive).

    ``count`` is the number of entries ("entries"); ``unpacked``/``packed`` are sizes in bytes ("ratio", "size").
    """

    kind: Literal["entries", "path", "ratio", "size"]
    entry: str = ""
    count: int = 0
    unpacked: int = 0
    packed: int = 0


def zip_problem(infos: list[zipfile.ZipInfo], limits: ZipLimits) -> ZipProblem | None:
    """The first rule the archive breaks (too many entries, a path escaping it, a zip bomb, too large), or None."""
    if len(infos) > limits.max_entries:
        return ZipProblem("entries", count=len(infos))
    for info in infos:
        if unsafe_entry_name(info.filename):
            return ZipProblem("path", info.filename)
        if _bomb(info.file_size, info.compress_size, limits):
            return ZipProblem("ratio", info.filename, unpacked=info.file_size, packed=info.compress_size)
    total, packed = sum(i.file_size for i in infos), sum(i.compress_size for i in infos)
    if total > limits.max_unpacked_bytes:
        return ZipProblem("size", unpacked=total, packed=packed)
    if limits.total_ratio and _bomb(total, packed, limits):
        return ZipProblem("ratio", unpacked=total, packed=packed)
    return None


def unsafe_entry_name(entry: str) -> bool:
    """An absolute path, a drive letter or a ``..`` part: unpacked, it would land outside its folder (zip slip)."""
    normalised = entry.replace("\\", "/")
    return normalised.startswith("/") or bool(re.match(r"^[A-Za-z]:", normalised)) or ".." in normalised.split("/")


def _bomb(unpacked: int, packed: int, limits: ZipLimits) -> bool:
    return unpacked > limits.ratio_min_bytes and unpacked > limits.max_ratio * max(packed, 1)


def estimate_memory(sample: pd.DataFrame, sample_bytes: int, total_bytes: int) -> int:
    """In-memory size of the whole table, extrapolated from a parsed sample of its first bytes.

    Deep memory usage is used because text cells dominate real tables; the estimate is linear
    in file size, which is what makes it possible to refuse a file before parsing all of it.
    """
    used = int(sample.memory_usage(deep=True, index=False).sum())
    if sample_bytes <= 0 or sample_bytes >= total_bytes:
        return used
    return int(used * total_bytes / sample_bytes)


def check_memory_budget(estimate: int, file_bytes: int, opts: ReadOptions) -> None:
    """Refuse a table whose estimated parsed size exceeds the budget, with the numbers and the setting to raise."""
    file_name, budget, setting = opts.name, opts.budget, opts.budget_setting
    if estimate > budget:
        raise DataError(
            f"'{file_name}' ({_size(file_bytes)} on disk) would take about {_size(estimate)} in memory, "
            f"more than the {_size(budget)} budget. Upload a smaller extract (fewer rows or columns), "
            f"or ask the administrator to raise {setting}."
        )


def check_zip_safety(
    data: bytes,
    file_name: str,
    *,
    max_total_bytes: int = WORKBOOK_ZIP_LIMITS.max_unpacked_bytes,
    max_ratio: float = WORKBOOK_ZIP_LIMITS.max_ratio,
    max_entries: int = WORKBOOK_ZIP_LIMITS.max_entries,
) -> None:
    """Refuse workbooks that would escape their folder or blow up when unpacked (zip slip, zip bomb).

    Only the central directory is read, so this is cheap and runs before openpyxl opens anything.
    """
    limits = ZipLimits(max_entries=max_entries, max_unpacked_bytes=max_total_bytes, max_ratio=max_ratio)
    problem = zip_problem(zip_infos(data, file_name), limits)
    if problem is None:
        return
    if problem.kind == "entries":
        raise DataError(f"'{file_name}' holds {problem.count:,} files; a workbook has far fewer. Re-save it in Excel.")
    if problem.kind == "path":
        raise DataError(f"'{file_name}' contains an unsafe entry '{problem.entry}' that points outside the archive. "
                        "It is not a normal Excel file; re-save it from Excel before uploading.")
    if problem.kind == "size":
        raise DataError(f"'{file_name}' would unpack to {_size(problem.unpacked)}, over the "
                        f"{_size(max_total_bytes)} limit. Split the workbook or export the sheet you need as CSV "
                        "or Parquet.")
    raise DataError(f"'{file_name}' unpacks to {_size(problem.unpacked)} from {_size(problem.packed)} (over "
                    f"{max_ratio:.0f}× compression), which is how zip bombs work. Re-save the workbook in Excel or "
                    "export it as CSV.")


def zip_infos(data: bytes, name: str) -> list[zipfile.ZipInfo]:
    """The archive's central directory (nothing unpacked); a damaged archive is a :class:`DataError`."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise DataError(f"'{name}' looks like a ZIP/Excel file but is damaged ({e}). "
                        "Save it again and re-upload.") from e


def _size(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} GB"
