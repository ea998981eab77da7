"""Issue 19 point 2: every application-layer use case checks the actor's role in its workspace.

One studio is built once (a dataset, pipeline 'iris' with three registered versions, the second in production after
the first, a fourth finished run not registered yet, a retrain record, a logged request, a stopped service), and
every case runs on a fresh copy of it, once per kind of actor: someone not in the workspace is told the thing was
not found, a member whose role is too low is refused with the role it would take, and a member whose role suffices
gets the answer. The table below is the list of use cases; ``test_every_use_case_is_in_the_table`` fails when a
public function of a use-case module takes an actor and is missing from it.
"""

from __future__ import annotations

import inspect
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import storage
from pipeline_core.io.samples import load_sample
from pipeline_core.jobs.runners import ThreadJobRunner
from storage import Store, WorkspaceRole, retrains
from studio import (
    alert_thresholds,
    alerts,
    audit,
    audit_log,
    champion,
    datasets,
    drafts,
    explanations,
    members,
    model_report,
    models,
    monitor_drift,
    monitor_report,
    monitor_traffic,
    monitor_violations,
    monitoring,
    pipelines,
    prediction_log,
    registry,
    retrain,
    runs,
    scoring,
    services,
    stage_source,
    tokens,
    training,
)
from studio.audit_log import EventKind
from studio.roles import MINIMUM_ROLE, RANK, AccessDenied, Action, Actor, NotFound
from studio.settings import Settings
from tests.apptest import store_frame
from tests.pages.test_compare_page import fast_spec, train_now

LOCAL = Actor.local()
IRIS_CSV = load_sample("iris").head(30).to_csv(index=False).encode()
NOW = datetime.now(UTC)
WINDOW = {"since": NOW - timedelta(days=1), "until": NOW + timedelta(hours=1)}
PEOPLE = {"nora": None, "vera": WorkspaceRole.VIEWER, "eddie": WorkspaceRole.EDITOR, "olga": WorkspaceRole.OWNER}


@dataclass(frozen=True)
class Studio:
    """The ids of what the template studio holds."""

    dataset: int
    pipeline: int
    pipeline_version: int
    run: int  # trained from version 1 of 'iris', registered as version 1 (archived after version 2's promotion)
    unregistered_run: int
    artifact: int
    retrain: int
    service: int
    users: dict[str, int]
    tokens: dict[str, int]  # a viewer API token of each member, by name


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Studio]]:
    home = tmp_path_factory.mktemp("roles") / "home"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PIPELINE_STUDIO_HOME", str(home))
        patch.delenv("DATABASE_URL", raising=False)
        storage.reset_engines()
        store = Store.at(home)
        dataset = store_frame(store, load_sample("iris"), "iris")
        run_ids = []
        for seed in (1, 2, 3, 4):
            spec = fast_spec(seed=seed).model_copy(update={"name": "iris"})
            version = storage.save_pipeline_version(store, name="iris", definition=spec.to_dict())
            run_ids.append(train_now(store, dataset, spec, pipeline_version_id=version.id).id)
        for run_id in run_ids[:3]:
            registry.register_model(LOCAL, run_id, by="cli")
        registry.set_stage(LOCAL, "iris", 1, "production", by="cli", why="first")
        registry.set_stage(LOCAL, "iris", 2, "production", by="cli", why="second")
        pipeline = storage.get_pipeline(store, "iris")
        first = registry.model_version(LOCAL, "iris", 1)
        storage.append_predictions(store, [{"logged_at": NOW - timedelta(hours=2), "request_id": "r1", "row_id": 0,
                                            "inputs": {"sepal length (cm)": 5.0}, "prediction": "setosa",
                                            "latency_ms": 3.0}],
                                   source="service", pipeline_id=pipeline.id, model_version=2, model_sha256="ab")
        retrain_row = retrains.create_retrain(
            store, pipeline_id=pipeline.id, from_version=1, run_id=run_ids[2], dataset_id=dataset, source="file",
            base_rows=150, created_by="cli")
        service = storage.record_service(store, pipeline_id=pipeline.id, version=2, stage="production", pid=1,
                                         host="127.0.0.1", port=9, started_by="cli")
        users = {name: storage.add_user(store, name=name, password_hash="not a hash").id for name in PEOPLE}
        for name, role in PEOPLE.items():
            if role is not None:
                storage.set_member(store, workspace_id=storage.DEFAULT_WORKSPACE_ID, user_id=users[name],
                                   role=role.value)
        api_tokens = {name: storage.add_api_token(
            store, name=f"{name}'s", prefix="pst_x", token_sha256=name * 8, user_id=users[name],
            workspace_id=storage.DEFAULT_WORKSPACE_ID, role="viewer", expires_at=None).id
            for name, role in PEOPLE.items() if role is not None}
        storage.reset_engines()
    yield home, Studio(dataset=dataset, pipeline=pipeline.id, pipeline_version=first.definition_version or 0,
                       run=run_ids[0], unregistered_run=run_ids[3], artifact=first.artifact_id,
                       retrain=retrain_row.id, service=service.id, users=users, tokens=api_tokens)


