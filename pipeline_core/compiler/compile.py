"""Compile a definition into one scikit-learn ``Pipeline``.

The result is ``prepare → columns (ColumnTransformer) → global steps → model``. Because
every learned step sits inside it, cross-validation refits them in each fold (no
leakage) and the exported model carries them. Step names are unique and readable, so
``get_params``/``set_params(model__C=...)`` and search CV work unchanged.

When a one-hot step asks for it (``boosting="codes"``, or ``"auto"`` for regression or large data), a model
that splits on categories itself (histogram gradient boosting) gets those columns as one code
column each instead, first in its input and named in its ``categorical_features``: the same
information in a third of the memory, fitted faster, though on some data less accurate. So
the pipeline can depend on the task and the number of training rows, ``n_rows``; a saved model records both.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from pipeline_core.compiler import target as tt
from pipeline_core.compiler.columns import ColumnInfo, resolve_columns
from pipeline_core.definition import steps as st
from pipeline_core.definition.registry import MODELS
from pipeline_core.definition.spec import ModelSpec, PipelineSpec
from pipeline_core.errors import SpecError
from pipeline_core.transformers import Densify, FramePreparer

NEVER_FEATURES = ("id", "constant")


def compile_pipeline(
    spec: PipelineSpec, schema: dict[str, ColumnInfo], *, task: str, model: ModelSpec | None = None,
    n_rows: int | None = None,
) -> Pipeline:
    """Build the unfitted pipeline for ``model`` (or preprocessing only when ``model`` is None).

    ``n_rows``, the number of training rows, settles one-hot steps' ``boosting="auto"``. A regression model whose
    ``target_transform`` is settled (``log``, ``yeo_johnson``: :func:`pipeline_core.compiler.target.resolve`) is
    wrapped to fit the transformed target; ``auto`` compiles as ``none`` (nothing here knows the target).
    """
    types = {c: schema[c].type for c in feature_columns(spec, schema)}
    if not types:
        raise SpecError("columns: no feature columns are left after dropping; keep at least one")
    seed = spec.evaluation.seed
    column_steps = [s for s in spec.steps if s.stage == "column"]
    native = model is not None and _native_categories(spec, model)
    columns, n_codes = _column_transformer(spec.steps, types, task, seed, native=native, n_rows=n_rows)
    named: list[tuple[str, object]] = [
        ("prepare", FramePreparer(rename=dict(spec.columns.rename), types=types)),
        ("columns", columns),
    ]
    for i, step in enumerate(spec.steps):
        if step.stage == "global":
            named.append((f"{step.kind}_{i}", step.build(task, seed)))
    if model is not None:
        entry = MODELS[model.kind]
        if task not in entry.estimators:
            raise SpecError(f"models: '{model.kind}' cannot do {task}; choose one of the {task} models")
        if entry.dense_only and any(isinstance(s, st.Tfidf) for s in column_steps):
            named.append(("densify", Densify()))
        try:
            params = {**model.params, entry.native_categorical: list(range(n_codes))} if n_codes else model.params
            transform = model.target_transform if task == "regression" else "none"
            named.append(("model", tt.wrap(entry.build(task, params, seed), transform)))
        except TypeError as e:
            raise SpecError(f"models[{model.kind}].params: {e}") from e
    return Pipeline(named)


def gives_codes(pipeline: Pipeline, model: ModelSpec) -> bool:
    """Whether the compiled model splits on category codes that the definition's one-hot steps chose for it."""
    parameter = MODELS[model.kind].native_categorical
    if parameter is None or parameter in model.params:
        return False
    chosen = getattr(tt.inner_model(pipeline[-1]), parameter, None)  # scikit-learn's own default is "from_dtype"
    return isinstance(chosen, list) and bool(chosen)


def feature_columns(spec: PipelineSpec, schema: dict[str, ColumnInfo]) -> list[str]:
    """Columns that reach the model: not the target, not dropped, not ID-like or constant."""
    dropped = {c for s in spec.steps if isinstance(s, st.DropColumns) for c in s.columns}
    return [
        c for c, info in schema.items()
        if c != spec.target and c not in dropped and info.type not in NEVER_FEATURES
    ]


def column_chains(steps: list[st.Step], types: dict[str, str]) -> dict[tuple[int, ...], list[str]]:
    """Columns of ``types`` grouped by their chain: the indices (in ``steps``) of the column steps that pick them.

    The one place that decides which column steps transform a column, in which order; the compiler
    builds one ``ColumnTransformer`` branch per chain and the step preview refits the same chains.
    """
    resolved = [(i, resolve_columns(s.columns, types)) for i, s in enumerate(steps) if s.stage == "column"]
    chains: dict[tuple[int, ...], list[str]] = defaultdict(list)
    for col in types:
        chains[tuple(i for i, cols in resolved if col in cols)].append(col)
    return dict(chains)


