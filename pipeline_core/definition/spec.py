"""The pipeline definition: plain, versioned data.

A definition names the data, the column handling, the target and task, the ordered
steps, the candidate models and the evaluation plan. It is JSON in and out and is
validated at the edge (:func:`load_spec`), so everything after it can trust it.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from pipeline_core.definition.choices import (
    OneHotBoosting,
    RefitRounds,
    TargetTransform,
    Task,
    TextModels,
    ThresholdMetric,
    TuningMethod,
)
from pipeline_core.definition.rules import RULES, RuleSpec
from pipeline_core.definition.steps import STEP_TYPES, ColumnType
from pipeline_core.errors import SpecError
from pipeline_core.json_data import nesting_depth, parse_json_document

SCHEMA_VERSION = 9
MAX_SPEC_BYTES = 1_000_000
MAX_SPEC_DEPTH = 12
# Every seeded library takes this range (scikit-learn and NumPy refuse a negative seed or one from 2**32), and
# it is the Train page's input range, so a definition that loads can always be shown and run.
MAX_SEED = 2**31 - 1

StepSpec = Annotated[Union[STEP_TYPES], Field(discriminator="kind")]  # noqa: UP007


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataSource(Strict):
    """Where the data came from: the file name is shown, the hash identifies it."""

    file_name: str = ""
    sha256: str = ""
    format: str = ""


class ColumnsSpec(Strict):
    """Column slicing before any step: keep, rename, and force semantic types."""

    select: list[str] | None = None
    rename: dict[str, str] = Field(default_factory=dict)
    types: dict[str, ColumnType] = Field(default_factory=dict)

    @field_validator("rename")
    @classmethod
    def _unique_new_names(cls, rename: dict[str, str]) -> dict[str, str]:
        """Two columns renamed to one name would clash in any data; a clash with a column the data keeps is
        refused when the definition meets the data (``compiler.columns.apply_column_spec``)."""
        by_new: dict[str, str] = {}
        for old, new in rename.items():
            if new in by_new:
                raise ValueError(f"'{by_new[new]}' and '{old}' are both renamed to '{new}'; each new name "
                                 "must be unique")
            by_new[new] = old
        return rename


class SearchDim(Strict):
    """One hyperparameter's search space (int/float ranges or a list of choices)."""

    type: Literal["int", "float", "choice"]
    low: float | None = None
    high: float | None = None
    log: bool = False
    values: list[Any] | None = None