@pytest.fixture
def studio(template, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Studio]:
    """A fresh copy of the template studio, the one this test's process works on."""
    source, ids = template
    home = tmp_path / "home"
    shutil.copytree(source, home)
    monkeypatch.setenv("PIPELINE_STUDIO_HOME", str(home))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    storage.reset_engines()
    yield ids
    storage.reset_engines()


@pytest.fixture
def runner(studio) -> Iterator[ThreadJobRunner]:
    threads = training.start_runner(Settings(PIPELINE_STUDIO_JOBS="threads"))
    yield threads
    threads.close()


Call = Callable[[Actor, Studio, Any], object]


def _spec() -> Any:
    return fast_spec(seed=9).model_copy(update={"name": "iris"})


def _store() -> Store:
    """The store of the studio copy this test works on (the application layer reads the same settings)."""
    return Store.at(Path(os.environ["PIPELINE_STUDIO_HOME"]))


CASES: dict[str, tuple[Action, Call]] = {
    # datasets
    "datasets.list_datasets": (Action.READ, lambda a, s, r: datasets.list_datasets(a)),
    "datasets.get_dataset": (Action.READ, lambda a, s, r: datasets.get_dataset(a, s.dataset)),
    "datasets.load_table": (Action.READ, lambda a, s, r: datasets.load_table(a, s.dataset)),
    "datasets.preview_rows": (Action.READ, lambda a, s, r: datasets.preview_rows(a, s.dataset, 5)),
    "datasets.ingest_upload": (Action.UPLOAD, lambda a, s, r: datasets.ingest_upload(a, IRIS_CSV, "iris.csv")),
    "datasets.load_sample_dataset": (Action.UPLOAD, lambda a, s, r: datasets.load_sample_dataset(a, "iris")),
    "datasets.save_table": (Action.UPLOAD, lambda a, s, r: datasets.save_table(
        a, load_sample("iris").head(5), name="five", file_name="five.csv", fmt="csv", sha256="f" * 64)),
    "datasets.merge_datasets": (Action.UPLOAD, lambda a, s, r: datasets.merge_datasets(
        a, storage.get_dataset(_store(), s.dataset), storage.get_dataset(_store(), s.dataset),
        keys=list(load_sample("iris").columns), mapping={}, how="inner", name="merged")),
    "datasets.import_query": (Action.UPLOAD, lambda a, s, r: datasets.import_query(a, "sqlite://", "SELECT 1", "q")),
    # pipelines
    "pipelines.list_pipelines": (Action.READ, lambda a, s, r: pipelines.list_pipelines(a)),
    "pipelines.pipeline_of": (Action.READ, lambda a, s, r: pipelines.pipeline_of(a, s.pipeline)),
    "pipelines.list_versions": (Action.READ, lambda a, s, r: pipelines.list_versions(a, s.pipeline)),
    "pipelines.get_version": (Action.READ, lambda a, s, r: pipelines.get_version(a, s.pipeline_version)),
    "pipelines.export_history": (Action.READ, lambda a, s, r: pipelines.export_history(a, s.pipeline)),
    "pipelines.saved_version_id": (Action.READ, lambda a, s, r: pipelines.saved_version_id(a, _spec(), s.pipeline, 1)),
    "pipelines.save_version": (Action.SAVE, lambda a, s, r: pipelines.save_version(a, _spec(), name="another")),
    "pipelines.import_file": (Action.SAVE, lambda a, s, r: pipelines.import_file(
        a, _spec().to_json().encode(), "iris.json")),
    "pipelines.delete_pipeline": (Action.DELETE, lambda a, s, r: pipelines.delete_pipeline(a, s.pipeline)),
    # runs and training
    "runs.get_run": (Action.READ, lambda a, s, r: runs.get_run(a, s.run)),
    "runs.run_of": (Action.READ, lambda a, s, r: runs.run_of(a, s.run)),
    "runs.list_runs": (Action.READ, lambda a, s, r: runs.list_runs(a)),
    "runs.run_inputs": (Action.READ, lambda a, s, r: runs.run_inputs(a, s.run)),
    "training.submit_training": (Action.TRAIN, lambda a, s, r: training.submit_training(a, r, _spec(), s.dataset)),
    "training.rerun": (Action.TRAIN, lambda a, s, r: training.rerun(
        a, r, storage.get_run(_store(), s.run), _spec())),
    "training.cancel": (Action.TRAIN, lambda a, s, r: training.cancel(a, s.run)),
    "training.check_job_limit": (Action.TRAIN, lambda a, s, r: training.check_job_limit(a, None)),
    "training.active_run_on": (Action.READ, lambda a, s, r: training.active_run_on(a, s.dataset)),
    # drafts
    "drafts.save_draft": (Action.READ, lambda a, s, r: drafts.save_draft(
        a, "d" * 22, dataset_id=s.dataset, spec=None, context=drafts.DraftContext())),
    "drafts.open_draft": (Action.READ, lambda a, s, r: drafts.open_draft(a, "d" * 22)),
    "drafts.draft_revision": (Action.READ, lambda a, s, r: drafts.draft_revision(a, "d" * 22)),
    # model files
    "models.get_artifact": (Action.READ, lambda a, s, r: models.get_artifact(a, s.artifact)),
    "models.load_stored_model": (Action.READ, lambda a, s, r: models.load_stored_model(a, s.artifact)),
    "models.loader": (Action.READ, lambda a, s, r: models.loader(a)(s.artifact)),
    "models.run_artifact": (Action.READ, lambda a, s, r: models.run_artifact(a, s.run)),
    "models.holdout_artifact": (Action.READ, lambda a, s, r: models.holdout_artifact(a, s.run)),
    "models.model_choices": (Action.READ, lambda a, s, r: models.model_choices(a)),
    "models.export_model": (Action.READ, lambda a, s, r: models.export_model(
        a, storage.get_model_artifact(_store(), s.artifact), "python")),
    "models.onnx_plan": (Action.READ, lambda a, s, r: models.onnx_plan(
        a, storage.get_model_artifact(_store(), s.artifact))),
    "models.import_model_file": (Action.UPLOAD, lambda a, s, r: models.import_model_file(
        a, storage.load_model_bytes(_store(), s.artifact), "model.skops")),
    "audit.holdout_scores": (Action.READ, lambda a, s, r: audit.holdout_scores(a, s.run)),
    "explanations.explain_run": (Action.READ, lambda a, s, r: explanations.explain_run(a, s.run, curves=0)),
    # registry
    "registry.get_pipeline": (Action.READ, lambda a, s, r: registry.get_pipeline(a, "iris")),
    "registry.list_model_versions": (Action.READ, lambda a, s, r: registry.list_model_versions(a, "iris")),
    "registry.model_version": (Action.READ, lambda a, s, r: registry.model_version(a, "iris", 1)),
    "registry.stage_history": (Action.READ, lambda a, s, r: registry.stage_history(a, "iris")),
    "registry.model_in_stage": (Action.READ, lambda a, s, r: registry.model_in_stage(a, "iris")),
    "registry.production_versions": (Action.READ, lambda a, s, r: registry.production_versions(a)),
    "registry.production_model": (Action.SCORE, lambda a, s, r: registry.production_model(a, "iris")),
    "registry.registrations_of": (Action.READ, lambda a, s, r: registry.registrations_of(a, s.run)),
    "registry.registrable_runs": (Action.READ, lambda a, s, r: registry.registrable_runs(a)),
    "registry.linked_pipeline": (Action.READ, lambda a, s, r: registry.linked_pipeline(
        a, storage.get_run(_store(), s.run))),
    "registry.rollback_target": (Action.READ, lambda a, s, r: registry.rollback_target(a, "iris")),
    "registry.register_model": (Action.SAVE, lambda a, s, r: registry.register_model(a, s.unregistered_run, by="t")),
    "registry.set_stage": (Action.SAVE, lambda a, s, r: registry.set_stage(a, "iris", 3, "staging", by="t",
                           why="test")),
    "registry.set_stage (production)": (Action.PROMOTE, lambda a, s, r: registry.set_stage(
        a, "iris", 3, "production", by="t", why="test")),
    "registry.rollback": (Action.PROMOTE, lambda a, s, r: registry.rollback(a, "iris", by="t", why="test")),
    "model_report.sensitive_choices": (Action.READ, lambda a, s, r: model_report.sensitive_choices(a, "iris", 1)),
    # monitoring
    "monitoring.window_of": (Action.READ, lambda a, s, r: monitoring.window_of(
        a, "iris", WINDOW["since"], WINDOW["until"], "hour", None)),
    "monitoring.content_marker": (Action.READ, lambda a, s, r: monitoring.content_marker(a, "iris")),
    "monitoring.traffic": (Action.READ, lambda a, s, r: monitoring.traffic(a, "iris", **WINDOW)),
    "monitoring.prediction_distribution": (Action.READ, lambda a, s, r: monitoring.prediction_distribution(
        a, "iris", **WINDOW)),
    "monitoring.live_performance": (Action.READ, lambda a, s, r: monitoring.live_performance(a, "iris", **WINDOW)),
    "monitor_drift.drift_over_time": (Action.READ, lambda a, s, r: monitor_drift.drift_over_time(a, "iris", **WINDOW)),
    "monitor_drift.reference_version": (Action.READ, lambda a, s, r: monitor_drift.reference_version(a, "iris", 2)),
    "monitor_violations.violations_over_time": (Action.READ, lambda a, s, r: monitor_violations.violations_over_time(
        a, "iris", **WINDOW)),
    "monitor_traffic.traffic_log": (Action.READ, lambda a, s, r: monitor_traffic.traffic_log(
        a, s.pipeline, WINDOW["since"], WINDOW["until"])),
    "monitor_traffic.traffic_from": (Action.READ, lambda a, s, r: monitor_traffic.traffic_from(
        a, monitor_traffic.traffic_log(LOCAL, s.pipeline, WINDOW["since"], WINDOW["until"]), granularity="hour",
        version=None, **WINDOW)),
    "monitor_report.build_report": (Action.READ, lambda a, s, r: monitor_report.build_report(a, "iris", **WINDOW)),
    "alerts.evaluate": (Action.READ, lambda a, s, r: alerts.evaluate(a, "iris", **WINDOW)),
    "alerts.measure": (Action.READ, lambda a, s, r: alerts.measure(
        a, "iris", granularity="hour", thresholds=alert_thresholds.AlertThresholds(), **WINDOW)),
    "alerts.service_checks": (Action.READ, lambda a, s, r: alerts.service_checks(a, "iris")),
    "alerts.service_watcher": (Action.READ, lambda a, s, r: alerts.service_watcher(a, "iris").close()),
    "alerts.important_features": (Action.READ, lambda a, s, r: alerts.important_features(a, "iris", 2)),
    "alert_thresholds.get_thresholds": (Action.READ, lambda a, s, r: alert_thresholds.get_thresholds(a, "iris")),
    "alert_thresholds.save_thresholds": (Action.SAVE, lambda a, s, r: alert_thresholds.save_thresholds(
        a, "iris", alert_thresholds.AlertThresholds(min_accuracy=0.5))),
    "champion.challenger_verdict": (Action.READ, lambda a, s, r: champion.challenger_verdict(a, "iris", 3, **WINDOW)),
    "prediction_log.upload_ground_truth": (Action.UPLOAD, lambda a, s, r: prediction_log.upload_ground_truth(
        a, b"request_id,row_id,outcome\nr1,0,setosa\n", "truth.csv")),
    "prediction_log.page_target": (Action.READ, lambda a, s, r: prediction_log.page_target(a, s.artifact, "ab", s.run)),
    "prediction_log.shadow_scorer": (Action.SCORE, lambda a, s, r: prediction_log.shadow_scorer(
        a, "iris", "none", champion=2)[0].flush(5)),
    "scoring.score_and_log": (Action.SCORE, lambda a, s, r: scoring.score_and_log(
        a, models.load_stored_model(LOCAL, s.artifact), load_sample("iris").head(3).drop(columns="target"),
        artifact_id=s.artifact, artifact_sha256="ab", run_id=s.run)),
    "stage_source.following": (Action.SCORE, lambda a, s, r: stage_source.following(a, "iris", "production").load()),
    # retrains
    "retrain.retrains": (Action.READ, lambda a, s, r: retrain.retrains(a, "iris")),
    "retrain.get_retrain": (Action.READ, lambda a, s, r: retrain.get_retrain(a, s.retrain)),
    "retrain.lineage": (Action.READ, lambda a, s, r: retrain.lineage(a, "iris", 1)),
    "retrain.pending_rows": (Action.READ, lambda a, s, r: retrain.pending_rows(a, "iris")),
    "retrain.retrain": (Action.TRAIN, lambda a, s, r: retrain.retrain(
        a, r, "iris", data=IRIS_CSV, file_name="iris.csv", by="t")),
    # services
    "services.list_services": (Action.READ, lambda a, s, r: services.list_services(a)),
    "services.stop_service": (Action.SAVE, lambda a, s, r: services.stop_service(a, s.service)),
    # members
    "members.members": (Action.READ, lambda a, s, r: members.members(_store(), a)),
    "members.set_member": (Action.MANAGE_MEMBERS, lambda a, s, r: members.set_member(
        _store(), a, "nora", "viewer")),
    "members.remove_member": (Action.MANAGE_MEMBERS, lambda a, s, r: members.remove_member(
        _store(), a, "vera")),
    "audit_log.audit_log": (Action.READ_AUDIT_LOG, lambda a, s, r: audit_log.audit_log(_store(), a)),
    # API tokens: any member makes and lists their own and revokes their own (others': see test_tokens.py)
    "tokens.create_token": (Action.READ, lambda a, s, r: tokens.create_token(_store(), a, "ci", "viewer")),
    "tokens.list_tokens": (Action.READ, lambda a, s, r: tokens.list_tokens(_store(), a)),
    "tokens.revoke_token": (Action.READ, lambda a, s, r: tokens.revoke_token(
        _store(), a, s.tokens.get(a.name, s.tokens["olga"]))),
}
CHECKED_APART = {"model_report.build_model_report", "services.start_service"}  # slow or a real process: see below


