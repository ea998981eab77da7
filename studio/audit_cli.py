"""``python -m studio audit``: the audit log of a workspace, for its owners, on the command line.

Run as the local user it reads any workspace (``--workspace``, default the default one) and every account event;
run with an owner's API token, the token's workspace and its members' sign-ins.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from pipeline_core import cli as core


def add_audit(commands: Any) -> None:
    from studio.audit_log import EventKind

    audit = commands.add_parser("audit", help="who did what: the audit log of a workspace (owners)",
                                description="Sign-ins, uploads, deletes, stage changes, member changes, API tokens "
                                            "made, revoked and used (counted per minute), newest first.")
    audit.add_argument("--since", default="7d", metavar="WHEN",
                       help="an ISO date/time (UTC) or a span back from now such as 24h or 30d (default 7d)")
    audit.add_argument("--kind", action="append", default=[], choices=[k.value for k in EventKind], metavar="KIND",
                       help="only this kind of event (repeatable): " + ", ".join(k.value for k in EventKind))
    audit.add_argument("--who", metavar="NAME", help="only what this account (or 'local user') did")
    audit.add_argument("--workspace", type=core._positive_int, default=None, metavar="ID")
    audit.add_argument("--limit", type=core._positive_int, default=1000, metavar="N", help="at most N entries")
    audit.set_defaults(handler=cmd_audit)


def cmd_audit(args: argparse.Namespace) -> int:
    from studio import audit_log
    from studio.cli_actor import actor, since_of, table
    from studio.workspace import current_store, prepare_store

    since = since_of(args.since, datetime.now(UTC))
    if since is None:
        return core._fail(f"--since {args.since!r} is neither an ISO date/time nor a span such as 24h or 7d",
                          core.EXIT_USAGE)
    store = current_store()
    prepare_store(store)
    entries = audit_log.audit_log(store, actor(args), since=since, kinds=tuple(args.kind), who=args.who,
                                  limit=args.limit)
    if not entries:
        print(f"no audit entries since {since:%Y-%m-%d %H:%M} UTC")
        return core.EXIT_OK
    print(table([{"when (UTC)": f"{e.at:%Y-%m-%d %H:%M:%S}", "kind": e.kind.value, "who": e.actor,
                  "token": e.via_token or "", "target": e.target,
                  "detail": e.detail + (f" ({e.count:,} requests)" if e.kind == "token used" else "")}
                 for e in entries]))
    return core.EXIT_OK
