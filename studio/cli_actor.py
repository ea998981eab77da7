"""Who a ``python -m studio`` command acts as, the plain tables commands print and the ``--since`` they read: shared
by ``studio.cli`` and the command modules beside it (``studio.tokens_cli``, ``studio.audit_cli``), which would
otherwise import each other.

The local user (whoever runs commands on the server, next to the database) acts unless an API token is given with
``--token`` or ``PIPELINE_STUDIO_TOKEN``; then the command acts as the token's account, in the token's workspace,
with the token's role at most, and the token's last use is recorded.
"""

from __future__ import annotations

import argparse
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from studio.roles import Actor

CLI_USER = "cli"  # who the registry records for changes made from the command line by the local user
UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def actor(args: argparse.Namespace) -> Actor:
    """Who a command acts as: with an API token (``--token`` or ``PIPELINE_STUDIO_TOKEN``), the token's account in
    its workspace with its role; else the local user (it runs on this machine, next to the database), in the
    workspace ``--workspace`` names where a command takes it (the Models page starts services with it), else the
    default."""
    from studio.roles import Actor

    workspace = getattr(args, "workspace", None)
    given = token(args)
    if given:
        from studio import audit_log, tokens
        from studio.workspace import current_store

        found = tokens.actor_for_token(current_store(), given)  # checked afresh on every call
        assert found.scope is not None
        if not getattr(args, "token_use_counted", False):  # once per command, in the audit log and last use
            args.token_use_counted = True
            tokens.record_use(current_store(), found.scope.token_id)
            audit_log.record_token_use(current_store(), found, "command line")
        if workspace is not None and workspace != found.workspace_id:
            raise tokens.TokenError(f"--workspace {workspace} is not the API token's workspace "
                                    f"(#{found.workspace_id}); a token acts in its own workspace only")
        return found
    return Actor.local(workspace) if workspace is not None else Actor.local()


def token(args: argparse.Namespace) -> str | None:
    """The API token given with ``--token``, else ``PIPELINE_STUDIO_TOKEN``; ``None`` when neither is set."""
    from studio.settings import settings

    given = getattr(args, "token", None) or settings().api_token
    return given.strip() if given and given.strip() else None


def by(args: argparse.Namespace) -> str:
    """Who registry changes are recorded as: the token's account, or ``cli`` for the local user."""
    return actor(args).name if token(args) else CLI_USER


def table(rows: list[dict[str, object]]) -> str:
    """Plain aligned columns for a terminal (no wrapping: a long note simply ends its line)."""
    if not rows:
        return ""
    widths = {key: max(len(key), *(len(str(row[key])) for row in rows)) for key in rows[0]}
    lines = ["  ".join(key.ljust(width) for key, width in widths.items())]
    lines += ["  ".join(str(row[key]).ljust(width) for key, width in widths.items()) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def since_of(text: str, now: datetime) -> datetime | None:
    """``24h``/``7d``/``90m`` back from ``now``, or an ISO date/time (UTC when it names no zone); None if neither."""
    span = re.fullmatch(r"\s*(\d+)\s*([mhd])\s*", text)
    if span:
        return now - timedelta(**{UNITS[span[2]]: int(span[1])})
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