@pytest.mark.parametrize("person", list(PEOPLE))
@pytest.mark.parametrize("case", list(CASES))
def test_a_use_case_answers_members_whose_role_allows_it_and_refuses_everyone_else(case, person, studio, runner):
    action, call = CASES[case]
    actor = Actor.account(studio.users[person], person, storage.DEFAULT_WORKSPACE_ID)
    role = PEOPLE[person]
    if role is None:
        with pytest.raises(NotFound, match="not found"):
            call(actor, studio, runner)
    elif RANK[role] < RANK[MINIMUM_ROLE[action]]:
        with pytest.raises(AccessDenied, match=f"{person} is an? {role} .* may not {action} here: that takes"):
            call(actor, studio, runner)
    else:
        try:
            call(actor, studio, runner)
        except (NotFound, AccessDenied) as e:
            pytest.fail(f"{case} refused {person}, a {role}: {e}")
        except Exception as e:  # noqa: BLE001 - a refusal after the role check (e.g. no SQL source allowed) is the case's
            if case not in REFUSED_AFTER_THE_CHECK:
                raise
            assert REFUSED_AFTER_THE_CHECK[case] in str(e)


REFUSED_AFTER_THE_CHECK = {"datasets.import_query": "has not enabled SQL sources"}  # no SQL source is configured here


