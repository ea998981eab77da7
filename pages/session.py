"""The session state several pages share, and the one-shot messages an action leaves for the next rerun.

A page's own widget keys stay in that page (prefixed with its name). What pages share, the active dataset,
the run this session follows and the saved version being edited, is read and written here only, so a
misspelt key is an ``AttributeError`` at once instead of a silent ``None`` on another page.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any, Literal

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from pipeline_core.definition.spec import load_spec
from studio import drafts
from studio.accounts import Account
from studio.errors import FAILURES
from studio.roles import DEFAULT_WORKSPACE_ID, AccessDenied, Actor
from studio.settings import settings

DATASET_ID = "dataset_id"  # storage id of the active dataset
SPEC = "spec"  # the definition being edited, as a dict
SAVED_HASH = "saved_hash"  # content hash of the version it was opened or saved as (the unsaved-changes flag)
PIPELINE_ID = "pipeline_id"
PIPELINE_VERSION = "pipeline_version"
RUN_ID = "run_id"  # the run this session last started or opened
OWNER = "owner"  # whom this session's training jobs count against (``owner()``); never in the URL
DRAFT = "draft_token"  # the draft this tab's work is saved under (``studio.drafts``); in the URL as ``draft``
DRAFT_SEEN = "draft_seen"  # (revision, state digest) this session last saved or loaded
ACCOUNT = "account"  # the signed-in account (``act_as``), never in the URL
WORKSPACE = "workspace_id"  # the workspace picked in the sidebar (signed-in only; else the default)

DEFAULTS: dict[str, Any] = {DATASET_ID: None, SPEC: None, SAVED_HASH: None, PIPELINE_ID: None,
                            PIPELINE_VERSION: None, RUN_ID: None}
# kept in the address bar, so a browser refresh (a new session) reopens the same dataset and run
URL_KEYS = {DATASET_ID: "dataset", RUN_ID: "run"}
DRAFT_PARAM = "draft"


def init_state() -> None:
    """Defaults for a new session; the draft and the ids a refreshed page carries in its address.

    A later run of the session picks up what another tab saved to the same draft, unless this session
    has changes of its own not yet saved (then its own save, at the end of the run, wins).
    """
    fresh = DATASET_ID not in st.session_state
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(key, value)
    if fresh:
        if token := st.query_params.get(DRAFT_PARAM):
            _restore(token)
        if not st.session_state.get(DRAFT):  # from the first run: the job cap and the address need it
            st.session_state[DRAFT] = drafts.new_token()
        for key, param in URL_KEYS.items():
            value = st.query_params.get(param)
            if value is not None and value.isdigit():
                st.session_state[key] = int(value)
    else:
        _follow_other_tabs()


def sync_url() -> None:
    """Mirror the ids that identify this session's work into the URL (ids and the draft token, no data)."""
    wanted = {param: st.session_state.get(key) for key, param in URL_KEYS.items()}
    wanted[DRAFT_PARAM] = st.session_state.get(DRAFT)
    for param, value in wanted.items():
        if value is None:
            st.query_params.pop(param, None)
        elif st.query_params.get(param) != str(value):
            st.query_params[param] = str(value)


# ---- the draft: this tab's work, saved on every edit -------------------------------------------------


def _draft_context() -> drafts.DraftContext:
    return drafts.DraftContext(pipeline_id=st.session_state.get(PIPELINE_ID),
                               pipeline_version=st.session_state.get(PIPELINE_VERSION),
                               saved_hash=st.session_state.get(SAVED_HASH), run_id=st.session_state.get(RUN_ID))


def _state_digest() -> str:
    state = {"dataset": st.session_state.get(DATASET_ID), "spec": st.session_state.get(SPEC),
             "context": _draft_context().model_dump(mode="json")}
    return hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode()).hexdigest()


def autosave() -> None:
    """Save this tab's working pipeline when anything in it changed since the last save or load.

    Called once at the end of every run of the app (also when a page stopped early or reran), so every
    edit, by any widget or callback on any page, reaches the draft without each page remembering to.
    A session that never edited a pipeline saves nothing.
    """
    if st.session_state.get(SPEC) is None and st.session_state.get(DRAFT_SEEN) is None:
        return  # nothing edited and nothing loaded: no row for a visit that only looked around
    digest = _state_digest()
    seen = st.session_state.get(DRAFT_SEEN)
    if seen is not None and seen[1] == digest:
        return
    token = st.session_state.get(DRAFT) or drafts.new_token()
    spec_dict = st.session_state.get(SPEC)
    try:
        revision = drafts.save_draft(actor(), token, dataset_id=st.session_state.get(DATASET_ID),
                                     spec=load_spec(spec_dict) if spec_dict else None, context=_draft_context())
    except FAILURES as e:
        st.sidebar.warning(f"Your latest edit could not be saved as a draft, so a refresh would lose it: {e}",
                           icon=":material/warning:")
        return
    st.session_state[DRAFT] = token
    st.session_state[DRAFT_SEEN] = (revision, digest)


def _restore(token: str) -> None:
    try:
        draft = drafts.open_draft(actor(), token)
    except FAILURES as e:
        leave_message("app", str(e), "error")
        return
    st.session_state[DRAFT] = token  # a new token from a shared link: this tab's edits are saved under it
    if draft is not None:
        _load(draft)