class ModelSpec(Strict):
    """A candidate model: a registry key, fixed hyperparameters, optional search space, and for regression how the
    model sees the target (a field with a default, so definitions saved before it load unchanged)."""

    kind: str
    params: dict[str, Any] = Field(default_factory=dict)
    search: dict[str, SearchDim] = Field(default_factory=dict)
    target_transform: TargetTransform = Field(
        "auto", description="Regression only: fit the model to log(1 + target) or a Yeo-Johnson transform of it "
                            "and turn its predictions back into the target's units. 'auto' uses the log for a "
                            "positive, strongly right-skewed target (prices, amounts) on models where that helps.")

    @field_validator("kind")
    @classmethod
    def _known_model(cls, kind: str) -> str:
        from pipeline_core.definition.registry import MODELS

        if kind not in MODELS:
            raise ValueError(f"'{kind}' is not a known model; choose one of {', '.join(MODELS)}")
        return kind

    @field_validator("params")
    @classmethod
    def _known_params(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        """Only the registry estimator's own constructor parameters may be set (search names are checked
        against the fitted pipeline when tuning starts)."""
        kind = info.data.get("kind")
        if kind is None:  # an unknown model is reported by its own validator
            return value
        known = _model_parameters(kind)
        unknown = [name for name in value if name not in known]
        if unknown:
            raise ValueError(f"'{unknown[0]}' is not a parameter of '{kind}'; its parameters are "
                             f"{', '.join(sorted(known))}")
        return value


class EvaluationPlan(Strict):
    """How models are compared: a hold-out split, K-fold CV on the rest, a metric, a seed, and whether ensembles
    of the candidates compete too (``ensemble``: a field with a default, so definitions saved before it load
    unchanged, with no schema version of their own).

    ``refit_all`` (schema 5, issue 20 point 4): the model scored on the hold-out rows was trained without them,
    so its score is honest; the model saved and served is then the same configuration refitted on every row,
    which a model trained on a fifth fewer rows would waste. The hold-out model is kept apart for every
    hold-out number, chart and audit. Schema 4 definitions saved the training-rows model; the migration keeps
    that (``refit_all`` off), so a saved definition re-runs to the same model.

    ``refit_rounds`` (schema 8): a model that stops its rounds early holds a share of its fit's rows aside to stop
    on; in CV that chooses its rounds, but a refit that stopped the same way would leave that share out of the
    saved model. "folds" refits with the folds' mean rounds on every row (``training.rounds``); schema 7
    definitions refitted by stopping again, and the migration keeps that ("stopping").
    """

    holdout: float = Field(0.2, ge=0.0, lt=0.9)
    cv_folds: int = Field(5, ge=2, le=20)
    stratify: bool = True
    metric: str = "auto"
    seed: int = 42
    ensemble: bool = Field(
        False, description="Also build a greedy ensemble and a stacked ensemble of the candidates from their "
                           "out-of-fold predictions (never the hold-out rows); each is ranked like any model.")
    refit_all: bool = Field(
        True, description="After the hold-out score is reported, refit the best model on the training and "
                          "hold-out rows together; that model is saved and served (schema 5).")
    refit_rounds: RefitRounds = Field(
        "folds", description="For a model that stops its rounds early on rows it holds aside: 'folds' refits it "
                             "with the mean of the rounds its CV folds stopped at, on every row (schema 8); "
                             "'stopping' stops the refit again on a share of its own rows.")

    @field_validator("seed", mode="before")
    @classmethod
    def _seed_in_range(cls, seed: Any) -> Any:
        """Checked here, where the definition enters, not by the library that would fail deep inside training
        (before the integer check, so 1e30 is named as out of range rather than as an unparsable string)."""
        if isinstance(seed, (int, float)) and not isinstance(seed, bool) and not 0 <= seed <= MAX_SEED:
            shown = f"{seed:g}" if abs(seed) >= 1e15 else f"{seed}"
            raise ValueError(f"the seed must be a whole number from 0 to {MAX_SEED:,} (got {shown})")
        return seed


DEFAULT_TUNING_SECONDS = 600.0
MAX_TUNING_SECONDS = 7_200.0
"""Time budgets for one model's search. Without a budget, 10,000 trials of one model took about 6 h and every
other user's job waited behind it (issue 14); a server may lower the cap (``PIPELINE_STUDIO_MAX_TUNING_MINUTES``)."""


class TuningPlan(Strict):
    """Hyperparameter search: method, trial budget, and a time budget (seconds) per model that always applies.

    Schema 1 allowed ``timeout_seconds: null`` (no limit); schema 2 has no unlimited search, and the
    migration gives such definitions the default.
    """

    method: TuningMethod = "none"
    n_trials: int = Field(20, ge=1, le=10_000)
    timeout_seconds: float = Field(DEFAULT_TUNING_SECONDS, gt=0, le=MAX_TUNING_SECONDS)


class ThresholdPlan(Strict):
    """Decision threshold tuning for a two-class target (schema 4, issue 15 point 12).

    A classifier predicts the second class when its probability is at least 0.5; on an imbalanced target
    that threshold favours the common class. With ``tune`` the compiled model is wrapped in scikit-learn's
    ``TunedThresholdClassifierCV``: inside every fit it cross-validates the model on that fit's own rows
    (``cv_folds`` folds) and keeps the threshold whose out-of-fold predictions score best on ``metric``. So the
    threshold is chosen on training rows only (never on the hold-out rows or a CV fold's test rows), and it
    travels inside the saved model. Targets with more than two classes ignore it.
    """

    tune: bool = False
    metric: ThresholdMetric = "balanced_accuracy"
    cv_folds: int = Field(3, ge=2, le=10)


MIN_AUTOPILOT_SECONDS = 5.0
MAX_AUTOPILOT_SECONDS = 86_400.0
"""The autopilot's budget: under 5 s the default models alone rarely finish their cross-validation; over a day is
a typing mistake more likely than a wish."""


class AutopilotPlan(Strict):
    """Search for the best model a time budget can buy (issue 20 point 1), and what that search chose.

    With no ``chosen`` configurations, training searches: every model family's portfolio from the registry
    (cheapest first), then an Optuna search across families and their hyperparameters, each candidate
    cross-validated as a whole compiled pipeline, until ``time_budget_seconds`` (the final refits included) is
    spent or the user stops it. The definition's ``models`` and ``tuning`` are not used; ``families`` may narrow
    the search. A search is not reproducible (it stops when the time runs out, which depends on the machine),
    so the run records the configurations it kept in ``chosen``: a definition that has them re-trains exactly
    those, scored on the same folds, and so re-runs to the same leaderboard with the same seed, however long that
    takes. A new search is an explicit choice: clear ``chosen``.
    """

    time_budget_seconds: float = Field(ge=MIN_AUTOPILOT_SECONDS, le=MAX_AUTOPILOT_SECONDS)
    families: list[str] = Field(
        default_factory=list, description="Model families to search (registry keys); empty: every family with a "
                                          "portfolio for the task.")
    ensemble: bool = Field(
        True, description="Also rank ensembles of the families' best configurations (from their out-of-fold "
                          "predictions); a recorded search keeps what it decided.")
    chosen: list[ModelSpec] = Field(
        default_factory=list, description="The configurations a finished search kept, one per family, in the "
                                          "order it found them; when present, training re-trains these and "
                                          "searches nothing.")
    ensemble_members: list[str] = Field(
        default_factory=list, description="The families the ensembles may combine, recorded when the search had "
                                          "time left to refit only these (best first); empty: every chosen family.")
    selection_folds: list[float] = Field(
        default_factory=list, description="Recorded by the search: each CV fold's score (the ranking metric) of "
                                          "the best single configuration it tried when only the other folds choose "
                                          "it; an ensemble goes first unless this leads the best ensemble by more "
                                          "than the standard error of their fold-by-fold differences. Empty: the "
                                          "single model's own fold scores.")
    selection_basis: str = Field(
        "", description="Recorded with selection_folds: a fingerprint of the metric, folds, training targets and "
                        "features they were scored on; a run on other data, folds or metric compares the single "
                        "model's own fold scores instead.")

    @field_validator("families")
    @classmethod
    def _searchable(cls, families: list[str]) -> list[str]:
        from pipeline_core.definition.registry import MODELS

        for kind in families:
            if kind not in MODELS or not MODELS[kind].portfolio:
                searchable = ", ".join(k for k, e in MODELS.items() if e.portfolio)
                raise ValueError(f"'{kind}' has no autopilot portfolio; choose among {searchable}")
        return families


class OpenChoices(Strict):
    """What the choices a definition leaves open become (schema 6): the models it does not list (the task's
    preselected models when ``models`` is empty, the autopilot's candidates) and the steps added for its columns
    when it has none (the command line's automatic steps).

    Schema 7 trains LightGBM instead of histogram gradient boosting among the preselected models when a TF-IDF step
    feeds them (``text_models``); a definition saved before keeps the usual set (``"preselected"``).

    Schema 6 changed two regression defaults (issue 20 point 6): a model's target transform ``auto`` (a log target
    for a positive, skewed one) and one-hot steps' ``boosting="auto"`` (one code column per label for regression at
    any size). A definition saved before had neither, so the migration pins both here and on every model and
    one-hot step it lists (``"none"``, ``"large"``): it re-trains as it did when its user saw it.
    """

    target_transform: TargetTransform = Field(
        "auto", description="The target transform of the models the definition does not list itself.")
    one_hot_boosting: OneHotBoosting = Field(
        "auto", description="The 'boosting' option of one-hot steps added for the definition's columns when it "
                            "has no steps of its own.")
    text_models: TextModels = Field(
        "sparse", description="The models used when the definition lists none and a TF-IDF step feeds them: "
                              "'sparse' puts LightGBM, which reads TF-IDF's sparse columns as they are, in "
                              "histogram gradient boosting's place (schema 7); 'preselected' keeps the usual set.")

    def model(self, kind: str, params: dict[str, Any] | None = None) -> ModelSpec:
        """A model the definition does not list, as it leaves it open."""
        return ModelSpec(kind=kind, params=params or {}, target_transform=self.target_transform)

    def preselected(self, task: str, steps: list[Any]) -> list[str]:
        """The model kinds a definition with these ``steps`` trains when it lists none."""
        from pipeline_core.definition.registry import default_models

        return default_models(task, sparse_text=self.sparse_text(steps))

    def sparse_text(self, steps: list[Any]) -> bool:
        """Whether models with a ``with_text`` stand-in give it their place: a TF-IDF step feeds the models, and
        the definition is of schema 7 or later (``text_models``)."""
        from pipeline_core.definition.steps import Tfidf

        return self.text_models == "sparse" and any(isinstance(s, Tfidf) for s in steps)


class PipelineSpec(Strict):
    """A whole pipeline definition; ``schema_version`` selects migrations on load.

    Quality rules are part of it (schema 3), so they are versioned and diffed with the steps, travel in
    every exported definition, model file and script, and are checked wherever the model scores data.
    """

    schema_version: Literal[9] = SCHEMA_VERSION
    name: str = "untitled pipeline"
    data: DataSource = Field(default_factory=DataSource)
    columns: ColumnsSpec = Field(default_factory=ColumnsSpec)
    target: str | None = None
    task: Task = "auto"
    steps: list[StepSpec] = Field(default_factory=list)
    models: list[ModelSpec] = Field(default_factory=list)
    evaluation: EvaluationPlan = Field(default_factory=EvaluationPlan)
    tuning: TuningPlan = Field(default_factory=TuningPlan)
    threshold: ThresholdPlan = Field(default_factory=ThresholdPlan)
    autopilot: AutopilotPlan | None = Field(
        None, description="Search for the best model within a time budget instead of comparing ``models`` (a "
                          "field with a default: definitions saved before it load unchanged).")
    rules: list[RuleSpec] = Field(
        default_factory=list,
        description="Data-quality rules on the raw columns (schema 3): reported on the data and on every scored "
                    "file; they change no row unless turned into a filter step.")
    open_choices: OpenChoices = Field(
        default_factory=OpenChoices,
        description="What models and steps the definition does not list become (schema 6; older definitions are "
                    "pinned to what they trained with then).")

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def content_hash(self) -> str:
        """sha256 of the canonical JSON: equal definitions hash equally, whatever the key order.

        ``storage.definition_sha256`` computes the same text on the other side of the layers (storage may not
        import the core); ``tests/application/test_contracts.py`` holds the two equal.
        """
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def load_spec(source: str | bytes | dict[str, Any]) -> PipelineSpec:
    """Parse, migrate and validate a definition; raise :class:`SpecError` naming the field."""
    from pipeline_core.definition.migrations import migrate

    data = _parse(source)
    data = migrate(data)
    try:
        return PipelineSpec.model_validate(data)
    except ValidationError as e:
        raise SpecError(format_validation_error(e)) from e


def _parse(source: str | bytes | dict[str, Any]) -> dict[str, Any]:
    data = source if isinstance(source, dict) else parse_json_document(source, what="pipeline definition",
                                                                       max_bytes=MAX_SPEC_BYTES)
    if not isinstance(data, dict):
        raise SpecError("pipeline definition must be a JSON object")
    if nesting_depth(data, MAX_SPEC_DEPTH) > MAX_SPEC_DEPTH:
        raise SpecError(f"pipeline definition is nested deeper than {MAX_SPEC_DEPTH} levels")
    return data


@functools.cache
def _model_parameters(kind: str) -> frozenset[str]:
    """Constructor parameters of a registry model, for any task it supports."""
    from pipeline_core.definition.registry import MODELS, parameters_of

    return frozenset(name for estimator in MODELS[kind].estimators.values() for name in parameters_of(estimator))


def format_validation_error(error: ValidationError) -> str:
    """Render pydantic errors as ``steps[2].strategy: ...`` lines a user can act on."""
    lines = []
    for err in error.errors():
        where = _format_loc(err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        got = err.get("input")
        suffix = f" (got {got!r})" if err["type"] not in {"missing", "value_error"} and _short(got) else ""
        lines.append(f"{where}: {message}{suffix}" if where else f"{message}{suffix}")
    return "; ".join(lines)


def _format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    previous_was_index = False
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            previous_was_index = True
            continue
        if previous_was_index and part in _STEP_KINDS:  # discriminator tag, not a field
            previous_was_index = False
            continue
        out += f".{part}" if out else str(part)
        previous_was_index = False
    return out


def _short(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool)) and len(repr(value)) < 60


_STEP_KINDS = {t.model_fields["kind"].default for t in STEP_TYPES} | set(RULES)