def test_a_model_report_is_not_found_by_a_non_member_and_a_service_is_started_by_editors_only(studio):
    """The two use cases too slow to run per role (SHAP on every version; a real service process): their refusals."""
    nora, vera = (Actor.account(studio.users[name], name, storage.DEFAULT_WORKSPACE_ID) for name in ("nora", "vera"))
    with pytest.raises(NotFound, match="not found"):
        model_report.build_model_report(nora, "iris", 1)
    with pytest.raises(NotFound, match="not found"):
        services.start_service(nora, "iris", by="nora")
    with pytest.raises(AccessDenied, match="vera is a viewer of this workspace and may not save here"):
        services.start_service(vera, "iris", by="vera")


def test_ids_of_another_workspace_are_not_found_even_for_its_owner_elsewhere(studio):
    """Olga owns the default workspace; acting in a workspace of her own, its ids are unknown there."""
    store = _store()
    elsewhere = members.create_workspace(store, user_id=studio.users["olga"], name="Olga's sandbox")
    olga = Actor.account(studio.users["olga"], "olga", elsewhere.id)
    assert runs.get_run(olga, studio.run) is None and datasets.get_dataset(olga, studio.dataset) is None
    assert runs.list_runs(olga) == [] and pipelines.list_pipelines(olga) == []
    assert registry.production_versions(olga) == []
    with pytest.raises(NotFound, match=f"run #{studio.run} was not found in this workspace"):
        models.run_artifact(olga, studio.run)
    with pytest.raises(NotFound, match="no pipeline named 'iris' in this workspace"):
        registry.production_model(olga, "iris")


