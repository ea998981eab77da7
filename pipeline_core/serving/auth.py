"""Who may call the service: the seam an application plugs its own token check into.

The core knows nothing of accounts or databases. An endpoint says what it needs (:class:`Permission`) and asks an
:class:`Authorizer` with the bearer token the request carried (``None`` when it carried none). The authorizer
returns to let the request through, or raises :class:`Unauthorized` (401: no usable token, an unknown, revoked or
expired one) or :class:`Forbidden` (403: a good token that may not do this here), each with a one-line reason the
client reads. :class:`StaticToken` is the core's own: one token, given on the command line's ``--token-env``.

An authorizer is called on every request but ``/health``, from FastAPI's thread pool (never on the event loop), so
it may block on a database.
"""

from __future__ import annotations

import hmac
from enum import StrEnum
from typing import Protocol

from pipeline_core.serving.requests import RequestError


class Permission(StrEnum):
    """What an endpoint needs: reading the schema, reading the Prometheus metrics, scoring (``/predict``,
    ``/explain``), sending true outcomes (``/feedback``), making the service look for a newer model (``/reload``).

    Metrics are apart from the schema so an application can give its own scraper (a page showing request counts,
    Prometheus) a credential that reads ``/metrics`` and nothing else."""

    READ = "read"
    METRICS = "metrics"
    SCORE = "score"
    FEEDBACK = "feedback"
    RELOAD = "reload"


class Unauthorized(RequestError):
    """401: the request carries no token this service accepts (missing, unknown, revoked, expired)."""

    def __init__(self, detail: str):
        super().__init__(401, detail)


class Forbidden(RequestError):
    """403: the token is good but may not do this on this service (another workspace, too low a role)."""

    def __init__(self, detail: str):
        super().__init__(403, detail)


class Authorizer(Protocol):
    def __call__(self, token: str | None, need: Permission) -> None: ...


NO_TOKEN = "this service needs a token: send the header 'Authorization: Bearer <token>'"


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; ``None`` without the header; :class:`Unauthorized`
    for a header of another form."""
    if not header:
        return None
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise Unauthorized("the Authorization header must read 'Bearer <token>'")
    return given.strip()


class StaticToken:
    """One token that may do everything (constant-time compare)."""

    def __init__(self, token: str):
        self.expected = token.encode("utf-8", "surrogateescape")

    def __call__(self, token: str | None, need: Permission) -> None:
        if token is None:
            raise Unauthorized(NO_TOKEN)
        if not hmac.compare_digest(token.encode("utf-8", "surrogateescape"), self.expected):
            raise Unauthorized("the bearer token is not this service's token")
