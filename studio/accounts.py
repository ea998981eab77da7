"""Built-in accounts (issue 19 point 1): create one, sign in with a lockout, keep a session, sign out.

Passwords are hashed with argon2id (``argon2-cffi``'s defaults, RFC 9106's low-memory profile: 64 MiB, 3 passes),
salted per account; the password itself is never stored or logged. A session is a random token the browser
keeps; the database keeps only its SHA-256 (a token has 256 random bits, so a fast hash is enough) and an
expiry, so a copy of the database signs nobody in and an old token stops working on its own.

Every function takes the store and, where time matters, ``now`` (default: the clock), so tests move time
instead of sleeping. Sign-in answers with a :class:`SignInResult` whose ``reason`` is one line for the user;
a wrong name and a wrong password get the same words, and cost the same argon2 check, so the form does not
tell which names exist. A locked account says until when: its owner needs to know, and it holds no secret.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

import storage
from pipeline_core.errors import StudioError
from storage import Store
from studio.audit_log import EventKind, record_account_event
from studio.settings import Settings

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024  # argon2 takes any length; a megabyte "password" would only cost us memory
MAX_NAME_LENGTH = 64
WRONG_CREDENTIALS = "wrong name or password"


class AccountError(StudioError):
    """An account cannot be created as asked (a taken or unusable name, a password too short)."""


@dataclass(frozen=True)
class Account:
    """Who is signed in: what pages and the CLI may know of an account (never its hash)."""

    id: int
    name: str
    is_admin: bool


@dataclass(frozen=True)
class SignInPolicy:
    """How many wrong passwords lock an account, for how long, and how long a sign-in lasts."""

    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=15)
    session_lifetime: timedelta = timedelta(hours=12)

    @classmethod
    def from_settings(cls, config: Settings) -> SignInPolicy:
        return cls(max_failures=config.max_sign_in_failures, lockout=timedelta(minutes=config.lockout_minutes),
                   session_lifetime=timedelta(hours=config.session_hours))


class SignInOutcome(StrEnum):
    SIGNED_IN = "signed_in"
    WRONG_CREDENTIALS = "wrong_credentials"
    LOCKED = "locked"


@dataclass(frozen=True)
class SessionToken:
    """The token to hand to the browser (once; only its hash is stored) and when it stops working."""

    token: str
    expires_at: datetime


@dataclass(frozen=True)
class SignInResult:
    """``account`` is set only when ``outcome`` is ``SIGNED_IN`` (and ``session`` when :func:`sign_in` started
    one); ``reason`` is the line to show otherwise."""

    outcome: SignInOutcome
    account: Account | None = None
    reason: str = ""
    locked_until: datetime | None = None
    session: SessionToken | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is SignInOutcome.SIGNED_IN


def _hasher() -> PasswordHasher:
    return PasswordHasher()


@cache
def _decoy_hash() -> str:
    """A hash to check unknown names against, so they cost as much as known ones (no name oracle by timing)."""
    return _hasher().hash(secrets.token_urlsafe(16))


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


def _account(row: storage.User) -> Account:
    assert row.id is not None
    return Account(id=row.id, name=row.name, is_admin=row.is_admin)


def check_new_password(password: str) -> None:
    """Raise :class:`AccountError` for a password too short or too long to accept."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters long")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"the password must be at most {MAX_PASSWORD_LENGTH} characters long")


def create_user(store: Store, name: str, password: str, *, admin: bool = False) -> Account:
    """A new account named ``name`` (trimmed; letters, digits and ``. _ - @``) with an argon2 hash of ``password``.

    The first administrator becomes owner of the default workspace, which holds what was made before sign-in was
    configured (issue 19 point 6); later accounts see nothing until an owner invites them."""
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH or not all(c.isalnum() or c in "._-@" for c in name):
        raise AccountError(f"an account name is 1 to {MAX_NAME_LENGTH} letters, digits or . _ - @ (got {name!r})")
    check_new_password(password)
    account = _account(storage.add_user(store, name=name, password_hash=_hasher().hash(password), is_admin=admin))
    if admin:
        storage.adopt_default_workspace(store, account.id)
    return account