def test_every_use_case_is_in_the_table():
    """A new public function that takes an actor must be added to CASES (or SLOW), so its check is tested."""
    modules = [alert_thresholds, alerts, audit, audit_log, champion, datasets, drafts, explanations, members,
               model_report, models, monitor_drift, monitor_report, monitor_traffic, monitor_violations, monitoring,
               pipelines, prediction_log, registry, retrain, runs, scoring, services, stage_source, tokens, training]
    listed = {name.split(" ")[0] for name in CASES} | CHECKED_APART
    missing = [f"{m.__name__.removeprefix('studio.')}.{name}" for m in modules
               for name, function in vars(m).items()
               if inspect.isfunction(function) and function.__module__ == m.__name__ and not name.startswith("_")
               and "actor" in inspect.signature(function).parameters]
    assert sorted(set(missing) - listed) == []


# ---- the audit log: every use case that changes something leaves an entry (issue 19 point 4) ----------------

READS = (Action.READ, Action.SCORE, Action.READ_AUDIT_LOG)
CHANGES = [case for case, (action, _call) in CASES.items()
           if (action not in READS or case.startswith(("tokens.create", "tokens.revoke")))
           and case not in ("datasets.import_query", "training.check_job_limit")]  # refused after the check; a check


def _entries(store: Store) -> list[storage.AuditEvent]:
    return storage.list_audit_events(store, workspace_id=storage.DEFAULT_WORKSPACE_ID, account_ids=None)


