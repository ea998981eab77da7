"""Issue 17 point 5: a challenger scored in shadow by a real registry service, compared with the champion.

``python -m studio serve --pipeline iris --shadow staging`` runs in a subprocess on loopback with the test's SQLite
studio: clients get version 1's answers, version 2's answers to the same rows are logged under its own version,
and once outcomes arrive the paired verdict counts every row both scored.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

import storage
from pipeline_core.io.samples import load_sample
from studio import champion, registry
from studio.errors import StudioError
from studio.roles import Actor
from tests.application.test_prediction_log import logged
from tests.application.test_registry_cli import cli
from tests.serving.conftest import records
from tests.serving.service import CliService
from tests.serving.test_scoring import samples

LOCAL = Actor.local()  # the one user of a studio without sign-in, owner of the default workspace

def test_the_shadow_challenger_scores_every_request_and_is_compared_row_by_row(store, iris_studio, new_rows):
    registry.set_stage(LOCAL, "iris", 2, "staging", by="cli", why="candidate")
    rows = pd.read_csv(new_rows)
    truth = load_sample("iris").sample(40, random_state=3)["target"].tolist()
    started = datetime.now(UTC) - timedelta(minutes=1)
    served = CliService(None, "--pipeline", "iris", "--shadow", "staging", module="studio")
    try:
        client = served.client()
        answers = [client.post_json("/predict", {"rows": records(rows.iloc[a:b])}).json() for a, b in ((0, 15),
                                                                                                       (15, 40))]
        logged(store, 80)
        log = storage.list_predictions(store)
        served_rows = [(r.request_id, r.row_id, r.prediction) for r in log if r.model_version == 1]
        shadow_rows = [(r.request_id, r.row_id) for r in log if r.model_version == 2]
        assert served_rows == [(a["request_id"], i, p) for a in answers for i, p in enumerate(a["predictions"])]
        assert sorted(shadow_rows) == sorted((rid, i) for rid, i, _ in served_rows)
        assert {r.source for r in log if r.model_version == 2} == {"shadow"}
        outcomes = [{"request_id": a["request_id"], "row_id": i, "outcome": truth[offset + i]}
                    for a, offset in ((answers[0], 0), (answers[1], 15)) for i in range(len(a["predictions"]))]
        assert client.post_json("/feedback", {"outcomes": outcomes}).json()["matched"] == 40
        metrics = samples(client.get("/metrics").body.decode())
        assert metrics[("scoring_shadow_scored_requests_total", ())] == 2
        assert metrics[("scoring_shadow_failed_requests_total", ())] == 0
        assert "shadow: version 2 (staging) scores every request too" in served.log.read_text()
    finally:
        served.stop()
    verdict = champion.challenger_verdict(LOCAL, "iris", 2, since=started,
                                          until=datetime.now(UTC) + timedelta(minutes=1))
    assert verdict.rows == 40 and verdict.task == "classification" and verdict.p_value is not None
    expected = sum(p == t for (_, _, p), t in zip(served_rows, truth, strict=True)) / 40
    assert verdict.champion_score == pytest.approx(expected)
    assert verdict.sentence()


def test_a_shadow_stage_holding_the_served_version_is_refused_in_one_line(store, iris_studio):
    done = cli("studio", "serve", "--pipeline", "iris", "--shadow", "production", "--port", "0")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "error: the production stage holds version 1, the version being served; put the challenger in another "
        "stage (e.g. staging) to score it in shadow")


def test_the_verdict_needs_a_champion_and_a_registered_challenger(store, iris_studio):
    now = datetime.now(UTC)
    with pytest.raises(StudioError, match="version 7 is not registered"):
        champion.challenger_verdict(LOCAL, "iris", 7, since=now - timedelta(days=1), until=now)
    with pytest.raises(StudioError, match="is the champion itself"):
        champion.challenger_verdict(LOCAL, "iris", 1, since=now - timedelta(days=1), until=now)
    empty = champion.challenger_verdict(LOCAL, "iris", 2, since=now - timedelta(days=1), until=now)
    assert empty.rows == 0 and "Not enough evidence yet: 0 labelled row(s)" in empty.sentence()