@dataclass(frozen=True)
class AccountStatus:
    """An account as ``users list`` shows it: never its hash."""

    name: str
    is_admin: bool
    locked_until: datetime | None  # set only while the lock lasts
    created_at: datetime


def list_accounts(store: Store, *, now: datetime | None = None) -> list[AccountStatus]:
    now = _now(now)
    return [AccountStatus(name=row.name, is_admin=row.is_admin, created_at=row.created_at,
                          locked_until=row.locked_until if row.locked_until and row.locked_until > now else None)
            for row in storage.list_users(store)]


def set_password(store: Store, name: str, password: str) -> Account:
    """Give ``name`` a new password: unlocks the account and signs out all its sessions (a reset after a leak)."""
    check_new_password(password)
    row = storage.get_user_by_name(store, name.strip())
    if row is None or row.id is None:
        raise AccountError(f"there is no account named {name.strip()!r}")
    if row.oidc_subject is not None:  # a password would open a second door its provider knows nothing of
        raise AccountError(f"'{row.name}' signs in through single sign-on and has no password here")
    return _account(storage.replace_password_hash(store, row.id, password_hash=_hasher().hash(password)))


def has_admin(store: Store) -> bool:
    """Whether an administrator exists (the app asks for one to be created from the command line until then)."""
    return storage.count_users(store, admins_only=True) > 0


def authenticate(store: Store, name: str, password: str, *, policy: SignInPolicy,
                 now: datetime | None = None) -> SignInResult:
    """Check a name and password. A wrong password counts toward the lockout; a locked account is refused
    without checking its password until the lock's end, after which it starts again with a clean count.

    Every attempt goes in the audit log: a sign-in under the account, a refusal under the name typed (never the
    password) with its reason."""
    result = _authenticate(store, name, password, policy=policy, now=now)
    if result.account is not None:
        record_account_event(store, result.account.name, result.account.id, EventKind.SIGN_IN)
    else:
        known = storage.get_user_by_name(store, name.strip())
        record_account_event(store, name.strip() or "(no name)", known.id if known else None,
                             EventKind.SIGN_IN_REFUSED, result.reason)
    return result


def _authenticate(store: Store, name: str, password: str, *, policy: SignInPolicy,
                  now: datetime | None = None) -> SignInResult:
    now = _now(now)
    if len(password) > MAX_PASSWORD_LENGTH:  # no account has one so long: refused before any hashing
        return SignInResult(SignInOutcome.WRONG_CREDENTIALS, reason=WRONG_CREDENTIALS)
    row = storage.get_user_by_name(store, name.strip())
    if row is not None and row.locked_until is not None and row.locked_until > now:
        return _locked(row.locked_until)
    hasher = _hasher()
    try:
        hasher.verify(row.password_hash if row is not None else _decoy_hash(), password)
    except (VerificationError, InvalidHashError):
        if row is None or row.id is None:
            return SignInResult(SignInOutcome.WRONG_CREDENTIALS, reason=WRONG_CREDENTIALS)
        counted = storage.record_failed_sign_in(store, row.id, now=now, max_failures=policy.max_failures,
                                                lockout=policy.lockout)
        if counted.locked_until is not None and counted.locked_until > now:
            return _locked(counted.locked_until)
        return SignInResult(SignInOutcome.WRONG_CREDENTIALS, reason=WRONG_CREDENTIALS)
    if row is None or row.id is None:  # the decoy matched a guess of its random password: still nobody
        return SignInResult(SignInOutcome.WRONG_CREDENTIALS, reason=WRONG_CREDENTIALS)
    rehashed = hasher.hash(password) if hasher.check_needs_rehash(row.password_hash) else None
    return SignInResult(SignInOutcome.SIGNED_IN,
                        account=_account(storage.record_sign_in(store, row.id, password_hash=rehashed)))


