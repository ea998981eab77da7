"""The scoring service's FastAPI app: one loaded model, five endpoints, no database.

``create_app`` does everything that does not depend on the request once (schema, parser, rules, metrics),
so a request only parses, scores and answers. ``POST /predict`` is a plain ``def``: FastAPI runs it in its
thread pool, so a slow batch never blocks the event loop that accepts other requests and serves ``/health``.

Every refusal is ``{"detail": "<one line>"}`` with a 4xx status, FastAPI's own validation errors included;
anything unforeseen is a 500 whose body says only ``internal error`` (the traceback goes to the server log).
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import pandas as pd
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from threadpoolctl import ThreadpoolController

from pipeline_core.artifacts.skops_io import LoadedModel
from pipeline_core.errors import DataError
from pipeline_core.serving.alerts import AlertWatcher
from pipeline_core.serving.auth import Authorizer, Permission, StaticToken, bearer_token
from pipeline_core.serving.explaining import ExplainResponse
from pipeline_core.serving.feedback import FeedbackBody, FeedbackSink, GroundTruthReport, Outcome, outcomes_from_frame
from pipeline_core.serving.hosts import TrustedHosts
from pipeline_core.serving.metrics import CONTENT_TYPE, ServiceMetrics
from pipeline_core.serving.prediction_log import PredictionLogWriter, ScoredRequest
from pipeline_core.serving.reload import ModelSource, Reloader
from pipeline_core.serving.requests import CSV_TYPE, JSON_TYPE, RequestError, RowParser, ServiceLimits
from pipeline_core.serving.schema import InputSchema, ModelIdentity, model_identity
from pipeline_core.serving.scoring import RowViolation, ScoredBatch, score
from pipeline_core.serving.served import ModelSlot, build_served
from pipeline_core.serving.shadow import ShadowScorer

log = logging.getLogger("pipeline_core.serving")

ENDPOINTS = ("/health", "/schema", "/predict", "/explain", "/feedback", "/metrics", "/reload")
OnScored = Callable[[ScoredBatch], None]
REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
FEEDBACK_FLUSH_SECONDS = 10.0  # how long /feedback waits for just-scored rows to reach the log before joining


class PredictResponse(BaseModel):
    """``probabilities`` (one ``{class: p}`` per row) is present for classifiers only. ``request_id`` (also the
    ``X-Request-ID`` header: the client's own when it sent a valid one) names the request in the prediction log;
    with a row's position it is how ``POST /feedback`` sends that row's true outcome later."""

    request_id: str
    predictions: list[Any]
    probabilities: list[dict[str, float]] | None = None
    notices: list[str]
    violations: list[RowViolation]


class Health(BaseModel):
    """Liveness, and which model answers now (``version`` changes when the service swaps to another one)."""

    status: Literal["ok"] = "ok"
    name: str
    version: str | None = None


class Reloaded(BaseModel):
    """``POST /reload``: the version served after the check, whether it changed, and why not if it failed."""

    version: str | None
    reloaded: bool
    error: str | None = None


class ErrorDetail(BaseModel):
    detail: str


def create_app(model: LoadedModel, *, token: str | None, limits: ServiceLimits | None = None,
               on_scored: OnScored | None = None, identity: ModelIdentity | None = None,
               prediction_log: PredictionLogWriter | None = None, feedback: FeedbackSink | None = None,
               background: pd.DataFrame | None = None, shadow: ShadowScorer | None = None,
               allowed_hosts: Sequence[str] | None = None, alerts: AlertWatcher | None = None,
               source: ModelSource | None = None, authorizer: Authorizer | None = None) -> FastAPI:
    """A FastAPI app serving ``model``.

    ``token``: when set, every endpoint but ``/health`` needs ``Authorization: Bearer <token>``.
    ``authorizer``: instead of ``token``, an application's check of each request's bearer token against what the
    endpoint needs (:mod:`pipeline_core.serving.auth`), e.g. API tokens kept hashed in a database.
    ``on_scored`` is called (in the worker thread) with each scored batch, e.g. to keep rows for drift
    monitoring; if it fails, the client still gets its predictions and ``scoring_hook_errors_total`` counts it.
    ``identity`` names the model in ``/schema`` and ``/metrics`` (default: from its metadata).
    ``prediction_log``: every scored request is queued on it (never waited for; a full queue drops and counts,
    see ``/metrics``); the caller owns it and closes it when the service stops. ``feedback`` stores true
    outcomes sent to ``POST /feedback`` and reports how they joined the log; without it that endpoint answers 404.
    ``background``: rows like the training data, which ``/explain`` needs for models other than trees.
    ``shadow``: a challenger that scores every answered request off the request path, into its own log (its
    answers are never returned); the caller owns it and closes it when the service stops.
    ``allowed_hosts``: the ``Host`` names answered (``pipeline_core.serving.hosts.service_hosts``); any other
    gets 400 with a reason. ``None`` checks nothing, for an application that mounts the app behind its own names.
    ``alerts``: a watcher evaluating alert thresholds in its own thread; ``/metrics`` shows its last evaluation as
    ``scoring_alert{pipeline,kind,feature}`` (the caller owns it and closes it when the service stops).
    ``source``: where a newer model comes from (a registry stage): ``POST /reload`` checks it and swaps to its
    version without failing a request (:mod:`pipeline_core.serving.reload`); the caller may also start
    ``app.state.reloader`` to poll it. From then on the service owns ``prediction_log`` (the first model's log) and
    closes it (and each later model's) with :meth:`ModelSlot.close` (``app.state.slot``).
    """
    limits = limits or ServiceLimits()
    slot = ModelSlot(build_served(model, identity or model_identity(model), limits, prediction_log=prediction_log,
                                  background=background))
    identity = slot.current.identity
    metrics = ServiceMetrics(identity, classifies=slot.current.classifies)
    if prediction_log is not None or source is not None:
        metrics.watch_log(slot.log_stats)
    if shadow is not None:
        metrics.watch_shadow(shadow.stats)
    if alerts is not None:
        metrics.watch_alerts(alerts.current, identity.name)
    reloader = None if source is None else Reloader(
        slot, source, lambda new: build_served(new.model, new.identity, limits, prediction_log=new.prediction_log,
                                               background=background),
        on_swap=lambda new: (metrics.set_model(new), metrics.reloads.inc()), on_failure=metrics.reload_failures.inc)
    check = authorizer if authorizer is not None else StaticToken(token) if token else None
    one_core = _OneOpenMPThread()
    refusals: dict[int | str, dict[str, Any]] = {s: {"model": ErrorDetail} for s in (400, 401, 403, 413, 415, 422)}

    def needs(permission: Permission) -> Any:
        """A dependency asking the authorizer; a route's own dependencies run before its body is read."""

        def authorized(request: Request) -> None:  # a plain def: FastAPI runs it in its thread pool
            if check is not None:
                check(bearer_token(request.headers.get("authorization")), permission)

        return Depends(authorized)

    async def read_body(request: Request) -> tuple[str, bytes]:
        """The body, after the content type and the size limit (declared and actual) are checked."""
        media = slot.current.parser.media_type(request.headers.get("content-type"))
        declared = request.headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                raise RequestError(400, f"Content-Length {declared[:20]!r} is not a number of bytes")
            if int(declared) > limits.max_body_bytes:
                raise RequestError(413, _too_large(int(declared), limits))
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limits.max_body_bytes:
                raise RequestError(413, _too_large(size, limits, at_least=True))
            chunks.append(chunk)
        return media, b"".join(chunks)

    app = FastAPI(title=f"Pipeline Studio scoring service: {identity.name}", version=identity.version or "0",
                  docs_url=None, redoc_url=None)  # the docs pages load scripts from a CDN; /openapi.json stays
    if allowed_hosts is not None:  # inside _Observe: a refused host is counted in /metrics like any refusal
        app.add_middleware(TrustedHosts, allowed=allowed_hosts)
    app.add_middleware(_Observe, metrics=metrics)
    _add_error_handlers(app)

    @app.get("/health", response_model=Health)
    def health() -> Health:
        """Liveness and the model version answering, without authentication so load balancers and supervisors can
        probe it (and a deployment can wait for a promoted version to appear)."""
        served = slot.current.identity
        return Health(name=served.name, version=served.version)

    @app.get("/schema", response_model=InputSchema, dependencies=[needs(Permission.READ)], responses=refusals)
    def input_schema() -> InputSchema:
        return slot.current.schema

    @app.post("/predict", response_model=PredictResponse, responses=refusals, openapi_extra=_PREDICT_BODY,
              dependencies=[needs(Permission.SCORE)])
    def predict(request: Request, payload: tuple[str, bytes] = Depends(read_body)) -> Response:
        media, body = payload  # closures: no Annotated strings
        request_id = _request_id(request)
        one_core.apply()
        with slot.use() as served:  # this request finishes on this model, even if another is swapped in meanwhile
            start = time.perf_counter()
            try:
                batch = score(served.model, served.parser.parse(body, media), served.rules)
            except DataError as e:
                raise RequestError(422, str(e)) from None
            # a challenger promoted and swapped in is served now: scoring it again in shadow would log it twice
            shadowing = shadow if shadow is not None and shadow.version != served.identity.version else None
            if served.prediction_log is not None or shadowing is not None:
                scored = ScoredRequest(at=datetime.now(UTC), request_id=request_id, rows=batch.rows,
                                       predictions=batch.predictions, latency_ms=(time.perf_counter() - start) * 1000,
                                       violations=batch.violations)
                for sink in (served.prediction_log, shadowing):
                    if sink is not None:
                        sink.submit(scored)
        metrics.observe_batch(batch)
        if on_scored is not None:
            try:
                on_scored(batch)
            except Exception:  # noqa: BLE001 - monitoring must not cost the client its predictions
                metrics.hook_errors.inc()
                log.exception("the on_scored hook failed")
        answer = PredictResponse(request_id=request_id, predictions=batch.predictions,
                                 probabilities=batch.probabilities, notices=batch.notices, violations=batch.violations)
        return Response(answer.model_dump_json(exclude_none=True), media_type=JSON_TYPE,
                        headers={REQUEST_ID_HEADER: request_id})

    @app.post("/feedback", response_model=GroundTruthReport, responses=refusals, openapi_extra=_FEEDBACK_BODY,
              dependencies=[needs(Permission.FEEDBACK)])
    def ground_truth(payload: tuple[str, bytes] = Depends(read_body)) -> GroundTruthReport:
        """True outcomes of scored rows, by request id and row id; the answer counts those matching no logged row."""
        if feedback is None:
            raise RequestError(404, "this service keeps no prediction log, so it takes no ground truth; serve a "
                                    "registered model with 'python -m studio serve --pipeline NAME'")
        outcomes = _outcomes(slot.current.parser, *payload)
        slot.flush(FEEDBACK_FLUSH_SECONDS)  # an outcome for a row scored a moment ago finds both answers
        if shadow is not None:
            shadow.flush(FEEDBACK_FLUSH_SECONDS)
        return feedback(outcomes)

    @app.post("/explain", response_model=ExplainResponse, responses={**refusals, 409: {"model": ErrorDetail}},
              openapi_extra=_PREDICT_BODY, dependencies=[needs(Permission.SCORE)])
    def explain(payload: tuple[str, bytes] = Depends(read_body)) -> Response:
        """Each row's prediction and its contributions per column (SHAP values; see ``ExplainResponse``)."""
        media, body = payload
        one_core.apply()
        with slot.use() as served:
            answer = served.explainer.explain(served.parser.parse(body, media))
        return Response(answer.model_dump_json(exclude_none=True), media_type=JSON_TYPE)

    @app.get("/metrics", dependencies=[needs(Permission.METRICS)], response_class=Response, responses=refusals)
    def prometheus_metrics() -> Response:
        """Prometheus text format, from this app's own registry."""
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    @app.post("/reload", response_model=Reloaded, response_model_exclude_none=True,
              dependencies=[needs(Permission.RELOAD)], responses={**refusals, 404: {"model": ErrorDetail}})
    def reload() -> Reloaded:
        """Check now whether the model to serve changed (a promotion) and swap to it; answers the version served."""
        if reloader is None:
            raise RequestError(404, "this service serves one model file and has nothing to reload; serve a registry "
                                    "stage ('python -m studio serve --pipeline NAME') to follow its promotions")
        result = reloader.check()
        return Reloaded(version=result.version, reloaded=result.reloaded, error=result.error)

    app.state.metrics = metrics
    app.state.slot = slot
    app.state.reloader = reloader
    return app


def _request_id(request: Request) -> str:
    """The client's ``X-Request-ID`` when it sent a usable one, else a new random id."""
    given = request.headers.get(REQUEST_ID_HEADER)
    if given is None:
        return uuid.uuid4().hex
    if not _REQUEST_ID.fullmatch(given):
        raise RequestError(400, f"the {REQUEST_ID_HEADER} header must be 1 to 128 letters, digits or . _ : -")
    return given


def _outcomes(parser: RowParser, media: str, body: bytes) -> list[Outcome]:
    """The outcomes of a ``/feedback`` body: JSON ``{"outcomes": [...]}`` or CSV (request_id,row_id,outcome)."""
    if not body.strip():
        raise RequestError(400, 'the request body is empty; send {"outcomes": [{"request_id": ..., "row_id": 0, '
                                '"outcome": ...}]} or CSV')
    if media == CSV_TYPE:
        frame = parser.parse_csv(body)
        try:
            return outcomes_from_frame(frame, what="the CSV body")
        except DataError as e:
            raise RequestError(422, str(e)) from None
    try:
        document = FeedbackBody.model_validate_json(body)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        message = f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg", "invalid"))
        raise RequestError(422 if first.get("type") != "json_invalid" else 400, message[:300]) from None
    if len(document.outcomes) > parser.limits.max_rows:
        raise RequestError(413, f"{len(document.outcomes):,} outcomes is more than the {parser.limits.max_rows:,} a "
                                "request may hold; split them over several requests")
    return document.outcomes


class _OneOpenMPThread:
    """Each worker thread scores with one OpenMP thread; the service's parallelism is across requests.

    Histogram gradient boosting predicts tree by tree with an OpenMP parallel loop; for one row that loop
    costs far more to start than to run, and several requests each starting one on two cores made a
    one-row request 7x slower (about 200 ms instead of 28 on a loaded machine). OpenMP's thread count is
    per calling thread, so setting it in the worker threads leaves the rest of the process alone.
    """

    def __init__(self) -> None:
        self.controller = ThreadpoolController()
        self.done = threading.local()

    def apply(self) -> None:
        if not getattr(self.done, "limited", False):
            self.controller.limit(limits=1, user_api="openmp")  # kept for the life of this worker thread
            self.done.limited = True


def _too_large(size: int, limits: ServiceLimits, *, at_least: bool = False) -> str:
    amount = f"more than {limits.max_body_bytes:,}" if at_least else f"{size:,}"
    return (f"the body is {amount} bytes, over the {limits.max_body_bytes:,}-byte limit of a request; "
            "split the rows over several requests")


def _add_error_handlers(app: FastAPI) -> None:
    """Every error answers ``{"detail": "<one line>"}``; a 500 never shows a traceback."""

    @app.exception_handler(RequestError)
    async def refused(request: Request, error: RequestError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        return JSONResponse({"detail": error.detail}, status_code=error.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        detail = f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg", "invalid request"))
        return JSONResponse({"detail": " ".join(detail.split())}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        detail = str(error.detail)
        if error.status_code == 404:
            detail = (f"no endpoint {request.url.path[:80]!r}; the service answers GET /health, GET /schema, "
                      "POST /predict, POST /explain, POST /feedback, GET /metrics and POST /reload")
        elif error.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path[:80]}"
        return JSONResponse({"detail": " ".join(detail.split())}, status_code=error.status_code,
                            headers=getattr(error, "headers", None))

    @app.exception_handler(Exception)
    async def crashed(request: Request, error: Exception) -> JSONResponse:
        log.error("internal error on %s %s", request.method, request.url.path, exc_info=error)
        return JSONResponse({"detail": "internal error"}, status_code=500)


class _Observe:
    """ASGI middleware counting every request by endpoint and status, and timing it.

    The count is taken just before the last byte of the response goes out, so a client that has its
    answer always finds its request in ``/metrics``. An exception that escapes the app counts as a 500
    (the outer error handler then answers ``internal error``).
    """

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        endpoint = scope["path"] if scope["path"] in ENDPOINTS else "other"
        start, status, counted = time.perf_counter(), 500, False

        async def observed(message: Message) -> None:
            nonlocal status, counted
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body") and not counted:
                counted = True
                self.metrics.observe_request(endpoint, status, time.perf_counter() - start)
            await send(message)

        try:
            await self.app(scope, receive, observed)
        except Exception:
            if not counted:
                counted = True
                self.metrics.observe_request(endpoint, 500, time.perf_counter() - start)
            raise


_PREDICT_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    JSON_TYPE: {"schema": {"type": "object", "required": ["rows"], "additionalProperties": False,
                           "properties": {"rows": {"type": "array", "minItems": 1,
                                                   "items": {"type": "object"}}}}},
    CSV_TYPE: {"schema": {"type": "string"}},
}}}
_FEEDBACK_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    JSON_TYPE: {"schema": {"type": "object", "required": ["outcomes"], "additionalProperties": False,
                           "properties": {"outcomes": {"type": "array", "minItems": 1, "items": {
                               "type": "object", "required": ["request_id", "row_id", "outcome"],
                               "additionalProperties": False,
                               "properties": {"request_id": {"type": "string"},
                                              "row_id": {"type": "integer", "minimum": 0},
                                              "outcome": {"type": ["string", "number", "boolean"]}}}}}}},
    CSV_TYPE: {"schema": {"type": "string", "description": "a header row request_id,row_id,outcome, then one "
                                                           "outcome per line"}},
}}}
