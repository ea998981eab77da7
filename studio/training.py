"""Training as jobs: start the runner a server shares, submit, cancel and re-run training, follow the queue.

The page returns at once; the job writes progress and results to the run row, so a page change, a
closed tab or a refresh loses nothing: any session can reopen the run. The runner comes from the
settings: a Dask ``LocalCluster`` in its own process (default), an existing cluster
(``DASK_SCHEDULER_ADDRESS``; its workers must run this project's code and reach the same database and
studio home), or a thread pool in the server process (``PIPELINE_STUDIO_JOBS=threads``).
"""

from __future__ import annotations

from collections.abc import Callable

import storage
from pipeline_core.definition.spec import MIN_AUTOPILOT_SECONDS, PipelineSpec, load_spec
from pipeline_core.errors import DataError
from pipeline_core.jobs.job import Reporter
from pipeline_core.jobs.runners import JobRunner, create_runner
from pipeline_core.training.provenance import library_versions
from storage import Run, RunStatus, StorageError
from storage.files import resolve
from storage.models import ACTIVE_STATUSES
from storage.reporter import RunReporter, cancel_run, mark_lost_runs
from studio.audit_log import EventKind, record
from studio.limits import check_can_submit, job_owner
from studio.roles import Action, Actor, NotFound, require
from studio.settings import Settings, settings
from studio.workspace import current_store, open_store

ACTIVE = ACTIVE_STATUSES  # queued or running: the run still has a job


def start_runner(settings: Settings) -> JobRunner:
    """The job runner the settings ask for, after closing as failed the runs a previous server left active.

    Runs the runner's workers still hold are left alone: an external cluster keeps running jobs across
    app restarts and records their results itself.
    """
    runner = create_runner(settings.jobs, max_jobs=settings.max_jobs, scheduler=settings.scheduler_address)
    mark_lost_runs(open_store(settings), runner.live_jobs())
    return runner


def submit_training(actor: Actor, runner: JobRunner, spec: PipelineSpec, dataset_id: int, *,
                    pipeline_version_id: int | None = None, owner: str | None = None,
                    reporter: Callable[[storage.Store, int], Reporter] = RunReporter) -> int:
    """Record a queued run in the actor's workspace (editors and owners) and hand it to the runner; returns the run
    id at once.

    A signed-in account's run is recorded and counted as the account's; ``owner`` names the local user's submitter
    (pages pass their tab's draft, the CLI its own string). A user at their job limit, or whose files fill their
    storage, is refused before anything is recorded (:func:`studio.limits.check_can_submit`: one session once
    queued hours of jobs and everyone else waited behind them); the local user with ``owner`` ``None`` is not
    counted, for trusted in-process callers.
    The job gets the store itself (inside its reporter), so a worker process writes to this studio's
    database and files whatever its own environment says. ``reporter`` makes it from the store and the run id
    (a retrain's registers the model when the run ends).
    """
    config = settings()
    store = open_store(config)
    require(store, actor, Action.TRAIN)
    dataset = storage.get_dataset(store, dataset_id)
    if dataset is None or dataset.workspace_id != actor.workspace_id:
        raise NotFound(f"Dataset {dataset_id} no longer exists in this workspace; load it again on the Data page.")
    if pipeline_version_id is not None:
        version = storage.get_version_by_id(store, pipeline_version_id)
        pipeline = storage.get_pipeline(store, version.pipeline_id) if version is not None else None
        if pipeline is None or pipeline.workspace_id != actor.workspace_id:
            raise NotFound(f"Pipeline version {pipeline_version_id} was not found in this workspace.")
    check_fits_dataset(spec, dataset)
    job_spec = within_server_limits(spec, config)
    limits = check_can_submit(store, actor, owner, config)
    run = storage.create_run(store, dataset_id=dataset_id, pipeline_version_id=pipeline_version_id,
                             seed=spec.evaluation.seed, library_versions=library_versions(),
                             owner=job_owner(actor, owner), owner_id=actor.user_id, max_active=limits.max_jobs,
                             workspace_id=actor.workspace_id)
    data_path = str(resolve(store.home, dataset.parquet_path))
    try:
        runner.submit(run.id, job_spec.to_json(), data_path, reporter(store, run.id))
    except Exception as e:
        storage.finish_run(store, run.id, status=RunStatus.FAILED.value,
                           error=f"the job could not be handed to the workers: {e}")
        raise
    record(store, actor, EventKind.TRAIN, f"run #{run.id}", f"on dataset #{dataset_id} '{dataset.name}'")
    return run.id


def check_fits_dataset(spec: PipelineSpec, dataset: storage.Dataset) -> None:
    """Refuse, before a run is queued, a definition whose target or chosen columns the dataset lacks.

    "Train this version" with another file active once queued a run that failed minutes later with "target
    'mpg' is not a column" (issue 15 point 13); the dataset's stored column list answers at once.
    """
    present = {str(column["name"]) for column in dataset.columns}
    if not present:
        return  # an old dataset row without its column list: training reports it as before
    check_columns(spec, present, dataset.name, advice="Load that data on the Data page, or edit the pipeline for "
                                                      "this file.")


def raw_target(spec: PipelineSpec) -> str | None:
    """The target's name in the data file (the definition may rename it)."""
    raw_of = {new: raw for raw, new in spec.columns.rename.items()}
    return raw_of.get(spec.target, spec.target) if spec.target else None


