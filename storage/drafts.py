"""Drafts: the working pipeline of a browser tab, saved on every edit and found again by its token.

A draft is what the user is building right now (the definition plus the page context around it: the saved
pipeline it came from, the run it follows, the name typed for it). It lives under a random token that the
page keeps in its address, so a refresh, a second tab opened on that address, or a restarted server finds
it unchanged. Saving is an upsert of one row: the last write wins, and ``revision`` counts the writes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlmodel import Session, select

from storage.db import read, write
from storage.errors import StorageError
from storage.models import DEFAULT_WORKSPACE_ID, Draft, utcnow
from storage.repository import to_json_data
from storage.store import Store

TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")


def check_token(token: str) -> str:
    """``token`` when it has the shape the app gives tokens, else a one-line :class:`StorageError`."""
    if not isinstance(token, str) or not TOKEN_PATTERN.fullmatch(token):
        raise StorageError("This page address does not name a draft (its 'draft' part is malformed).")
    return token


def save_draft(store: Store, token: str, *, dataset_id: int | None, definition: Mapping[str, Any],
               context: Mapping[str, Any], workspace_id: int = DEFAULT_WORKSPACE_ID) -> Draft:
    """Create the draft ``token`` in ``workspace_id`` or overwrite it (it stays in the workspace it was created
    in); returns it with its new revision."""
    check_token(token)
    plain_definition, plain_context = to_json_data(dict(definition)), to_json_data(dict(context))

    def work(session: Session) -> Draft:
        draft = session.exec(select(Draft).where(Draft.token == token)).first()
        if draft is None:
            draft = Draft(token=token, workspace_id=workspace_id)
        draft.dataset_id = dataset_id
        draft.definition = plain_definition
        draft.context = plain_context
        draft.revision += 1
        draft.updated_at = utcnow()
        session.add(draft)
        session.flush()
        return draft

    return write(store, work, retry_conflicts=True)  # two tabs creating one token: the second finds the row


def get_draft(store: Store, token: str) -> Draft | None:
    """The draft ``token``, or ``None`` when none was saved under it (a malformed token is refused)."""
    check_token(token)
    return read(store, lambda session: session.exec(select(Draft).where(Draft.token == token)).first())
