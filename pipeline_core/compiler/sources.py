"""Which of the user's columns each feature of the compiled model's input matrix comes from.

A compiled pipeline (:mod:`~pipeline_core.compiler.compile`) turns the user's columns into one matrix:
one-hot encoding makes a feature per level, TF-IDF one per word, date parts one per part, imputation adds
missing-value indicators, and selection steps keep a subset. Explanations speak in the user's columns, so
a contribution computed for a matrix feature is added to the column it came from. This module is the one
place that knows how each step of ours maps its outputs back to its inputs; it reads the fitted
transformers' structure, never parses feature names (a column named ``a_b`` beside ``a`` would fool that).

A feature made from several columns (a PCA component, an interaction term, the isolation-forest flag) has
no single source; :func:`matrix_sources` then says which step mixed them, and callers explain on the raw
columns instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import OneToOneFeatureMixin
from sklearn.compose import ColumnTransformer
from sklearn.feature_selection import SelectorMixin
from sklearn.impute import KNNImputer, SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, KBinsDiscretizer, OneHotEncoder, PolynomialFeatures

from pipeline_core import transformers as tr

Sources = list[frozenset[int]]  # per output feature: the indices of the inputs it is computed from


@dataclass(frozen=True)
class MatrixSources:
    """The model's input features traced back to the user's columns.

    ``columns`` are the user's columns in the order the pipeline reads them (after renaming);
    ``feature_column[j]`` is the index in ``columns`` of matrix feature ``j``'s source, or ``None`` for
    every feature when some feature mixes columns; ``mixed_by`` then names the step that mixes them.
    """

    columns: list[str]
    feature_column: list[int] | None
    mixed_by: str = ""

    @property
    def traceable(self) -> bool:
        return self.feature_column is not None

    def summing_matrix(self) -> np.ndarray:
        """A (features × columns) 0/1 matrix: ``contributions @ summing_matrix()`` adds features per column."""
        if self.feature_column is None:
            raise ValueError(f"features are mixed by {self.mixed_by}; they have no single source column")
        summing = np.zeros((len(self.feature_column), len(self.columns)))
        summing[np.arange(len(self.feature_column)), self.feature_column] = 1.0
        return summing


def matrix_sources(pipeline: Pipeline) -> MatrixSources:
    """Trace each feature the fitted ``pipeline``'s last step receives back to one user column."""
    prepare, columns = pipeline[0], pipeline[1]
    names = list((prepare.types or {}) if isinstance(prepare, tr.FramePreparer) else prepare.get_feature_names_out())
    if not isinstance(columns, ColumnTransformer):
        return MatrixSources(names, None, f"an unexpected step '{type(columns).__name__}'")
    sources, mixer = _column_transformer_sources(columns, names)
    for step_name, step in pipeline.steps[2:-1]:
        if sources is None:
            break
        sources, mixer = _step_sources(step, sources), step_name
    if sources is None or any(len(s) != 1 for s in sources):
        return MatrixSources(names, None, mixer)
    return MatrixSources(names, [next(iter(s)) for s in sources])


def _column_transformer_sources(columns: ColumnTransformer, names: list[str]) -> tuple[Sources | None, str]:
    """Sources of each output of the ``columns`` step, as indices into ``names``; ``None`` and the branch that mixes."""
    index = {name: i for i, name in enumerate(names)}
    width = sum(s.stop - s.start for s in columns.output_indices_.values())
    out: list[frozenset[int] | None] = [None] * width
    for branch, transformer, selected in columns.transformers_:
        where = columns.output_indices_[branch]
        if where.stop == where.start:
            continue
        picked = [selected] if isinstance(selected, str) else list(selected)
        inputs = [index[c] for c in picked]
        local = _outputs_of(transformer, len(inputs), where.stop - where.start)
        if local is None or any(len(s) != 1 for s in local):
            return None, branch
        for offset, source in enumerate(local):
            out[where.start + offset] = frozenset(inputs[i] for i in source)
    if any(s is None for s in out):
        return None, "the column step"
    return [s for s in out if s is not None], ""


def _outputs_of(transformer: Any, n_in: int, n_out: int) -> Sources | None:
    """For a fitted column transformer with ``n_in`` inputs and ``n_out`` outputs, each output's inputs."""
    if n_in == 1:  # a single column: every output comes from it, whatever the transformer does
        return [frozenset({0})] * n_out
    if isinstance(transformer, (str, OneToOneFeatureMixin)) or _one_to_one(transformer):
        return _identity(n_in) if n_out == n_in else None
    if isinstance(transformer, Pipeline):
        sources: Sources | None = _identity(n_in)
        for _, step in transformer.steps:
            if sources is None:
                return None
            width = len(step.get_feature_names_out()) if hasattr(step, "get_feature_names_out") else len(sources)
            local = _outputs_of(step, len(sources), width)
            sources = None if local is None else [frozenset().union(*(sources[i] for i in s)) for s in local]
        return sources
    if isinstance(transformer, OneHotEncoder):
        return _blocks(list(transformer._n_features_outs))
    if isinstance(transformer, KBinsDiscretizer):
        return _identity(n_in) if transformer.encode == "ordinal" else _blocks([int(n) for n in transformer.n_bins_])
    if isinstance(transformer, tr.DateParts):
        return _blocks([len(transformer.parts)] * n_in)
    if isinstance(transformer, PolynomialFeatures):
        return [frozenset(np.flatnonzero(row).tolist()) for row in transformer.powers_]
    if isinstance(transformer, (SimpleImputer, KNNImputer)) or hasattr(transformer, "indicator_"):
        return _imputer_outputs(transformer)
    if type(transformer).__name__ == "TargetEncoder" and n_out % n_in == 0:
        return _blocks([n_out // n_in] * n_in)  # one column per class for multiclass targets, feature by feature
    return None


def _one_to_one(transformer: Any) -> bool:
    return isinstance(transformer, FunctionTransformer) and transformer.feature_names_out == "one-to-one"


def _imputer_outputs(imputer: Any) -> Sources:
    """Kept columns first (by name), then one missing-value indicator per column that had missing values."""
    given = getattr(imputer, "feature_names_in_", None)  # absent when an earlier step handed it an array
    names_in = [str(c) for c in given] if given is not None else [f"x{i}" for i in range(imputer.n_features_in_)]
    index = {name: i for i, name in enumerate(names_in)}
    out = []
    for name in imputer.get_feature_names_out():
        source = index.get(name)
        if source is None:
            source = index[name.removeprefix("missingindicator_")]
        out.append(frozenset({source}))
    return out


def _step_sources(step: Any, sources: Sources) -> Sources | None:
    """Sources after one global step (or ``None`` when it mixes features)."""
    if isinstance(step, SelectorMixin):
        return [sources[i] for i in step.get_support(indices=True)]
    if isinstance(step, tr.Densify) or _one_to_one(step):
        return sources
    if isinstance(step, tr.IsolationForestFlag):
        return [*sources, frozenset().union(*sources)]
    return None


def _identity(n: int) -> Sources:
    return [frozenset({i}) for i in range(n)]


def _blocks(widths: list[int]) -> Sources:
    return [frozenset({i}) for i, width in enumerate(widths) for _ in range(width)]

