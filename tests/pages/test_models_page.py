"""Models page: register a run's model, promote with a reason, roll back with confirmation, read the history;
Train's "Register this model"; Predict defaulting to the production model."""

from __future__ import annotations

import storage
from studio import registry
from studio.roles import Actor
from tests.apptest import texts
from tests.pages.test_compare_page import by_key, fast_spec, train_now
from tests.pages.test_pipelines_page import open_tab

LOCAL = Actor.local()  # the one user of a studio without sign-in, owner of the default workspace

HOSTILE = "=cmd|' /C calc'!A0"


def saved_run(store, dataset_id: int, name: str = "iris", **evaluation) -> storage.Run:
    spec = fast_spec(**evaluation).model_copy(update={"name": name})
    version = storage.save_pipeline_version(store, name=name, definition=spec.to_dict())
    return train_now(store, dataset_id, spec, pipeline_version_id=version.id)


def open_models(app, **state):
    return app("pages/models.py", **state)


def table(at, key: str):
    return by_key(at.container, key).dataframe[0].value


def test_without_pipelines_the_page_says_how_to_start(app):
    at = open_models(app)
    assert not at.exception
    assert "No saved pipelines yet" in texts(at, "info")
    assert "No finished run with a saved model yet" in texts(at, "caption")


def test_registering_an_unsaved_run_names_its_pipeline_and_lists_the_version(store, app, iris_id):
    run = train_now(store, iris_id, fast_spec())
    at = open_models(app, dataset_id=iris_id)
    assert at.selectbox(key="registry_run").value == run.id
    at.text_input(key="registry_register_pipeline").set_value("iris flowers")
    at.text_input(key="registry_register_note").set_value("first try")
    at.button(key="registry_register_submit").click().run()
    assert not at.exception and not at.error
    assert "Registered run #" in texts(at, "success") and "version 1 of 'iris flowers'" in texts(at, "success")
    versions = table(at, "registry_versions")
    row = versions.iloc[0]
    assert (row["Version"], row["Stage"], row["Definition"], row["Run"], row["Note"]) == (
        1, "none", "v1", f"#{run.id}", "first try")
    assert row["Main metric"].startswith("Accuracy 0.") and row["By"].startswith("tab ")
    assert len(row["Data sha256"]) == 12
    assert "has no model in production yet" in " ".join(m.value for m in at.markdown)
    assert list(table(at, "registry_history")["To"]) == ["none"]


def test_promoting_needs_a_reason_and_archives_the_old_production(store, app, iris_id):
    for c in (1.0, 2.0):
        registry.register_model(LOCAL, saved_run(store, iris_id, seed=int(c)).id, by="cli")
    registry.set_stage(LOCAL, "iris", 1, "production", by="cli", why="baseline")
    at = open_models(app, dataset_id=iris_id)
    at.selectbox(key="registry_version").set_value(2)
    at.selectbox(key="registry_stage").set_value("production")
    at.button(key="registry_change").click().run()
    assert "Say why the stage changes" in texts(at, "error")
    at.text_input(key="registry_why").set_value("better hold-out")
    at.button(key="registry_change").click().run()
    assert not at.exception and not at.error
    assert "version 1: production → archived; version 2: none → production" in texts(at, "success")
    assert at.text_input(key="registry_why").value == ""
    assert dict(zip(table(at, "registry_versions")["Version"], table(at, "registry_versions")["Stage"],
                    strict=True)) == {2: "production", 1: "archived"}
    history = table(at, "registry_history")
    assert list(history["Why"][:2]) == ["better hold-out", "replaced by version 2: better hold-out"]
    assert "In production: **version 2**" in " ".join(m.value for m in at.markdown)


def test_rollback_asks_for_confirmation_then_puts_the_previous_version_back(store, app, iris_id):
    for seed in (1, 2):
        registry.register_model(LOCAL, saved_run(store, iris_id, seed=seed).id, by="cli")
    registry.set_stage(LOCAL, "iris", 1, "production", by="cli", why="baseline")
    registry.set_stage(LOCAL, "iris", 2, "production", by="cli", why="newer")
    at = open_models(app, dataset_id=iris_id)
    rollback = by_key(at.container, "registry_rollback")
    assert "Put **version 1**" in " ".join(m.value for m in rollback.markdown)
    assert at.button(key="registry_rollback_button").disabled
    at.text_input(key="registry_rollback_why").set_value("errors after release")
    at.checkbox(key="registry_rollback_confirm").check().run()
    at.button(key="registry_rollback_button").click().run()
    assert not at.exception and not at.error
    assert "version 1 is in production again" in texts(at, "success")
    assert at.text_input(key="registry_rollback_why").value == ""  # the next rollback asks again
    assert not at.checkbox(key="registry_rollback_confirm").value
    history = table(at, "registry_history")
    assert history.iloc[0]["Why"] == "rollback: errors after release" and bool(history.iloc[0]["Rollback"])
    assert registry.model_in_stage(LOCAL, "iris").version == 1


