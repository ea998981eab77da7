"""JSON in and out: reading an untrusted JSON document, and plain values from what numpy hands back.

:func:`parse_json_document` is how every uploaded or saved JSON document is read (a definition, a
pipeline export): size, syntax and nesting are refused with one plain message each, before pydantic sees it.

Scores, parameters and metadata pass through numpy (samplers draw ``np.int64``, ``cv_results_``
holds arrays), and ``json`` refuses those. Every part of the core that writes or compares such values
uses these two functions. NaN is left as it is: metadata keeps it (``json`` writes ``NaN``) and the
store, which must not, turns it into null with its own ``storage.repository.to_json_data``.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from pipeline_core.errors import SpecError


def plain_value(value: Any) -> Any:
    """A numpy scalar as the Python value it holds (so it serialises and compares equal); anything else as is."""
    return value.item() if isinstance(value, np.generic) else value


def jsonable(value: Any) -> Any:
    """``value`` with dict keys as text, tuples and arrays as lists and numpy scalars as Python values, deeply."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [jsonable(v) for v in value]
    return plain_value(value)


def parse_json_document(source: str | bytes, *, what: str, max_bytes: int, max_depth: int | None = None) -> Any:
    """The parsed document, or a :class:`SpecError` saying what is wrong with ``what`` (how messages name it)."""
    if len(source) > max_bytes:
        raise SpecError(f"{what} is {len(source):,} bytes; the limit is {max_bytes:,}")
    try:
        data = json.loads(source)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise SpecError(f"{what} is not valid JSON: {e}") from e
    except RecursionError as e:  # json gives up on absurd nesting with this, not with a JSONDecodeError
        raise SpecError(f"{what} is nested far too deeply to be a pipeline file") from e
    if max_depth is not None and nesting_depth(data, max_depth) > max_depth:
        raise SpecError(f"{what} is nested deeper than {max_depth} levels")
    return data


def nesting_depth(value: Any, limit: int, level: int = 0) -> int:
    """How deep ``value`` nests, counting no further than just past ``limit``."""
    if level > limit:
        return level
    if isinstance(value, dict):
        return max((nesting_depth(v, limit, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((nesting_depth(v, limit, level + 1) for v in value), default=level + 1)
    return level
