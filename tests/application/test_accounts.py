"""Built-in accounts (issue 19 point 1): argon2 hashes, lockout, expiring sessions, the admin command.

Real SQLite files, real argon2; time moves by passing ``now``, never by sleeping.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher

import storage
from studio import accounts
from studio.accounts import AccountError, SignInOutcome, SignInPolicy

PASSWORD = "correct horse battery"
POLICY = SignInPolicy(max_failures=3, lockout=timedelta(minutes=15), session_lifetime=timedelta(hours=12))
T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[2]


def _rows(studio: Path, query: str) -> list[tuple]:
    with sqlite3.connect(studio / "studio.db") as connection:
        return connection.execute(query).fetchall()


def test_only_an_argon2id_hash_is_stored_never_the_password(store, studio):
    accounts.create_user(store, "alice", PASSWORD, admin=True)
    [(name, stored, is_admin)] = _rows(studio, "SELECT name, password_hash, is_admin FROM users")
    assert (name, is_admin) == ("alice", 1)
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert PasswordHasher().verify(stored, PASSWORD)
    for path in studio.glob("studio.db*"):  # the database and its write-ahead log
        assert PASSWORD.encode() not in path.read_bytes()


def test_a_short_password_a_bad_name_or_a_taken_name_is_refused(store):
    with pytest.raises(AccountError, match="at least 10 characters"):
        accounts.create_user(store, "bob", "short")
    with pytest.raises(AccountError, match="letters, digits"):
        accounts.create_user(store, "bob smith", PASSWORD)
    accounts.create_user(store, "bob", PASSWORD)
    with pytest.raises(storage.StorageError, match="already an account named 'bob'"):
        accounts.create_user(store, " bob ", PASSWORD)


def test_the_right_password_signs_in_and_a_wrong_one_or_name_gets_the_same_words(store):
    accounts.create_user(store, "alice", PASSWORD)
    result = accounts.authenticate(store, "alice", PASSWORD, policy=POLICY, now=T0)
    assert result.ok and result.account is not None and result.account.name == "alice"
    wrong = accounts.authenticate(store, "alice", "not the password", policy=POLICY, now=T0)
    nobody = accounts.authenticate(store, "mallory", PASSWORD, policy=POLICY, now=T0)
    assert wrong.outcome is nobody.outcome is SignInOutcome.WRONG_CREDENTIALS
    assert wrong.reason == nobody.reason == "wrong name or password" and wrong.account is None


def test_repeated_wrong_passwords_lock_the_account_until_the_period_passes(store, studio):
    accounts.create_user(store, "alice", PASSWORD)
    for attempt in range(POLICY.max_failures - 1):
        assert accounts.authenticate(store, "alice", f"guess {attempt}", policy=POLICY, now=T0).outcome \
            is SignInOutcome.WRONG_CREDENTIALS
    assert _rows(studio, "SELECT failed_sign_ins FROM users") == [(POLICY.max_failures - 1,)]
    locking = accounts.authenticate(store, "alice", "last guess", policy=POLICY, now=T0)
    assert locking.outcome is SignInOutcome.LOCKED and locking.locked_until == T0 + POLICY.lockout
    assert "locked until 09:15 UTC" in locking.reason

    just_before = T0 + POLICY.lockout - timedelta(seconds=1)
    refused = accounts.authenticate(store, "alice", PASSWORD, policy=POLICY, now=just_before)  # even the right one
    assert refused.outcome is SignInOutcome.LOCKED and refused.account is None

    after = T0 + POLICY.lockout
    assert accounts.authenticate(store, "alice", PASSWORD, policy=POLICY, now=after).ok
    assert _rows(studio, "SELECT failed_sign_ins, locked_until FROM users") == [(0, None)]


def test_a_success_clears_the_count_so_only_failures_in_a_row_lock(store):
    accounts.create_user(store, "alice", PASSWORD)
    for _ in range(3):
        for _ in range(POLICY.max_failures - 1):
            accounts.authenticate(store, "alice", "a guess", policy=POLICY, now=T0)
        assert accounts.authenticate(store, "alice", PASSWORD, policy=POLICY, now=T0).ok


def test_a_session_signs_in_until_it_expires_or_ends(store, studio):
    accounts.create_user(store, "alice", PASSWORD)
    result = accounts.sign_in(store, "alice", PASSWORD, policy=POLICY, now=T0)
    assert result.session is not None
    token = result.session.token
    assert result.session.expires_at == T0 + POLICY.session_lifetime
    [(stored,)] = _rows(studio, "SELECT token_sha256 FROM user_sessions")
    assert stored == accounts.token_sha256(token) and token not in stored  # the token itself is never stored

    assert accounts.current_user(store, token, now=T0 + timedelta(hours=11, minutes=59)).name == "alice"
    assert accounts.current_user(store, token, now=T0 + POLICY.session_lifetime) is None  # expired
    assert accounts.current_user(store, "made-up-token", now=T0) is None
    assert accounts.current_user(store, None, now=T0) is None

    again = accounts.sign_in(store, "alice", PASSWORD, policy=POLICY, now=T0).session
    assert again is not None and accounts.current_user(store, again.token, now=T0) is not None
    assert accounts.end_session(store, again.token)
    assert accounts.current_user(store, again.token, now=T0) is None
    assert not accounts.end_session(store, again.token)


def test_a_wrong_password_starts_no_session(store, studio):
    accounts.create_user(store, "alice", PASSWORD)
    assert accounts.sign_in(store, "alice", "wrong password!", policy=POLICY, now=T0).session is None
    assert _rows(studio, "SELECT count(*) FROM user_sessions") == [(0,)]


def test_the_admin_command_reads_the_password_from_stdin_and_never_has_a_default(studio):
    command = [sys.executable, "-m", "studio", "users", "add-admin"]
    made = subprocess.run([*command, "root"], input=PASSWORD + "\n", capture_output=True, text=True, cwd=REPO)
    assert made.returncode == 0, made.stderr
    assert "created administrator 'root'" in made.stdout
    short = subprocess.run([*command, "other"], input="", capture_output=True, text=True, cwd=REPO)
    assert short.returncode == 2
    assert short.stderr.strip() == "error: the password must be at least 10 characters long"
    taken = subprocess.run([*command, "root"], input=PASSWORD + "\n", capture_output=True, text=True, cwd=REPO)
    assert taken.returncode == 2 and "already an account named 'root'" in taken.stderr
    users = [sys.executable, "-m", "studio", "users"]
    reset = subprocess.run([*users, "set-password", "root"], input="another long passphrase\n", capture_output=True,
                           text=True, cwd=REPO)
    assert reset.returncode == 0 and "new password for 'root'" in reset.stdout, reset.stderr
    listed = subprocess.run([*users, "list"], capture_output=True, text=True, cwd=REPO)
    assert listed.returncode == 0 and listed.stdout.startswith("root\tadmin\tactive\t")
    [(name, is_admin, stored)] = _rows(studio, "SELECT name, is_admin, password_hash FROM users")
    assert (name, is_admin) == ("root", 1) and PasswordHasher().verify(stored, "another long passphrase")


def test_an_absurdly_long_password_is_refused_without_hashing_or_counting(store, studio):
    accounts.create_user(store, "alice", PASSWORD)
    result = accounts.authenticate(store, "alice", "x" * 10_000_000, policy=POLICY, now=T0)
    assert result.outcome is SignInOutcome.WRONG_CREDENTIALS
    assert _rows(studio, "SELECT failed_sign_ins FROM users") == [(0,)]


def test_a_new_password_unlocks_the_account_and_signs_out_its_sessions(store):
    accounts.create_user(store, "alice", PASSWORD)
    session = accounts.sign_in(store, "alice", PASSWORD, policy=POLICY, now=T0).session
    for _ in range(POLICY.max_failures):
        accounts.authenticate(store, "alice", "a guess", policy=POLICY, now=T0)
    [status] = accounts.list_accounts(store, now=T0)
    assert status.locked_until == T0 + POLICY.lockout and not status.is_admin

    accounts.set_password(store, "alice", "a brand new passphrase")
    assert accounts.current_user(store, session.token, now=T0) is None  # the old session is gone
    assert accounts.authenticate(store, "alice", "a brand new passphrase", policy=POLICY, now=T0).ok
    assert not accounts.authenticate(store, "alice", PASSWORD, policy=POLICY, now=T0).ok
    assert accounts.list_accounts(store, now=T0)[0].locked_until is None
    with pytest.raises(AccountError, match="no account named 'bob'"):
        accounts.set_password(store, "bob", "a brand new passphrase")
