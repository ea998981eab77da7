"""The one schema every page reads: a dataset's columns under the pipeline's definition.

Pages, the CLI and reports ask here instead of reading raw columns each their own way (issue 15 point 5):
names after renames, semantic types after overrides, and each column's role (target, feature, dropped,
identifier, constant), all from :mod:`pipeline_core.compiler.schema`, which uses the compiler's own logic.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import pandas as pd

from pipeline_core.compiler.columns import ColumnInfo, infer_schema
from pipeline_core.compiler.schema import (
    NOT_FEATURES,
    DataSchema,
    SchemaColumn,
    column_types,
    columns_fingerprint,
    data_schema,
    feature_types,
)
from pipeline_core.definition.spec import PipelineSpec

__all__ = ["NOT_FEATURES", "DataSchema", "SchemaColumn", "column_types", "columns_fingerprint", "dataset_schema",
           "detected_types", "feature_types"]


def detected_types(frame: pd.DataFrame) -> dict[str, ColumnInfo]:
    """Each stored column's type as detected from its values, no definition applied.

    Reads every value (seconds on a million rows): callers keep it per dataset (by content hash) and pass it
    to :func:`dataset_schema`, which then only looks again at what a rename can change.
    """
    return infer_schema(frame, PipelineSpec())


def dataset_schema(frame: pd.DataFrame, spec: PipelineSpec, detected: Mapping[Hashable, ColumnInfo] | None = None,
                   *, types: Mapping[str, ColumnInfo] | None = None) -> DataSchema:
    """``frame``'s schema under ``spec``; ``DataError`` when the definition's columns do not fit the data.

    ``types``: :func:`column_types` of ``spec.columns`` (kept per dataset and columns section by the caller).
    """
    return data_schema(frame, spec, detected, types=types)