def _load(draft: drafts.WorkingDraft) -> None:
    context = draft.context
    st.session_state.update({
        SPEC: draft.spec.to_dict() if draft.spec is not None else None, DATASET_ID: draft.dataset_id,
        PIPELINE_ID: context.pipeline_id, PIPELINE_VERSION: context.pipeline_version,
        SAVED_HASH: context.saved_hash, RUN_ID: context.run_id,
    })
    if draft.problem:
        leave_message("app", draft.problem, "error")
    st.session_state[DRAFT_SEEN] = (draft.revision, _state_digest())


def _follow_other_tabs() -> None:
    """Reload the draft when another tab saved it since this session last did, and this one changed nothing."""
    token, seen = st.session_state.get(DRAFT), st.session_state.get(DRAFT_SEEN)
    if not token or seen is None or seen[1] != _state_digest():
        return
    try:
        newer = (drafts.draft_revision(actor(), token) or 0) > seen[0]
        if newer and (draft := drafts.open_draft(actor(), token)) is not None:
            _load(draft)
    except FAILURES:
        return  # the next save reports a store that cannot be reached


def dataset_id() -> int | None:
    return st.session_state.get(DATASET_ID)


def set_dataset_id(value: int | None) -> None:
    st.session_state[DATASET_ID] = value


def act_as(account: Account) -> None:
    """Act as the signed-in account: count this session's jobs and record its changes under it, and check its role
    in the workspace it picked (called on every run, before anything is read)."""
    st.session_state[OWNER] = f"user:{account.name}"
    st.session_state[ACCOUNT] = account


def actor() -> Actor:
    """Who this session acts as, in which workspace: what every call into the application layer passes.

    With sign-in configured, the signed-in account in the workspace picked in the sidebar; a session without one
    (which ``app.py`` never lets reach a page) is refused rather than taken for the local user. Without sign-in,
    the local user in the default workspace, as before workspaces.
    """
    account: Account | None = st.session_state.get(ACCOUNT)
    if account is None:
        if settings().sign_in:
            raise AccessDenied("sign in first")
        return Actor.local()
    return Actor.account(account.id, account.name, st.session_state.get(WORKSPACE) or DEFAULT_WORKSPACE_ID)


def workspace_id() -> int | None:
    return st.session_state.get(WORKSPACE)


def set_workspace(workspace: int) -> None:
    """The workspace a new session acts in (what its address names is looked up there)."""
    st.session_state[WORKSPACE] = workspace


def switch_workspace(workspace: int) -> None:
    """Open another workspace: what this tab had open (dataset, run, pipeline, draft) was the old one's, so it is
    closed and the address forgets it; a fresh draft starts."""
    if st.session_state.get(WORKSPACE) == workspace:
        return
    st.session_state[WORKSPACE] = workspace
    st.session_state.update(DEFAULTS)
    st.session_state[DRAFT] = drafts.new_token()
    st.session_state.pop(DRAFT_SEEN, None)
    for param in (*URL_KEYS.values(), DRAFT_PARAM):
        st.query_params.pop(param, None)


def owner() -> str:
    """The submitter this session's training jobs are counted under for the per-user job cap, and who the
    registry records for a stage change.

    With sign-in it is the account (:func:`act_as`, ``user:<name>``): every tab and browser of one person counts
    together. Without, it is the tab's draft: a refresh or a second tab on the same address keeps counting the
    same jobs, and only a fresh start of the app begins a new count. The CLI and a service pass their own owner
    strings to ``studio.training``.
    """
    value = st.session_state.get(OWNER)
    if value is None:
        token = st.session_state.get(DRAFT)
        if token:
            value = f"draft:{token}"
        else:  # outside app.py's init_state (a page driven on its own)
            context = get_script_run_ctx()
            value = f"session:{context.session_id if context is not None else uuid.uuid4().hex}"
        st.session_state[OWNER] = value
    return value


def run_id() -> int | None:
    return st.session_state.get(RUN_ID)


def set_run_id(value: int | None) -> None:
    st.session_state[RUN_ID] = value


@dataclass(frozen=True)
class Editing:
    """The saved version the definition being edited came from (all ``None`` before the first save)."""

    pipeline_id: int | None
    version: int | None
    saved_hash: str | None


def editing() -> Editing:
    return Editing(st.session_state.get(PIPELINE_ID), st.session_state.get(PIPELINE_VERSION),
                   st.session_state.get(SAVED_HASH))


def set_editing(pipeline_id: int | None, version: int | None, saved_hash: str | None) -> None:
    st.session_state.update({PIPELINE_ID: pipeline_id, PIPELINE_VERSION: version, SAVED_HASH: saved_hash})


# ---- one-shot messages -----------------------------------------------------------------------------------

FlashKind = Literal["success", "info", "error"]
_ICONS = {"success": ":material/check_circle:", "info": ":material/info:", "error": ":material/error:"}


def leave_message(page: str, message: str, kind: FlashKind = "success") -> None:
    """Keep ``message`` for the next run of ``page``: an action that reruns the page says what it did there."""
    st.session_state.setdefault(_flash_key(page), []).append((kind, message))


def show_messages(page: str) -> None:
    """Show, once, the messages left for ``page`` (in a slot that is always drawn, so the layout stays steady)."""
    slot = st.container()
    for kind, message in st.session_state.pop(_flash_key(page), []):
        getattr(slot, kind)(message, icon=_ICONS[kind])


def _flash_key(page: str) -> str:
    return f"{page}_messages"
