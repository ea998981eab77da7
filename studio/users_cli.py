"""``python -m studio users …``: accounts are made and repaired on the server's command line.

There is no default password and no sign-up page: whoever can run commands as the server's user is already
trusted with its data, so that is where the first administrator comes from (``add-admin``), and where an
account is added, listed, or given a new password (which also unlocks it and signs out its sessions). A
password is asked twice at a terminal (never echoed) or read as the first line of standard input, for scripts
(``… < secret-file``); it is never a command-line argument, which other users of the machine can see.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from typing import Any

from pipeline_core import cli as core


def add_users(commands: Any) -> None:
    users = commands.add_parser("users", help="built-in accounts for sign-in (PIPELINE_STUDIO_AUTH=accounts)",
                                description="Accounts of the studio of PIPELINE_STUDIO_HOME / DATABASE_URL.")
    actions = users.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, admin, text in (("add-admin", True, "create an administrator"), ("add", False, "create an account")):
        command = actions.add_parser(action, help=f"{text}; the password is asked for (twice) at a terminal, or "
                                                  "read from the first line of standard input")
        command.add_argument("name", metavar="NAME", help="the account's name: letters, digits or . _ - @")
        command.set_defaults(handler=cmd_add, admin=admin)
    password = actions.add_parser("set-password", help="give an account a new password (asked for, or read from "
                                                       "standard input); unlocks it and signs out its sessions")
    password.add_argument("name", metavar="NAME")
    password.set_defaults(handler=cmd_set_password)
    listed = actions.add_parser("list", help="every account: name, admin, locked until")
    listed.set_defaults(handler=cmd_list)


def _password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise ValueError("the two passwords differ; nothing was changed")
    return first


def _account_change(change: Callable[[Any], str]) -> int:
    """Open the studio, run ``change(store)`` and print its line; a refusal is one ``error:`` line and status 2."""
    from studio.errors import FAILURES
    from studio.workspace import current_store, prepare_store

    store = current_store()
    try:
        prepare_store(store)
        print(change(store))
    except (ValueError, *FAILURES) as e:
        return core._fail(str(e), core.EXIT_USAGE)
    return core.EXIT_OK


def cmd_add(args: argparse.Namespace) -> int:
    from studio import accounts

    def add(store: Any) -> str:
        account = accounts.create_user(store, args.name, _password(), admin=args.admin)
        kind = "administrator" if account.is_admin else "account"
        return f"created {kind} '{account.name}'; set PIPELINE_STUDIO_AUTH=accounts for the app to ask for sign-in"

    return _account_change(add)


def cmd_set_password(args: argparse.Namespace) -> int:
    from studio import accounts

    def reset(store: Any) -> str:
        account = accounts.set_password(store, args.name, _password())
        return f"new password for '{account.name}'; it is unlocked and its sessions are signed out"

    return _account_change(reset)


def cmd_list(args: argparse.Namespace) -> int:
    from studio import accounts
    from studio.workspace import current_store, prepare_store

    store = current_store()
    prepare_store(store)
    for status in accounts.list_accounts(store):
        role = "admin" if status.is_admin else "user"
        lock = f"locked until {status.locked_until:%Y-%m-%d %H:%M} UTC" if status.locked_until else "active"
        print(f"{status.name}\t{role}\t{lock}\tcreated {status.created_at:%Y-%m-%d}")
    return core.EXIT_OK
