"""``python -m studio tokens …``: make, list and revoke API tokens from the command line.

Run on the server as the local user (who owns every workspace), ``create`` names the account the token acts as
(``--user``); run with another token (``--token`` / ``PIPELINE_STUDIO_TOKEN``), ``list`` and ``revoke`` act as that
token's account, but ``create`` is refused (a token makes no tokens). The new token is printed once, alone on the
last line of standard output, so a script can take it with ``tail -n 1``.
"""

from __future__ import annotations

import argparse
from typing import Any

from pipeline_core import cli as core


def add_tokens(commands: Any) -> None:
    tokens = commands.add_parser("tokens", help="API tokens for the scoring service and the command line",
                                 description="API tokens of a workspace of the studio of PIPELINE_STUDIO_HOME / "
                                             "DATABASE_URL: each acts as one account, in one workspace, with a role "
                                             "up to the account's own.")
    actions = tokens.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="make a token; it is printed once, never stored")
    create.add_argument("--name", required=True, metavar="TEXT", help="what uses it, e.g. 'nightly scoring'")
    create.add_argument("--role", default="viewer", choices=["viewer", "editor", "owner"],
                        help="viewer (read, score; the default), editor (also upload, train, save) or owner")
    create.add_argument("--days", type=core._positive_int, default=None, metavar="N",
                        help="expires after N days (default: never, until revoked)")
    create.add_argument("--user", metavar="NAME", help="the account the token acts as (needed as the local user)")
    create.add_argument("--workspace", type=core._positive_int, default=None, metavar="ID",
                        help="the workspace the token is for (default: the default workspace)")
    create.set_defaults(handler=cmd_create)
    listed = actions.add_parser("list", help="the workspace's tokens: name, prefix, role, created, last used, "
                                             "expires, state")
    listed.add_argument("--workspace", type=core._positive_int, default=None, metavar="ID")
    listed.set_defaults(handler=cmd_list)
    revoke = actions.add_parser("revoke", help="revoke a token by its id (its owner or a workspace owner)")
    revoke.add_argument("id", type=core._positive_int, metavar="ID")
    revoke.add_argument("--workspace", type=core._positive_int, default=None, metavar="ID")
    revoke.set_defaults(handler=cmd_revoke)


def _when(moment: Any, empty: str) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment is not None else empty


def cmd_create(args: argparse.Namespace) -> int:
    from studio import tokens
    from studio.cli_actor import actor as _actor
    from studio.workspace import current_store, prepare_store

    store = current_store()
    prepare_store(store)
    made = tokens.create_token(store, _actor(args), args.name, args.role, days=args.days, owner=args.user)
    info = made.info
    print(f"created API token #{info.id} '{info.name}' for {info.owner}: {info.role} in workspace "
          f"#{info.workspace_id}, expires {_when(info.expires_at, 'never')} (UTC). It is shown this once; keep it "
          "secret (PIPELINE_STUDIO_TOKEN, or 'Authorization: Bearer <token>' for a scoring service):")
    print(made.token)
    return core.EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    from studio import tokens
    from studio.cli_actor import actor as _actor
    from studio.cli_actor import table as _table
    from studio.workspace import current_store, prepare_store

    store = current_store()
    prepare_store(store)
    found = tokens.list_tokens(store, _actor(args))
    if not found:
        print("no API tokens in this workspace yet")
        return core.EXIT_OK
    print(_table([{"id": t.id, "name": t.name, "prefix": f"{t.prefix}…", "owner": t.owner, "role": t.role,
                   "created": _when(t.created_at, "-"), "last used": _when(t.last_used_at, "never"),
                   "expires": _when(t.expires_at, "never"), "state": t.state()} for t in found]))
    return core.EXIT_OK


def cmd_revoke(args: argparse.Namespace) -> int:
    from studio import tokens
    from studio.cli_actor import actor as _actor
    from studio.workspace import current_store, prepare_store

    store = current_store()
    prepare_store(store)
    info = tokens.revoke_token(store, _actor(args), args.id)
    print(f"API token #{info.id} '{info.name}' ({info.prefix}…) is revoked; the services refuse it from now on")
    return core.EXIT_OK