def check_columns(spec: PipelineSpec, present: set[str], name: str, *, advice: str) -> None:
    """Refuse in one line a table named ``name`` lacking the target or a chosen column of ``spec``."""
    raw_of = {new: raw for raw, new in spec.columns.rename.items()}
    wanted = [raw_target(spec)] if spec.target else []
    wanted += [raw_of.get(c, c) for c in spec.columns.select or []]
    missing = [c for c in dict.fromkeys(wanted) if c not in present]
    if missing:
        built_on = f" It was built on '{spec.data.file_name}'." if spec.data.file_name else ""
        raise DataError(f"'{name}' has no column {', '.join(repr(c) for c in missing)}, which this pipeline "
                        f"needs.{built_on} {advice}")


def tuning_limit_seconds(spec: PipelineSpec, config: Settings) -> float:
    """The time a search of one model may take on this server: the definition's limit, or the server's
    maximum (``PIPELINE_STUDIO_MAX_TUNING_MINUTES``) when that is lower."""
    return min(spec.tuning.timeout_seconds, config.max_tuning_seconds)


def within_server_limits(spec: PipelineSpec, config: Settings) -> PipelineSpec:
    """The definition the job runs: its tuning time limit, and an autopilot's budget, lowered to the server's
    maximum (``PIPELINE_STUDIO_MAX_TUNING_MINUTES``: a search may not hold the workers longer than that).

    The job gets the limit inside the definition, so a worker honours it without reading this server's
    settings; the saved definition keeps what the user chose (another server may allow it).
    """
    limit = tuning_limit_seconds(spec, config)
    if limit != spec.tuning.timeout_seconds:
        spec = spec.model_copy(update={"tuning": spec.tuning.model_copy(update={"timeout_seconds": limit})})
    plan = spec.autopilot
    if plan is not None and plan.time_budget_seconds > config.max_tuning_seconds:
        budget = max(config.max_tuning_seconds, MIN_AUTOPILOT_SECONDS)
        spec = spec.model_copy(update={"autopilot": plan.model_copy(update={"time_budget_seconds": budget})})
    return spec


def rerun(actor: Actor, runner: JobRunner, run: Run, fallback: PipelineSpec, *, owner: str | None = None) -> int:
    """Start a run cut short (a restart, a failure, a cancel) again from its saved version, or from
    ``fallback`` (the definition being edited) when the run was never saved."""
    version = storage.get_version_by_id(current_store(), run.pipeline_version_id) if run.pipeline_version_id else None
    spec = load_spec(version.definition) if version else fallback
    if run.dataset_id is None:
        raise StorageError(f"Run #{run.id}'s dataset was deleted; load the data again and train from the Train page.")
    if run.workspace_id != actor.workspace_id:
        raise NotFound(f"Run #{run.id} was not found in this workspace.")
    return submit_training(actor, runner, spec, run.dataset_id, pipeline_version_id=run.pipeline_version_id,
                           owner=owner)


def with_autopilot(spec: PipelineSpec, budget_seconds: float | None, *, search_again: bool = False) -> PipelineSpec:
    """The definition with the Train page's choice: ``None`` compares the definition's models as before; a budget
    turns the autopilot on. The configurations a finished search recorded are kept (training then re-trains
    exactly those) unless the budget changed or the user asks to ``search_again``: a new search is explicit."""
    if budget_seconds is None:
        return spec.model_copy(update={"autopilot": None}) if spec.autopilot is not None else spec
    current = spec.autopilot
    if current is not None and current.time_budget_seconds == budget_seconds and not search_again:
        return spec
    plan = {"time_budget_seconds": budget_seconds, "families": current.families if current else [],
            "ensemble": current.ensemble if current else True}
    return load_spec({**spec.to_dict(), "autopilot": plan})


def recorded_choices(spec: PipelineSpec, run: Run) -> PipelineSpec | None:
    """The definition with the configurations a finished autopilot ``run`` chose, when it ran this definition's
    search (same budget, nothing recorded yet); ``None`` when there is nothing to record. Recording them is what
    makes a re-run train exactly those instead of searching again."""
    from pipeline_core.training.results import run_summary

    record = run_summary(run).autopilot if run.status == RunStatus.DONE else None
    current = spec.autopilot
    if record is None or record.plan is None or current is None or current.chosen:
        return None
    if current.time_budget_seconds != record.plan.time_budget_seconds:
        return None
    return spec.model_copy(update={"autopilot": record.plan})


def cancel(actor: Actor, run_id: int) -> None:
    """Ask a queued or running run of the actor's workspace to stop (editors and owners); its job stops at its next
    check."""
    store = current_store()
    require(store, actor, Action.TRAIN)
    run = storage.get_run(store, run_id)
    if run is None or run.workspace_id != actor.workspace_id:
        raise NotFound(f"Run #{run_id} was not found in this workspace.")
    cancel_run(store, run_id)
    record(store, actor, EventKind.TRAIN, f"run #{run_id}", "cancelled")


def check_job_limit(actor: Actor, owner: str | None) -> None:
    """Refuse now when the actor may not start another job (:func:`studio.limits.check_can_submit`), so a page
    need not start the training workers, nor a retrain store its rows, only to be refused (editors and owners)."""
    config = settings()
    store = open_store(config)
    require(store, actor, Action.TRAIN)
    check_can_submit(store, actor, owner, config)


def queue_position(run_id: int) -> int:
    """How many queued runs were submitted before this one (0 when it is next or running)."""
    queued = storage.list_runs(current_store(), status=RunStatus.QUEUED.value)
    return sum(1 for run in queued if run.id < run_id)


def active_run_on(actor: Actor, dataset_id: int) -> Run | None:
    """The newest queued or running run on a dataset of the actor's workspace: a new session (a refresh, another
    tab) picks it up."""
    store = current_store()
    require(store, actor, Action.READ)
    active = [run for status in ACTIVE for run in storage.list_runs(store, dataset_id=dataset_id, status=status.value,
                                                                    workspace_id=actor.workspace_id)]
    return max(active, key=lambda run: run.id) if active else None
