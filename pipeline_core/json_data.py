"""Plain JSON values from what scikit-learn, numpy and pandas hand back: the core's one converter.

Scores, parameters and metadata pass through numpy (samplers draw ``np.int64``, ``cv_results_``
holds arrays), and ``json`` refuses those. Every part of the core that writes or compares such values
uses these two functions. NaN is left as it is: metadata keeps it (``json`` writes ``NaN``) and the
store, which must not, turns it into null with its own ``storage.repository.to_json_data``.
"""

from __future__ import annotations

from typing import Any

import numpy as np


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
