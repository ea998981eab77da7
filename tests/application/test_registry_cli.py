"""``python -m studio``: batch scoring from a registry stage, the registry commands, and every core command.

Each command runs in a fresh interpreter on the test's studio (``PIPELINE_STUDIO_HOME`` from the environment),
as a user's shell would run it.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pandas as pd
import pytest

import storage
from pipeline_core.cli import SYNOPSIS
from studio import registry
from studio.roles import Actor
from tests.apptest import REPO

LOCAL = Actor.local()  # the one user of a studio without sign-in, owner of the default workspace

def cli(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], capture_output=True, text=True,
                          cwd=REPO, timeout=300)


def test_predict_from_the_production_stage_equals_predict_with_the_same_model_file(store, iris_studio, new_rows,
                                                                                    tmp_path):
    model_file = tmp_path / "v1.skops"
    model_file.write_bytes(storage.load_model_bytes(store, iris_studio[1]))
    from_stage = cli("studio", "predict", "--pipeline", "iris", "--stage", "production", new_rows,
                     "--out", tmp_path / "stage.csv")
    assert from_stage.returncode == 0, from_stage.stderr
    assert "version 1 of pipeline 'iris' (production)" in from_stage.stderr
    from_file = cli("pipeline_core", "predict", model_file, new_rows, "--out", tmp_path / "file.csv")
    assert from_file.returncode == 0, from_file.stderr
    assert (tmp_path / "stage.csv").read_bytes() == (tmp_path / "file.csv").read_bytes()
    assert len(pd.read_csv(tmp_path / "stage.csv")) == 40
    same_via_studio = cli("studio", "predict", model_file, new_rows, "--out", tmp_path / "studio_file.csv")
    assert same_via_studio.returncode == 0, same_via_studio.stderr  # a model file works as in the core
    assert (tmp_path / "studio_file.csv").read_bytes() == (tmp_path / "file.csv").read_bytes()


def test_the_default_stage_is_production_and_follows_promotion_and_rollback(store, iris_studio, new_rows, tmp_path):
    promoted = cli("studio", "models", "promote", "--pipeline", "iris", "--version", 2, "--stage",
                   "production", "--why", "retrained")
    assert promoted.returncode == 0, promoted.stderr
    assert promoted.stdout.splitlines() == ["version 1: production -> archived", "version 2: none -> production"]
    scored = cli("studio", "predict", "--pipeline", "iris", new_rows, "--out", tmp_path / "p.csv")
    assert "version 2 of pipeline 'iris' (production)" in scored.stderr
    listed = cli("studio", "models", "list", "--pipeline", "iris")
    assert listed.returncode == 0, listed.stderr
    stages = {int(line.split()[0]): line.split()[1] for line in listed.stdout.splitlines()[1:]}
    assert stages == {2: "production", 1: "archived"}
    assert re.search(r"Accuracy 0\.\d{4}", listed.stdout)

    back = cli("studio", "models", "rollback", "--pipeline", "iris", "--why", "errors")
    assert back.returncode == 0 and "version 1 of 'iris' is in production again" in back.stdout
    history = cli("studio", "models", "history", "--pipeline", "iris").stdout.splitlines()
    assert "rollback: errors" in history[1] and " cli " in history[1]
    assert registry.model_in_stage(LOCAL, "iris").version == 1


@pytest.mark.parametrize(("args", "reason"), [
    (["predict", "--pipeline", "nope", "{rows}", "--out", "{out}"], "There is no pipeline named 'nope'"),
    (["predict", "--pipeline", "iris", "--stage", "live", "{rows}", "--out", "{out}"], "Unknown stage 'live'"),
    (["predict", "--pipeline", "iris", "--stage", "staging", "{rows}", "--out", "{out}"],
     "Pipeline 'iris' has no model in staging"),
    (["predict", "{rows}", "--out", "{out}"], "name the model: a MODEL file, or --pipeline NAME"),
    (["models", "promote", "--pipeline", "iris", "--version", "7", "--stage", "staging", "--why", "x"],
     "Model version 7 is not registered"),
    (["models", "rollback", "--pipeline", "iris", "--why", "x"], "first version ever in production"),
])
def test_bad_requests_exit_non_zero_with_one_line(iris_studio, new_rows, tmp_path, args, reason):
    out = tmp_path / "never.csv"
    done = cli("studio", *(a.format(rows=new_rows, out=out) for a in args))
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and reason in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert not out.exists()


def test_every_core_command_is_there_with_its_own_options():
    core_commands = re.findall(r"^  (\w+)\s", SYNOPSIS, flags=re.MULTILINE)
    assert {"profile", "train", "run", "predict", "export", "serve"} <= set(core_commands)
    helped = cli("studio", "--help")
    assert helped.returncode == 0
    for command in core_commands:
        core_help = cli("pipeline_core", command, "--help").stdout
        studio_help = cli("studio", command, "--help").stdout
        assert core_help, command
        for option in set(re.findall(r"--[a-z][a-z-]+", core_help)):
            assert option in studio_help, (command, option)
    assert "models" in helped.stdout


def test_serve_a_stage_under_its_pipeline_and_version_scoring_as_its_model_file(store, iris_studio, new_rows,
                                                                                 tmp_path):
    from tests.serving.conftest import records
    from tests.serving.service import CliService

    model_file = tmp_path / "v1.skops"
    model_file.write_bytes(storage.load_model_bytes(store, iris_studio[1]))
    expected = cli("pipeline_core", "predict", model_file, new_rows, "--out", tmp_path / "file.csv")
    assert expected.returncode == 0, expected.stderr
    served = CliService(None, "--pipeline", "iris", "--stage", "production", module="studio")
    try:
        assert "serving 'iris' (classification, version 1)" in served.banner
        client = served.client()
        identity = client.get("/schema").json()["model"]
        assert identity["name"] == "iris" and identity["version"] == "1" and len(identity["sha256"]) == 64
        answer = client.post_json("/predict", {"rows": records(pd.read_csv(new_rows))}).json()
        assert answer["predictions"] == pd.read_csv(tmp_path / "file.csv")["prediction"].tolist()
        assert 'name="iris"' in client.get("/metrics").body.decode()
    finally:
        served.stop()


def test_serve_refuses_an_empty_stage_and_a_public_address_without_a_token_in_one_line(store, iris_studio):
    empty = cli("studio", "serve", "--pipeline", "iris", "--stage", "staging", "--port", "0")
    assert empty.returncode == 2 and "has no model in staging" in empty.stderr and empty.stderr.count("\n") == 1
    public = cli("studio", "serve", "--pipeline", "iris", "--host", "0.0.0.0")
    assert public.returncode == 2 and public.stderr.startswith("error: refusing to listen on 0.0.0.0 without a token")


def test_services_start_on_loopback_count_requests_live_and_stop(store, iris_studio, new_rows):
    from studio import services
    from tests.serving.conftest import records
    from tests.serving.service import Client

    started = services.start_service(LOCAL, "iris", by="tester")
    try:
        assert (started.pipeline, started.version, started.stage) == ("iris", 1, "production")
        assert started.url.startswith("http://127.0.0.1:") and started.requests == 0
        client = Client("127.0.0.1", int(started.url.rsplit(":", 1)[1]))
        body = {"rows": records(pd.read_csv(new_rows).head(5))}
        assert [client.post_json("/predict", body).status for _ in range(3)] == [200, 200, 200]
        assert client.post_json("/predict", {"rows": []}).status == 400
        listed = services.list_services(LOCAL)
        assert [(s.id, s.pipeline, s.requests) for s in listed] == [(started.id, "iris", 4)]
        registry.set_stage(LOCAL, "iris", 2, "production", by="tester", why="newer")
        assert client.post_json("/reload", {}).json() == {"version": "2", "reloaded": True}
        assert [s.version for s in services.list_services(LOCAL)] == [2]  # what it serves now, read from /metrics
    finally:
        services.stop_service(LOCAL, started.id)
    assert services.list_services(LOCAL) == []
    assert storage.get_service(store, started.id).stopped_at is not None


def test_a_service_for_an_empty_stage_is_refused_in_one_line(store, iris_studio):
    from studio import services

    with pytest.raises(storage.StorageError, match="has no model in staging: there is nothing to serve"):
        services.start_service(LOCAL, "iris", "staging", by="tester")