def test_the_train_page_registers_the_finished_run_it_shows(store, app, iris_id):
    run = saved_run(store, iris_id)
    at = app("pages/train.py", dataset_id=iris_id, run_id=run.id, spec=fast_spec().to_dict())
    assert "Registers under its pipeline **iris**" in " ".join(m.value for m in at.markdown)
    at.text_input(key="train_register_note").set_value("from train")
    at.button(key="train_register_submit").click().run()
    assert not at.exception and not at.error
    assert "as version 1 of 'iris'" in texts(at, "success")
    assert f"Run #{run.id}'s model is registered: version 1 of **iris** (none)" in texts(at, "caption")


def test_predict_defaults_to_the_production_model_and_keeps_any_model_on_offer(store, app, iris_id):
    production = saved_run(store, iris_id)
    registry.register_model(LOCAL, production.id, by="cli")
    registry.set_stage(LOCAL, "iris", 1, "production", by="cli", why="go")
    newer = train_now(store, iris_id, fast_spec())
    at = app("pages/predict.py", dataset_id=iris_id)
    assert not at.exception
    choice = at.selectbox(key="predict_model")
    assert choice.value == storage.list_model_artifacts(store, run_id=production.id)[0].id
    labels = choice.options
    assert labels[0].startswith("Production · ") and labels[0].endswith(" · iris v1")
    assert f"run #{production.id}" in labels[0]
    assert "The production model of iris v1 in the model registry" in texts(at, "caption")
    assert any(f"run #{newer.id}" in label and "Production" not in label for label in labels[1:])
    choice.set_value(storage.list_model_artifacts(store, run_id=newer.id)[0].id).run()
    at.run()
    assert at.selectbox(key="predict_model").value == storage.list_model_artifacts(store, run_id=newer.id)[0].id


def test_hostile_names_and_notes_are_neutralised_in_the_registry_tables(store, app, iris_id):
    run = saved_run(store, iris_id, name=HOSTILE)
    registry.register_model(LOCAL, run.id, by=HOSTILE, note="@SUM(A1)")
    registry.set_stage(LOCAL, HOSTILE, 1, "staging", by="cli", why="+1+1")
    at = open_models(app, dataset_id=iris_id)
    assert not at.exception
    versions, history = table(at, "registry_versions"), table(at, "registry_history")
    assert versions.iloc[0]["Note"] == "'@SUM(A1)" and versions.iloc[0]["By"] == "'" + HOSTILE
    assert history.iloc[0]["Why"] == "'+1+1"


def test_deleting_a_pipeline_warns_that_its_registry_and_production_model_go_too(store, app, iris_id):
    registry.register_model(LOCAL, saved_run(store, iris_id).id, by="cli")
    registry.set_stage(LOCAL, "iris", 1, "production", by="cli", why="go")
    at = open_tab(app, "Delete", dataset_id=iris_id)
    assert not at.exception
    warning = texts(at, "warning")
    assert "1 registered model version(s)" in warning and "One of them is in production" in warning
    at.checkbox(key="pipelines_delete_confirm").check().run()
    at.button(key="pipelines_delete").click().run()
    assert "Deleted pipeline 'iris'" in texts(at, "success")
    assert registry.production_versions(LOCAL) == []


def test_a_service_starts_from_the_page_shows_its_url_and_live_requests_and_stops(store, app, iris_id):
    from studio import services
    from tests.serving.service import Client

    registry.register_model(LOCAL, saved_run(store, iris_id).id, by="cli")
    registry.set_stage(LOCAL, "iris", 1, "production", by="cli", why="baseline")
    at = open_models(app, dataset_id=iris_id)
    assert "No service is running." in texts(at, "caption")
    try:
        at.button(key="service_start_submit").click().run(timeout=180)
        assert not at.exception and not at.error
        assert "Serving version 1 of iris on http://127.0.0.1:" in texts(at, "success")
        row = table(at, "registry_services").iloc[0]
        assert (row["Pipeline"], row["Version"], row["Stage"], row["Requests"]) == ("iris", 1, "production", "0")
        client = Client("127.0.0.1", int(row["URL"].rsplit(":", 1)[1]))
        assert client.get("/health").status == 200
        assert client.post_json("/predict", client.get("/schema").json()["example"]).status == 200
        at.run(timeout=60)
        assert table(at, "registry_services").iloc[0]["Requests"] == "1"
        at.button(key=f"service_stop_{row['Service']}").click().run(timeout=60)
        assert "Stopped service" in texts(at, "success") and "No service is running." in texts(at, "caption")
    finally:
        for running in services.list_services(LOCAL):
            services.stop_service(LOCAL, running.id)
