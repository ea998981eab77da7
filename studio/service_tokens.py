"""API tokens at the scoring service's door: the authorizer ``python -m studio serve`` plugs into the core.

The core asks :class:`TokenAuthorizer` on every request but ``/health`` with the bearer token and what the endpoint
needs (``pipeline_core.serving.auth``). The token is looked up by its hash every time (``studio.tokens``), so a
token revoked or expired a moment ago is refused with 401 and the reason on its next request; a good token of
another workspace, or one whose role (the lower of the token's and its account's) is below what the endpoint needs,
gets 403. The endpoints need what the same act needs in the app: reading the schema or metrics a viewer, scoring a
viewer, sending true outcomes an editor (an upload), ``/reload`` an editor.

A service the Models page starts also accepts its own metrics secret (:data:`METRICS_SECRET_ENV`, made per service
by ``studio.services`` and kept with its record), for ``/metrics`` only: the page reads request counts with it, so it
needs no account's token, and the secret scores, reads the schema or uploads nothing.

Last use is written once a minute per token at most, and the audit log counts each token's requests per minute
(``studio.audit_log.TokenUseCounter``): a busy client would otherwise turn every request into a database write.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime

from pipeline_core.serving.auth import NO_TOKEN, Forbidden, Permission, Unauthorized
from storage import Store, get_workspace
from studio import tokens
from studio.audit_log import TokenUseCounter
from studio.roles import AccessDenied, Action, NotFound, require

NEEDS: dict[Permission, Action] = {Permission.READ: Action.READ, Permission.METRICS: Action.READ,
                                   Permission.SCORE: Action.SCORE, Permission.FEEDBACK: Action.UPLOAD,
                                   Permission.RELOAD: Action.SAVE}
METRICS_SECRET_ENV = "PIPELINE_STUDIO_METRICS_SECRET"  # a service's own secret for /metrics, from its starter


class TokenAuthorizer:
    """Accepts the API tokens of ``workspace_id`` whose role allows each endpoint, ``static_token`` (the operator's
    ``--token-env`` token, if one was given) for everything, and ``metrics_secret`` (if given) for ``/metrics``."""

    def __init__(self, store: Store, workspace_id: int, *, static_token: str | None = None,
                 metrics_secret: str | None = None, target: str = "scoring service"):
        self.store = store
        self.workspace_id = workspace_id
        self.static = _encoded(static_token)
        self.metrics_secret = _encoded(metrics_secret)
        self.uses = TokenUseCounter(store, target)

    def __call__(self, token: str | None, need: Permission) -> None:
        if token is None:
            raise Unauthorized(f"{NO_TOKEN}, with an API token of this workspace (python -m studio tokens create)")
        given = token.encode("utf-8", "surrogateescape")
        if self.static is not None and hmac.compare_digest(given, self.static):
            return
        if self.metrics_secret is not None and hmac.compare_digest(given, self.metrics_secret):
            if need is Permission.METRICS:
                return
            raise Forbidden("this service's metrics secret reads /metrics and nothing else")
        now = datetime.now(UTC)
        try:
            actor = tokens.actor_for_token(self.store, token, now=now)
        except tokens.TokenRefused as e:
            raise Unauthorized(str(e)) from None
        assert actor.scope is not None
        if actor.workspace_id != self.workspace_id:
            raise Forbidden(f"API token '{actor.scope.name}' is for workspace '{self._name(actor.workspace_id)}'; "
                            f"this service serves a pipeline of '{self._name(self.workspace_id)}'")
        try:
            require(self.store, actor, NEEDS[need])
        except NotFound:
            raise Forbidden(f"{actor.name} is no longer a member of the workspace this service serves, so API token "
                            f"'{actor.scope.name}' may do nothing here") from None
        except AccessDenied as e:
            raise Forbidden(str(e)) from None
        if self.uses.used(actor, now):  # the token's first request this minute
            tokens.record_use(self.store, actor.scope.token_id, now=now)

    def close(self) -> None:
        """Write the requests counted this minute to the audit log (the service is stopping)."""
        self.uses.close()

    def _name(self, workspace_id: int) -> str:
        row = get_workspace(self.store, workspace_id)
        return row.name if row is not None else f"#{workspace_id}"


def _encoded(secret: str | None) -> bytes | None:
    return secret.encode("utf-8", "surrogateescape") if secret else None
