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
    limits = actions.add_parser("limits", help="show or set an account's limits: jobs queued or running at once, and "
                                               "bytes of datasets and model files it may hold",
                                description="With no option, shows the account's usage and limits. 'default' "
                                            "returns a limit to the server's (PIPELINE_STUDIO_MAX_JOBS_PER_USER, "
                                            "PIPELINE_STUDIO_MAX_STORAGE_PER_USER).")
    limits.add_argument("name", metavar="NAME")
    limits.add_argument("--jobs", type=_job_limit, metavar="N|default",
                        help="jobs (trainings, searches, retrains) queued or running at once")
    limits.add_argument("--storage", type=_storage_limit, metavar="SIZE|default",
                        help="bytes of files it may hold, e.g. 2GB, 500MB")
    limits.set_defaults(handler=cmd_limits)


def _job_limit(text: str) -> int | str:
    if text == "default":
        return text
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a job limit is a whole number of at least 1, or 'default' (got {text!r})")
    return int(text)


def _storage_limit(text: str) -> int | str:
    from storage.limits import parse_size

    if text == "default":
        return text
    try:
        return parse_size(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


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


def cmd_limits(args: argparse.Namespace) -> int:
    from studio import limits
    from studio.roles import Actor

    def change(store: Any) -> str:
        if args.jobs is None and args.storage is None:
            used = limits.account_usage(store, Actor.local(), args.name)
        else:
            used = limits.set_limits(store, Actor.local(), args.name, jobs=args.jobs, storage_bytes=args.storage)
        own = {"jobs": used.limits.own_jobs, "storage": used.limits.own_storage}
        if all(own.values()):
            whose = "both set for this account"
        elif any(own.values()):
            whose = " and ".join(f"{what} {'set for this account' if mine else 'the server default'}"
                                 for what, mine in own.items())
        else:
            whose = "the server defaults"
        return f"{used.name}: {used.sentence()} ({whose})"

    return _account_change(change)
