"""Refusals that protect the server before a parser runs: zip bombs and slips, and the memory budget.

Uploads are untrusted. An Excel workbook is a ZIP archive, so its central directory is checked
before openpyxl unpacks anything; and every format estimates its parsed size from a sample so a
table too large for memory is refused with the numbers instead of exhausting the machine.
"""

from __future__ import annotations

import io
import re
import zipfile

import pandas as pd

from pipeline_core.errors import DataError
from pipeline_core.io.options import ReadOptions

MAX_ZIP_UNCOMPRESSED_BYTES = 500 * 2**20
MAX_ZIP_RATIO = 100
ZIP_RATIO_MIN_BYTES = 2**20  # small archives cannot hurt, whatever their ratio
MAX_ZIP_ENTRIES = 10_000


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
    max_total_bytes: int = MAX_ZIP_UNCOMPRESSED_BYTES,
    max_ratio: float = MAX_ZIP_RATIO,
    max_entries: int = MAX_ZIP_ENTRIES,
) -> None:
    """Refuse archives that would escape their folder or blow up when unpacked (zip slip, zip bomb).

    Only the central directory is read, so this is cheap and runs before openpyxl opens anything.
    """
    infos = zip_infos(data, file_name)
    if len(infos) > max_entries:
        raise DataError(f"'{file_name}' holds {len(infos):,} files; a workbook has far fewer. Re-save it in Excel.")
    for info in infos:
        _check_entry_name(info.filename, file_name)
        if info.file_size > ZIP_RATIO_MIN_BYTES and info.file_size > max_ratio * max(info.compress_size, 1):
            _refuse_ratio(file_name, info.file_size, info.compress_size, max_ratio)
    total, packed = sum(i.file_size for i in infos), sum(i.compress_size for i in infos)
    if total > max_total_bytes:
        raise DataError(f"'{file_name}' would unpack to {_size(total)}, over the {_size(max_total_bytes)} limit. "
                        "Split the workbook or export the sheet you need as CSV or Parquet.")
    if total > ZIP_RATIO_MIN_BYTES and total > max_ratio * max(packed, 1):
        _refuse_ratio(file_name, total, packed, max_ratio)


def zip_infos(data: bytes, name: str) -> list[zipfile.ZipInfo]:
    """The archive's central directory (nothing unpacked); a damaged archive is a :class:`DataError`."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise DataError(f"'{name}' looks like a ZIP/Excel file but is damaged ({e}). "
                        "Save it again and re-upload.") from e


def _check_entry_name(entry: str, name: str) -> None:
    normalised = entry.replace("\\", "/")
    if normalised.startswith("/") or re.match(r"^[A-Za-z]:", normalised) or ".." in normalised.split("/"):
        raise DataError(f"'{name}' contains an unsafe entry '{entry}' that points outside the archive. "
                        "It is not a normal Excel file; re-save it from Excel before uploading.")


def _refuse_ratio(name: str, unpacked: int, packed: int, max_ratio: float) -> None:
    raise DataError(f"'{name}' unpacks to {_size(unpacked)} from {_size(packed)} (over {max_ratio:.0f}× "
                    "compression), which is how zip bombs work. Re-save the workbook in Excel or export it as CSV.")


def _size(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} GB"
