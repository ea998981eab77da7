"""Who may call the service and where it may listen: bearer tokens, the loopback rule, the command's refusals."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pandas as pd
import pytest
from fastapi import FastAPI
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.pipeline import Pipeline

from pipeline_core.artifacts.skops_io import LoadedModel
from pipeline_core.serving import create_app
from pipeline_core.serving.hosts import service_hosts
from pipeline_core.serving.server import ServeError, check_address, is_loopback
from pipeline_core.transformers import FramePreparer
from tests.serving.conftest import TOKEN, records
from tests.serving.service import ENV, ROOT, CliService, ThreadService


@pytest.fixture(scope="module")
def guarded(churn_dir):
    running = CliService(churn_dir / "churn.skops", "--token-env", "SCORING_TEST_TOKEN",
                         env={"SCORING_TEST_TOKEN": TOKEN})
    yield running
    running.stop()


def test_with_a_token_every_endpoint_but_health_needs_it(guarded, churn_rows):
    anonymous, wrong, right = guarded.client(), guarded.client("not-the-token"), guarded.client(TOKEN)
    assert "a bearer token is required" in guarded.banner
    assert anonymous.get("/health").status == 200
    rows = {"rows": records(churn_rows.head(2))}
    for client, reason in ((anonymous, "needs a token"), (wrong, "not this service's token")):
        for reply in (client.get("/schema"), client.get("/metrics"), client.post_json("/predict", rows)):
            assert reply.status == 401 and reason in reply.json()["detail"]
            assert reply.headers["www-authenticate"] == "Bearer"
    malformed = anonymous.request("GET", "/schema", headers={"Authorization": f"Basic {TOKEN}"})
    assert malformed.status == 401 and "'Bearer <token>'" in malformed.json()["detail"]
    assert right.get("/schema").status == 200 and right.get("/metrics").status == 200
    assert len(right.post_json("/predict", rows).json()["predictions"]) == 2


def test_without_a_token_anyone_on_loopback_may_call(service):
    assert "no token" in service.banner
    assert service.client().get("/schema").status == 200


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost", "LOCALHOST"])
def test_loopback_addresses_need_no_token(host):
    assert is_loopback(host)
    check_address(host, None)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "10.0.0.1", "example.com", "localhost.evil"])
def test_other_addresses_are_refused_without_a_token(host):
    assert not is_loopback(host)
    with pytest.raises(ServeError, match=f"refusing to listen on {host.replace('.', '[.]')} without a token"):
        check_address(host, None)
    check_address(host, "a-token")


def serve_command(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline_core", "serve", *args], cwd=ROOT, env={**ENV, **(env or {})},
                          capture_output=True, text=True, timeout=600)


def test_the_command_refuses_to_listen_beyond_loopback_without_a_token(churn_dir):
    done = serve_command(str(churn_dir / "churn.skops"), "--host", "0.0.0.0", "--port", "0")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("error: refusing to listen on 0.0.0.0 without a token")
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


@pytest.mark.parametrize(("args", "env", "reason"), [
    (["--token-env", "SCORING_UNSET_VARIABLE"], {}, "SCORING_UNSET_VARIABLE, but that environment variable is not"),
    (["--token-env", "SCORING_EMPTY"], {"SCORING_EMPTY": "  "}, "SCORING_EMPTY, but that environment variable is"),
    (["--port", "70000"], {}, "expected a port from 0 to 65535"),
    (["--max-rows", "0"], {}, "expected a number of at least 1"),
])
def test_the_command_refuses_bad_options_in_one_line(churn_dir, args, env, reason):
    done = serve_command(str(churn_dir / "churn.skops"), *args, env=env)
    assert done.returncode == 2 and reason in done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_the_command_refuses_a_missing_or_untrusted_model_file(tmp_path):
    missing = serve_command(str(tmp_path / "nope.skops"))
    assert missing.returncode == 2 and "nope.skops" in missing.stderr and missing.stderr.count("\n") == 1
    fake = tmp_path / "fake.skops"
    fake.write_bytes(b"\x80\x04\x95 not a model, a pickle")
    refused = serve_command(str(fake))
    assert refused.returncode == 2 and "fake.skops" in refused.stderr and "Traceback" not in refused.stderr


def test_a_port_in_use_is_one_line(service, churn_dir):
    done = serve_command(str(churn_dir / "churn.skops"), "--port", str(service.port))
    assert done.returncode == 2 and f"cannot listen on 127.0.0.1 port {service.port}" in done.stderr
    assert done.stderr.count("\n") == 1


class _Crashing(ClassifierMixin, BaseEstimator):
    """A model whose predict fails in a way no check foresees: what the 500 path exists for."""

    def fit(self, X, y):
        self.classes_ = sorted(set(y))
        return self

    def predict(self, X):
        raise RuntimeError("secret internal detail")


def test_an_unforeseen_failure_is_a_counted_500_that_says_only_internal_error():
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]})
    pipeline = Pipeline([("prepare", FramePreparer(types={"x": "numeric"})), ("model", _Crashing())])
    pipeline.fit(frame, ["a", "b", "a", "b"])
    app: FastAPI = create_app(LoadedModel(pipeline, {}), token=None)
    served = ThreadService(app)
    try:
        client = served.client()
        reply = client.post_json("/predict", {"rows": [{"x": 1.5}]})
        assert reply.status == 500 and reply.json() == {"detail": "internal error"}
        assert b"secret" not in reply.body and b"Traceback" not in reply.body
        metrics = client.get("/metrics").body.decode()
        assert 'scoring_requests_total{endpoint="/predict",status="500"} 1.0' in metrics
        assert json.loads(client.get("/health").body)["status"] == "ok"  # the service lives on
    finally:
        served.stop()


def test_a_foreign_host_header_is_refused_and_the_bound_names_are_answered(service):
    """DNS rebinding: a page on evil.example re-resolved to 127.0.0.1 sends its own name as Host."""
    client = service.client()
    for host in ("evil.example", f"evil.example:{service.port}", "127.0.0.1.evil.example"):
        reply = client.request("GET", "/schema", headers={"Host": host})
        assert reply.status == 400, host
        assert "does not answer to the host" in reply.json()["detail"]
    for host in (f"127.0.0.1:{service.port}", f"localhost:{service.port}", "LOCALHOST"):
        assert client.request("GET", "/schema", headers={"Host": host}).status == 200, host
    metrics = client.get("/metrics").body.decode()
    assert 'scoring_requests_total{endpoint="/schema",status="400"} 3.0' in metrics


def test_a_service_on_every_interface_answers_this_machines_names_only():
    hosts = service_hosts("0.0.0.0")
    assert {"localhost", "127.0.0.1", "[::1]", socket.gethostname().lower()} <= set(hosts)
    assert "evil.example" not in hosts and "0.0.0.0" not in hosts
    assert set(service_hosts("192.168.1.10")) == {"localhost", "127.0.0.1", "[::1]", "192.168.1.10"}
    assert "[::1]" in service_hosts("::1")


def test_allow_host_adds_a_proxy_name_and_refuses_a_port_or_wildcard(churn_dir):
    proxied = CliService(churn_dir / "churn.skops", "--allow-host", "Scoring.Example.com")
    try:
        client = proxied.client()
        assert client.request("GET", "/schema", headers={"Host": "scoring.example.com"}).status == 200
        assert client.request("GET", "/schema", headers={"Host": "other.example.com"}).status == 400
    finally:
        proxied.stop()
    for bad in ("*", "scoring.example.com:8000", "*.example.com", "a b"):
        refused = subprocess.run([sys.executable, "-m", "pipeline_core", "serve", str(churn_dir / "churn.skops"),
                                  "--allow-host", bad], capture_output=True, text=True, env=ENV, cwd=ROOT)
        assert refused.returncode == 2 and "expected a host name" in refused.stderr, bad


def test_an_application_s_authorizer_is_asked_per_endpoint_before_the_body_is_read(churn_dir, churn_rows):
    """The seam API tokens plug into: each endpoint names what it needs; 401 and 403 reach the client as raised."""
    from pipeline_core.artifacts.export import load_model
    from pipeline_core.serving.auth import Forbidden, Permission, Unauthorized

    asked: list[tuple[str | None, Permission]] = []

    def authorizer(token: str | None, need: Permission) -> None:
        asked.append((token, need))
        if token is None:
            raise Unauthorized("no token here")
        if token == "reader" and need not in (Permission.READ, Permission.METRICS):
            raise Forbidden(f"a reader may not {need}")

    from pipeline_core.serving.requests import ServiceLimits

    served = ThreadService(create_app(load_model(churn_dir / "churn.skops"), token=None, authorizer=authorizer,
                                      limits=ServiceLimits(max_body_bytes=4000)))
    try:
        reader, nobody = served.client("reader"), served.client()
        assert nobody.get("/health").status == 200 and asked == []
        assert nobody.get("/schema").status == 401 and nobody.get("/schema").json()["detail"] == "no token here"
        assert reader.get("/schema").status == 200 and reader.get("/metrics").status == 200
        too_big = reader.request("POST", "/predict", "x" * 5000, {"Content-Type": "application/json"})
        assert too_big.status == 403 and too_big.json()["detail"] == "a reader may not score"  # not 413: auth first
        assert reader.post_json("/feedback", {"outcomes": []}).json()["detail"] == "a reader may not feedback"
        assert reader.request("POST", "/reload").status == 403
        assert [need for token, need in asked if token == "reader"] == [
            Permission.READ, Permission.METRICS, Permission.SCORE, Permission.FEEDBACK, Permission.RELOAD]
        scorer = served.client("scorer")
        assert len(scorer.post_json("/predict", {"rows": records(churn_rows.head(2))}).json()["predictions"]) == 2
    finally:
        served.stop()
