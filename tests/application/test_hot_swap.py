"""Hot swap on promotion (issue 17, "promotion switches what /predict returns with no failed request"): a service of
``--stage production`` follows the stage. Real ``python -m studio serve`` on loopback with the test's SQLite
studio; two registered models that answer differently (version 2 learned rotated labels); clients keep sending
``/predict`` while the test promotes version 2. Nothing is timed: the test waits on deadlines for what it needs.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pandas as pd
import pytest

import storage
from pipeline_core.artifacts.predict import PREDICTION, predict_frame
from pipeline_core.io.samples import load_sample
from studio import registry
from studio.models import load_stored_model
from studio.roles import Actor
from tests.apptest import store_frame
from tests.pages.test_compare_page import fast_spec, train_now
from tests.serving.conftest import records
from tests.serving.service import Client, CliService
from tests.serving.test_scoring import samples

LOCAL = Actor.local()  # the one user of a studio without sign-in, owner of the default workspace

DEADLINE = 180.0  # seconds, for a swap seen in /health or enough answers, on a loaded 2-core machine
ROTATE = {"setosa": "versicolor", "versicolor": "virginica", "virginica": "setosa"}
CLIENTS = 4
AFTER_SWAP = 5  # requests each client sends once /health names the new version


@pytest.fixture
def flip_studio(store) -> dict[int, list]:
    """Pipeline 'flip': version 1 (production) learned iris, version 2 the same rows with rotated labels; the
    predictions each makes for :func:`rows` (which differ on every row)."""
    iris = load_sample("iris")
    spec = fast_spec(seed=0).model_copy(update={"name": "flip"})
    definition = storage.save_pipeline_version(store, name="flip", definition=spec.to_dict())
    for frame in (iris, iris.assign(target=iris["target"].map(ROTATE))):
        run = train_now(store, store_frame(store, frame, f"iris {len(storage.list_datasets(store))}"), spec,
                        pipeline_version_id=definition.id)
        registry.register_model(LOCAL, run.id, by="test")
    registry.set_stage(LOCAL, "flip", 1, "production", by="test", why="first")
    expected = {}
    for version in registry.list_model_versions(LOCAL, "flip"):
        model = load_stored_model(LOCAL, version.artifact_id)
        expected[version.version] = predict_frame(model.pipeline, rows(), model.metadata).frame[PREDICTION].tolist()
    assert all(a != b for a, b in zip(expected[1], expected[2], strict=True))
    return expected


def rows() -> pd.DataFrame:
    """Twelve iris rows, four of each class, that both versions label confidently (and so differently)."""
    iris = load_sample("iris")
    return pd.concat([iris[iris["target"] == c].iloc[5:9] for c in ROTATE]).drop(columns="target")


@dataclass
class Answer:
    client: int
    sent_at: float  # monotonic, when the request was sent
    status: int
    predictions: list | None
    request_id: str | None


def health_version(client: Client) -> str | None:
    return client.get("/health").json().get("version")


def wait_for(predicate, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not predicate():
        assert time.monotonic() < deadline, f"{what} did not happen within {DEADLINE:.0f} s"
        time.sleep(0.05)


def test_promotion_swaps_the_served_model_with_no_failed_request(store, flip_studio):
    served = CliService(None, "--pipeline", "flip", "--stage", "production", "--reload-seconds", "0.2",
                        module="studio")
    body = {"rows": records(rows())}
    answers: list[Answer] = []
    errors: list[BaseException] = []
    stop, lock = threading.Event(), threading.Lock()

    def send(index: int) -> None:
        client = served.client()
        try:
            while not stop.is_set():
                sent = time.monotonic()
                reply = client.post_json("/predict", body)
                document = reply.json() if reply.status == 200 else None
                with lock:
                    answers.append(Answer(index, sent, reply.status, document and document["predictions"],
                                          document and document["request_id"]))
        except BaseException as e:  # noqa: BLE001 - a dropped connection is a failed request too
            errors.append(e)
        finally:
            client.close()

    threads = [threading.Thread(target=send, args=(i,), daemon=True) for i in range(CLIENTS)]
    try:
        watcher = served.client()
        assert health_version(watcher) == "1"
        for thread in threads:
            thread.start()
        wait_for(lambda: len(answers) >= 2 * CLIENTS, "answers from version 1")
        registry.set_stage(LOCAL, "flip", 2, "production", by="test", why="hot swap")
        wait_for(lambda: health_version(watcher) == "2", "/health naming version 2")
        switched = time.monotonic()

        def each_client_asked_after_the_switch() -> bool:
            with lock:
                return all(sum(a.client == i and a.sent_at > switched for a in answers) >= AFTER_SWAP
                           for i in range(CLIENTS))

        wait_for(each_client_asked_after_the_switch, f"{AFTER_SWAP} answers per client after the switch")
        stop.set()
        for thread in threads:
            thread.join(DEADLINE)
        metrics = samples(watcher.get("/metrics").body.decode())
    finally:
        stop.set()
        status = served.stop()

    assert status == 143  # SIGTERM: a clean stop, which wrote what the logs held
    assert not errors, errors
    assert [a for a in answers if a.status != 200] == []  # zero failed requests
    by_version = {tuple(p): v for v, p in flip_studio.items()}
    versions = [by_version.get(tuple(a.predictions)) for a in answers]
    assert None not in versions  # every answer is wholly one model's, never a mix
    assert versions.count(1) >= 2 * CLIENTS and versions.count(2) >= CLIENTS * AFTER_SWAP
    for client in range(CLIENTS):  # one-way: once a client got version 2, it never gets version 1 again
        mine = [v for a, v in zip(answers, versions, strict=True) if a.client == client]
        assert mine == sorted(mine)
    assert all(v == 2 for a, v in zip(answers, versions, strict=True) if a.sent_at > switched)
    info = next(labels for (name, labels) in metrics if name == "scoring_model_info")
    assert dict(info)["version"] == "2"
    assert metrics[("scoring_model_reloads_total", ())] == 1
    assert metrics[("scoring_model_reload_failures_total", ())] == 0

    # each request's rows are logged under the version that answered it: the replaced model's log was written
    # when its last request ended, the new one's when the service stopped
    log = {(r.request_id, r.model_version) for r in storage.list_predictions(store, limit=100_000)}
    assert storage.count_predictions(store) == len(answers) * len(rows())
    assert log == {(a.request_id, v) for a, v in zip(answers, versions, strict=True)}


def test_post_reload_swaps_at_once_and_needs_the_token(store, flip_studio):
    served = CliService(None, "--pipeline", "flip", "--reload-seconds", "0", "--token-env", "FLIP_TOKEN",
                        module="studio", env={"FLIP_TOKEN": "s3cret"})
    try:
        client = served.client("s3cret")
        assert client.post_json("/reload", {}).json() == {"version": "1", "reloaded": False}
        registry.set_stage(LOCAL, "flip", 2, "production", by="test", why="hot swap")
        assert served.client().request("POST", "/reload").status == 401  # no token: refused, nothing swapped
        assert health_version(client) == "1"
        assert client.post_json("/reload", {}).json() == {"version": "2", "reloaded": True}
        assert client.get("/health").json() == {"status": "ok", "name": "flip", "version": "2"}
        assert client.post_json("/predict", {"rows": records(rows())}).json()["predictions"] == flip_studio[2]
        registry.rollback(LOCAL, "flip", by="test", why="back")
        assert client.post_json("/reload", {}).json() == {"version": "1", "reloaded": True}
        assert client.post_json("/predict", {"rows": records(rows())}).json()["predictions"] == flip_studio[1]
    finally:
        served.stop()


def test_a_shadow_challenger_promoted_and_swapped_in_is_no_longer_scored_twice(store, flip_studio):
    registry.set_stage(LOCAL, "flip", 2, "staging", by="test", why="candidate")
    served = CliService(None, "--pipeline", "flip", "--shadow", "staging", "--reload-seconds", "0", module="studio")
    body = {"rows": records(rows())}
    try:
        client = served.client()
        before = client.post_json("/predict", body).json()
        registry.set_stage(LOCAL, "flip", 2, "production", by="test", why="wins in shadow")
        assert client.post_json("/reload", {}).json() == {"version": "2", "reloaded": True}
        after = client.post_json("/predict", body).json()
    finally:
        assert served.stop() == 143
    assert (before["predictions"], after["predictions"]) == (flip_studio[1], flip_studio[2])
    logged = {(r.request_id, r.source, r.model_version) for r in storage.list_predictions(store)}
    assert logged == {(before["request_id"], "service", 1), (before["request_id"], "shadow", 2),
                      (after["request_id"], "service", 2)}