def _native_categories(spec: PipelineSpec, model: ModelSpec) -> bool:
    """Code columns are only safe where nothing after the ``ColumnTransformer`` moves columns."""
    parameter = MODELS[model.kind].native_categorical
    return (parameter is not None and parameter not in model.params
            and not any(s.stage == "global" for s in spec.steps))


def _column_transformer(
    steps: list[st.Step], types: dict[str, str], task: str, seed: int, *, native: bool = False,
    n_rows: int | None = None,
) -> tuple[ColumnTransformer, int]:
    """One branch per distinct chain of steps; columns with the same chain share a branch.

    With ``native``, chains that end in one-hot encoding emit codes instead and come first;
    the second value is how many code columns lead the output (0 without ``native``).
    """
    chains = column_chains(steps, types)
    chain_steps = {chain: [steps[i] for i in chain] for chain in chains}
    codes = native and any(_codable(steps, n_rows, task) for steps in chain_steps.values())
    # Histogram boosting takes float64 one-hot input as it is, so float32 would only add a copy; given
    # codes, it re-encodes all its input into a new float64 matrix anyway, and float32 halves what we hold.
    float32 = codes or not native
    coded, branches, n_codes = [], [], 0
    for chain, cols in chains.items():
        steps = chain_steps[chain]
        if codes and _codable(steps, n_rows, task):
            coded.extend(_branches(steps, cols, types, task, seed, codes=True))
            n_codes += len(cols)
        else:
            branches.extend(_branches(steps, cols, types, task, seed, float32=float32))
    transformer = ColumnTransformer(_step_names(coded + branches), remainder="drop", sparse_threshold=0.3,
                                    verbose_feature_names_out=True)
    return transformer, n_codes


def _step_names(branches: list[tuple[str, object, object]]) -> list[tuple[str, object, object]]:
    """The branches with names scikit-learn accepts: no ``__``, each unique; the columns they pick are unchanged.

    Branch names quote the column names for readability, but scikit-learn splits parameter names on
    ``__`` and refuses any step name containing it ("Estimator names must not contain __"), so data
    with a column such as ``price__eur`` would make every model fail. Only the name is rewritten (``__``
    becomes ``_.``); the data keeps its columns. Two columns could then give one name, so a repeat
    gets a number.
    """
    seen: set[str] = set()
    named = []
    for name, transformer, cols in branches:
        safe = base = name.replace("__", "_.")
        n = 1
        while safe in seen:
            n += 1
            safe = f"{base}#{n}"
        seen.add(safe)
        named.append((safe, transformer, cols))
    return named


def _codable(steps: list[st.Step], n_rows: int | None, task: str) -> bool:
    """A chain whose output is one column per input: fills without indicators, then one-hot asking for codes."""
    return (bool(steps) and isinstance(steps[-1], st.OneHot) and steps[-1].codes_for(n_rows, task)
            and all(isinstance(s, st.Impute) and not s.add_indicator and s.strategy in ("constant", "most_frequent")
                    for s in steps[:-1]))


def _branches(
    steps: list[st.Step], cols: list[str], types: dict[str, str], task: str, seed: int, codes: bool = False,
    float32: bool = True,
) -> list[tuple[str, object, object]]:
    if not steps:
        unencoded = [c for c in cols if types[c] != "numeric"]
        if unencoded:
            raise SpecError(
                f"steps: column(s) {', '.join(unencoded)} are not numeric and no step encodes them; "
                "add an encoding step (one-hot, ordinal, target, TF-IDF, date parts) or drop them"
            )
        return [("passthrough", "passthrough", cols)]
    name = "+".join([s.kind for s in steps[:-1]] + ["codes" if codes else steps[-1].kind])
    if any(s.per_column for s in steps):
        return [(f"{name}[{c}]", _chain(steps, task, seed, codes, float32), c) for c in cols]
    label = f"{cols[0]}…" if len(cols) > 1 else cols[0]
    return [(f"{name}[{label}]", _chain(steps, task, seed, codes, float32), cols)]


def _chain(steps: list[st.Step], task: str, seed: int, codes: bool = False, float32: bool = True) -> object:
    built = [(f"{s.kind}_{i}", s.build(task, seed)) for i, s in enumerate(steps)]
    if codes:  # the chain ends in one-hot (see ``_codable``)
        built[-1] = (built[-1][0], steps[-1].build_codes())
    elif float32 and not any(isinstance(s, st.Tfidf) for s in steps):  # dense output: hand it on in float32
        built.append(("float32", _float32()))
    return built[0][1] if len(built) == 1 else Pipeline(built)


def _float32() -> FunctionTransformer:
    """Each branch's output in float32, so the matrix the model gets (the largest block) is half the size.

    It runs after the branch's fills and scaling, which compute in float64; the values lose
    nothing a model can use (7 significant digits), and tree models work in float32 anyway.
    """
    return FunctionTransformer(np.asarray, kw_args={"dtype": "float32"}, feature_names_out="one-to-one")