def _locked(until: datetime) -> SignInResult:
    return SignInResult(SignInOutcome.LOCKED, locked_until=until,
                        reason=f"too many wrong passwords: this account is locked until {until:%H:%M} UTC")


def start_session(store: Store, account: Account, *, policy: SignInPolicy, now: datetime | None = None) -> SessionToken:
    """A new session for ``account``, valid for the policy's lifetime; the token is returned once, never stored."""
    now = _now(now)
    token = secrets.token_urlsafe(32)
    expires_at = now + policy.session_lifetime
    storage.add_user_session(store, user_id=account.id, token_sha256=token_sha256(token), expires_at=expires_at,
                             now=now)
    return SessionToken(token=token, expires_at=expires_at)


def sign_in(store: Store, name: str, password: str, *, policy: SignInPolicy,
            now: datetime | None = None) -> SignInResult:
    """The sign-in form's one call: :func:`authenticate`, then :func:`start_session` when it succeeds."""
    now = _now(now)
    result = authenticate(store, name, password, policy=policy, now=now)
    if result.account is None:
        return result
    return replace(result, session=start_session(store, result.account, policy=policy, now=now))


def current_user(store: Store, token: str | None, *, now: datetime | None = None) -> Account | None:
    """The account a token signs in, or ``None`` for no token, an unknown, ended or expired one."""
    if not isinstance(token, str) or not token:
        return None
    row = storage.session_user(store, token_sha256(token), now=_now(now))
    return _account(row) if row is not None else None


def end_session(store: Store, token: str) -> bool:
    """Sign a token out (its row is deleted); ``False`` if it was not signed in."""
    return storage.delete_user_session(store, token_sha256(token))


# ---- single sign-on ---------------------------------------------------------------------------------------------

SSO_FALLBACK_NAME = "sso-user"


@dataclass(frozen=True)
class Identity:
    """Who an OpenID Connect provider says signed in: its issuer and subject (the identity), and what to call them."""

    issuer: str
    subject: str
    email: str | None = None
    name: str | None = None


def display_name(identity: Identity) -> str:
    """An account name for a new identity: its e-mail address (what colleagues know it by), else its name, else its
    subject, with any character an account name may not hold replaced by ``-``; at most :data:`MAX_NAME_LENGTH`."""
    for source in (identity.email, identity.name, identity.subject):
        text = (source or "").strip().lower()
        cleaned = "".join(c if c.isalnum() or c in "._-@" else "-" for c in text).strip("-")[:MAX_NAME_LENGTH - 4]
        if cleaned:
            return cleaned
    return SSO_FALLBACK_NAME


def sso_account(store: Store, identity: Identity, *, signing_in: bool = False) -> Account:
    """The account of a single sign-on identity, made at its first sign-in (issue 19 point 1).

    ``signing_in``: the caller is a browser session meeting this identity for the first time, so the audit log gets
    a sign-in (the page calls this on every script run; only that first one is a sign-in).

    Keyed by the provider's issuer and subject, never by e-mail or name: a provider's user cannot take over a built-in
    account (or another issuer's user) by claiming its name; a taken name gets a suffix. A new account is not an
    administrator and belongs to no workspace: like a new built-in account it sees nobody's work until invited.
    """
    issuer, subject = identity.issuer.strip(), identity.subject.strip()
    if not issuer or not subject:
        raise AccountError("the single sign-on provider did not say who signed in (no issuer or subject)")
    row = storage.get_user_by_identity(store, issuer=issuer, subject=subject)
    if row is None:
        row = storage.add_identity_user(store, issuer=issuer, subject=subject, name=display_name(identity))
    account = _account(row)
    if signing_in:
        record_account_event(store, account.name, account.id, EventKind.SIGN_IN, f"single sign-on ({issuer})")
    return account
