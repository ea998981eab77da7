"""Drafts: the pipeline a user is editing, saved on every edit and restored by any tab that opens its address.

The working pipeline used to live only in a browser session, so a refresh lost the target, the steps, the
renames and the rules (issue 15). Now each tab's work is a draft under a random token kept in the page address:
a refresh, a second tab on the same address, or a restarted server reopens it exactly. A draft holds the
definition and the few facts the pages need around it (:class:`DraftContext`); saving a version snapshots it
into an immutable pipeline version and the draft goes on from there.
"""

from __future__ import annotations

import secrets

from pydantic import BaseModel, ConfigDict

import storage
from pipeline_core.definition.spec import PipelineSpec, load_spec
from pipeline_core.errors import SpecError
from studio.roles import Action, Actor, NotFound, require
from studio.workspace import current_store


class DraftContext(BaseModel):
    """What the pages need around the definition: the saved version it came from and the run it follows (the
    pipeline's name is the definition's own ``name``)."""

    model_config = ConfigDict(extra="ignore")  # a context written by a newer release still opens
    pipeline_id: int | None = None
    pipeline_version: int | None = None
    saved_hash: str | None = None
    run_id: int | None = None


class WorkingDraft(BaseModel):
    """A draft as the pages use it; ``spec`` is ``None`` before the first edit or when the stored definition
    no longer loads (``problem`` then says why, and the context is still restored)."""

    token: str
    revision: int
    dataset_id: int | None
    spec: PipelineSpec | None
    context: DraftContext
    problem: str = ""


def new_token() -> str:
    """A fresh, unguessable draft token (22 URL-safe characters): drafts cannot be found by counting."""
    return secrets.token_urlsafe(16)


def open_draft(actor: Actor, token: str) -> WorkingDraft | None:
    """The draft saved under ``token``, or ``None`` when nothing was saved under it yet in the actor's workspace.

    A draft is one tab's scratch work, so any member may keep one (a viewer's page keeps its place too); what a
    draft becomes, a saved version or a run, is checked where that happens."""
    store = current_store()
    require(store, actor, Action.READ)
    row = storage.get_draft(store, token)
    if row is None or row.workspace_id != actor.workspace_id:
        return None
    spec, problem = None, ""
    if row.definition:
        try:
            spec = load_spec(row.definition)
        except SpecError as e:
            problem = f"The pipeline saved in this draft no longer loads ({e}); start again from a saved version."
    return WorkingDraft(token=row.token, revision=row.revision, dataset_id=row.dataset_id, spec=spec,
                        context=DraftContext.model_validate(row.context or {}), problem=problem)


def save_draft(actor: Actor, token: str, *, dataset_id: int | None, spec: PipelineSpec | None,
               context: DraftContext) -> int:
    """Save the tab's working pipeline under ``token`` (create or overwrite); returns the draft's new revision.

    A token another workspace's draft holds is refused as not found (tokens are random, so this is a stale
    address carried over after switching workspace, not a guess)."""
    store = current_store()
    require(store, actor, Action.READ)
    existing = storage.get_draft(store, token)
    if existing is not None and existing.workspace_id != actor.workspace_id:
        raise NotFound("this page's draft was not found in this workspace; open the page again from the menu")
    row = storage.save_draft(store, token, dataset_id=dataset_id, definition=spec.to_dict() if spec is not None else {},
                             context=context.model_dump(mode="json"), workspace_id=actor.workspace_id)
    return row.revision


def draft_revision(actor: Actor, token: str) -> int | None:
    """How many times the draft was saved (``None``: never), so a tab can tell another tab saved since."""
    store = current_store()
    require(store, actor, Action.READ)
    row = storage.get_draft(store, token)
    return row.revision if row is not None and row.workspace_id == actor.workspace_id else None