def test_the_table_of_use_cases_holds_every_kind_of_change():
    assert {"datasets.ingest_upload", "pipelines.delete_pipeline", "registry.set_stage (production)",
            "registry.rollback", "members.set_member", "members.remove_member", "tokens.create_token",
            "tokens.revoke_token", "training.submit_training"} <= set(CHANGES)


@pytest.mark.parametrize("case", CHANGES)
def test_every_use_case_that_changes_something_leaves_an_entry_naming_who_did_it(case, studio, runner):
    action, call = CASES[case]
    olga = Actor.account(studio.users["olga"], "olga", storage.DEFAULT_WORKSPACE_ID)
    before = {row.id for row in _entries(_store())}
    call(olga, studio, runner)
    new = [row for row in _entries(_store()) if row.id not in before]
    assert new, f"{case} changed something and left no audit entry"
    assert {(row.actor, row.user_id, row.workspace_id) for row in new} == {
        ("olga", studio.users["olga"], storage.DEFAULT_WORKSPACE_ID)}
    assert all(row.kind in {k.value for k in EventKind} and row.target for row in new)


def test_a_refused_change_leaves_no_entry(studio, runner):
    vera = Actor.account(studio.users["vera"], "vera", storage.DEFAULT_WORKSPACE_ID)
    before = len(_entries(_store()))
    for case in ("pipelines.delete_pipeline", "members.set_member", "datasets.load_sample_dataset"):
        with pytest.raises(AccessDenied):
            CASES[case][1](vera, studio, runner)
    assert len(_entries(_store())) == before
