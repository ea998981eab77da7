"""``python -m studio users add-admin NAME``: the first administrator, made on the server's command line.

There is no default password and no sign-up page: whoever can run commands as the server's user is already
trusted with its data, so that is where the first account comes from. The password is asked twice at a
terminal (never echoed) or read as the first line of standard input, for scripts (``… < secret-file``); it is
never a command-line argument, which other users of the machine can see.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from pipeline_core import cli as core


def add_users(commands: Any) -> None:
    users = commands.add_parser("users", help="built-in accounts for sign-in (PIPELINE_STUDIO_AUTH=accounts)",
                                description="Accounts of the studio of PIPELINE_STUDIO_HOME / DATABASE_URL.")
    actions = users.add_subparsers(dest="action", required=True, metavar="ACTION")
    admin = actions.add_parser("add-admin", help="create an administrator; the password is asked for (twice) at a "
                                                 "terminal, or read from the first line of standard input")
    admin.add_argument("name", metavar="NAME", help="the account's name: letters, digits or . _ - @")
    admin.set_defaults(handler=cmd_add_admin)


def _password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise ValueError("the two passwords differ; nothing was created")
    return first


def cmd_add_admin(args: argparse.Namespace) -> int:
    from studio import accounts
    from studio.errors import FAILURES
    from studio.workspace import current_store, prepare_store

    store = current_store()
    try:
        prepare_store(store)
        password = _password()
        account = accounts.create_user(store, args.name, password, admin=True)
    except (ValueError, *FAILURES) as e:
        return core._fail(str(e), core.EXIT_USAGE)
    print(f"created administrator '{account.name}'; set PIPELINE_STUDIO_AUTH=accounts for the app to ask for sign-in")
    return core.EXIT_OK
