"""The audit log (issue 19 point 4): who did what, when, in which workspace, and through which API token.

Written in one place, the application layer: each use case that changes something calls :func:`record` right after
the change succeeded, next to the ``require`` that allowed it, so a page, the command line and the scoring service
all leave the same entry and none can forget it (``tests/application/test_audit_log.py`` runs every changing use case
of the role table and fails when one leaves no entry). A refusal leaves none: the log says what was done. Sign-ins
(``studio.accounts``) are account events, with no workspace; so is a refused one, under the name that was typed.

Token use is not a row per request, which a busy client would turn into a second prediction log: the scoring
service counts each token's requests per minute (:class:`TokenUseCounter`), writing the minute's row on its first
request and adding the rest when the minute ends or the service stops; each command run with a token counts one.

Owners of a workspace read its entries, and the sign-ins of its members (:func:`audit_log`); the local user (the
server's command line) and administrators also see every account event, refused sign-ins under unknown names
included.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import storage
from storage import Store
from studio.roles import Action, Actor, require

MAX_TEXT = 300  # a typed name or a target is cut here: the log is not a place to store what a form was sent


class EventKind(StrEnum):
    SIGN_IN = "sign in"
    SIGN_IN_REFUSED = "sign-in refused"
    UPLOAD = "upload"
    SAVE = "save"
    TRAIN = "train"
    DELETE = "delete"
    STAGE_CHANGE = "stage change"
    SERVICE = "service"
    MEMBER_CHANGE = "member change"
    LIMITS_CHANGE = "limits change"
    TOKEN_CREATED = "token created"
    TOKEN_REVOKED = "token revoked"
    TOKEN_USED = "token used"


@dataclass(frozen=True)
class AuditEntry:
    """One line of the log as the page and ``python -m studio audit`` show it."""

    at: datetime
    kind: EventKind
    actor: str
    workspace_id: int | None
    target: str
    detail: str
    via_token: str | None  # the API token's name, when the actor acted through one
    count: int  # requests in the minute, for token use; else 1


def _cut(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def record(store: Store, by: Actor, kind: EventKind, target: str, detail: str = "") -> None:
    """Log that ``by`` did ``kind`` to ``target`` in its workspace (call it after the change succeeded; it is not a
    use case, so it checks no role: the caller's ``require`` did)."""
    storage.add_audit_event(store, kind=kind.value, actor=by.name, user_id=by.user_id, workspace_id=by.workspace_id,
                            target=_cut(target), detail=_cut(detail), token_id=by.scope.token_id if by.scope else None)


def record_account_event(store: Store, name: str, user_id: int | None, kind: EventKind, detail: str = "",
                         *, target: str = "") -> None:
    """Log an event of an account, in no workspace (a sign-in, a refused one, a change of limits)."""
    storage.add_audit_event(store, kind=kind.value, actor=_cut(name), user_id=user_id, workspace_id=None,
                            target=_cut(target), detail=_cut(detail))


def record_token_use(store: Store, by: Actor, target: str, *, requests: int = 1,
                     now: datetime | None = None) -> None:
    """Count ``requests`` uses of ``by``'s token in the current minute's row (a command run, one request)."""
    assert by.scope is not None and by.user_id is not None
    minute = (now or datetime.now(UTC)).replace(second=0, microsecond=0)
    storage.count_token_use(store, token_id=by.scope.token_id, minute=minute, requests=requests,
                            actor=by.name, user_id=by.user_id, workspace_id=by.workspace_id,
                            target=_cut(target), detail=f"API token '{by.scope.name}'")


class TokenUseCounter:
    """Counts a scoring service's requests per token and minute: the minute's row is written on its first request
    (so the log shows the token in use at once), the rest of the minute's count when it ends or on :meth:`close`."""

    def __init__(self, store: Store, target: str):
        self.store = store
        self.target = target
        self.lock = threading.Lock()
        self.pending: dict[int, tuple[datetime, int, Actor]] = {}  # token id -> (minute, uncounted requests, actor)

    def used(self, actor: Actor, now: datetime) -> bool:
        """Count one request; ``True`` when it is the token's first in this minute (the row was just written)."""
        assert actor.scope is not None
        minute = now.replace(second=0, microsecond=0)
        with self.lock:
            previous = self.pending.get(actor.scope.token_id)
            if previous is not None and previous[0] == minute:
                self.pending[actor.scope.token_id] = (minute, previous[1] + 1, actor)
                return False
            self.pending[actor.scope.token_id] = (minute, 0, actor)
        if previous is not None and previous[1]:
            self._write(previous[2], previous[0], previous[1])
        self._write(actor, minute, 1)
        return True

    def close(self) -> None:
        """Write what the current minutes counted (the service is stopping)."""
        with self.lock:
            pending, self.pending = self.pending, {}
        for minute, count, actor in pending.values():
            if count:
                self._write(actor, minute, count)

    def _write(self, actor: Actor, minute: datetime, requests: int) -> None:
        record_token_use(self.store, actor, self.target, requests=requests, now=minute)


def audit_log(store: Store, actor: Actor, *, since: datetime | None = None, until: datetime | None = None,
              kinds: tuple[EventKind | str, ...] = (), who: str | None = None, limit: int = 1000) -> list[AuditEntry]:
    """The actor's workspace's entries, newest first, with its members' sign-ins (owners only); ``kinds``, ``who``
    and the window narrow it. The local user and administrators also see every account event."""
    require(store, actor, Action.READ_AUDIT_LOG)
    account_ids: set[int] | None
    if _sees_all_accounts(store, actor):
        account_ids = None
    else:
        account_ids = {user.id for user, _role in storage.list_members(store, actor.workspace_id) if user.id}
    rows = storage.list_audit_events(store, workspace_id=actor.workspace_id, account_ids=account_ids, since=since,
                                     until=until, kinds=[EventKind(k).value for k in kinds], actor=who or None,
                                     limit=limit)
    names = {t.id: t.name for t in storage.list_api_tokens(store, workspace_id=actor.workspace_id) if t.id}
    return [AuditEntry(at=row.at, kind=EventKind(row.kind), actor=row.actor, workspace_id=row.workspace_id,
                       target=row.target, detail=row.detail, count=row.count,
                       via_token=names.get(row.token_id, f"#{row.token_id}") if row.token_id else None)
            for row in rows]


def _sees_all_accounts(store: Store, actor: Actor) -> bool:
    if actor.user_id is None:
        return True
    user = storage.get_user(store, actor.user_id)
    return user is not None and user.is_admin and actor.scope is None
