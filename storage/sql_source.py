"""Load a table with one read-only query, only from databases an administrator allowed.

The Data page lets a user type a URL and a ``SELECT``. A red-team pass (issue 14 point 2) showed that
accepting any URL let a user read the app's own ``studio.db``, another application's database on the same
server, probe which files exist through the error messages, list server paths with
``pragma_database_list``, leak a native pointer with ``fts3_tokenizer`` and hang or exhaust the server with
a recursive CTE or ``randomblob``. So, in order:

* the database must be on the administrator's allow-list (:class:`SqlPolicy`, built from the settings by the
  application layer: storage never reads them), or a SQLite file inside an allowed folder after symlinks and
  ``..`` are resolved; the app's own store never is. Every refusal is the same sentence, :data:`REFUSED`,
  whether or not the file exists, so the form is no oracle for the server's files;
* the statement is one ``SELECT``/``WITH``/``VALUES`` (comments stripped by a quoting-aware scanner, so a
  ``--`` inside a string stays text);
* SQLite is opened read-only (``mode=ro``) by :mod:`sqlite3` itself, with an authorizer that allows reading
  and a fixed list of pure functions only (no PRAGMA, ATTACH, ``load_extension``, ``fts3_tokenizer``…),
  no attached databases and strings/blobs capped at the byte budget;
* a statement timeout (SQLite: a progress handler with a monotonic deadline; PostgreSQL
  ``statement_timeout``; MySQL ``MAX_EXECUTION_TIME``) and a row and byte budget while fetching: a query
  that goes past either is stopped and refused with a message saying which limit it hit.

Other errors are :class:`StorageError` messages with the password hidden.
"""

from __future__ import annotations

import os
import re
import sqlite3
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Connection, create_engine, make_url
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from storage.errors import StorageError

MAX_ROWS = 1_000_000
MAX_BYTES = 1 << 30
TIMEOUT_SECONDS = 30.0
FETCH_BATCH = 1_000
PROGRESS_STEPS = 10_000  # SQLite VM instructions between deadline checks (well under a millisecond)
_READ_ONLY_START = ("select", "with", "values")
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$")

REFUSED = (
    "This database is not available for SQL queries: use one of the database URLs the administrator allows, "
    "or sqlite:////absolute/path/file.db for an existing SQLite file inside an allowed folder."
)
NOT_ENABLED = (
    "The administrator has not enabled SQL sources on this server "
    "(PIPELINE_STUDIO_SQL_SOURCES or PIPELINE_STUDIO_SQL_DIRS)."
)

# Pure functions a SQLite query may call: everything else (load_extension, fts3_tokenizer, sqlite_* system
# functions, functions added by extensions) is denied by the authorizer, so a new SQLite version's additions
# stay off until someone reads what they do.
_SAFE_FUNCTION_NAMES = """
    abs char coalesce concat concat_ws format glob hex ifnull iif instr length like likelihood likely lower ltrim
    max min nullif octet_length printf quote random randomblob replace round rtrim sign soundex substr substring
    trim typeof unhex unicode unlikely upper zeroblob
    avg count group_concat string_agg sum total
    row_number rank dense_rank percent_rank cume_dist ntile lag lead first_value last_value nth_value
    date time datetime julianday unixepoch strftime timediff
    acos acosh asin asinh atan atan2 atanh ceil ceiling cos cosh degrees exp floor ln log log10 log2 mod pi pow
    power radians sin sinh sqrt tan tanh trunc
    json json_array json_array_length json_error_position json_extract json_group_array json_group_object
    json_insert json_object json_patch json_pretty json_quote json_remove json_replace json_set json_type
    json_valid jsonb jsonb_array jsonb_extract jsonb_group_array jsonb_group_object jsonb_insert jsonb_object
    jsonb_patch jsonb_remove jsonb_replace jsonb_set
    bm25 highlight snippet matchinfo offsets
"""
SAFE_SQLITE_FUNCTIONS = frozenset(_SAFE_FUNCTION_NAMES.split())
# Eponymous virtual tables that expose the server rather than the data: pragma_* (paths, settings),
# sqlite_dbpage (raw pages), sqlite_stmt, dbstat, fts3tokenize (the tokenizer pointer), the CLI's fsdir/zipfile.
_DENIED_TABLES = frozenset({"sqlite_dbpage", "sqlite_stmt", "dbstat", "fts3tokenize", "fsdir", "zipfile"})
_SQLITE_RECURSIVE = getattr(sqlite3, "SQLITE_RECURSIVE", 33)


@dataclass(frozen=True)
class SqlPolicy:
    """What the administrator allows: the only way this module is told which databases a user may query.

    ``sources`` are full database URLs (with their passwords: the user picks one by its URL without the
    password, so the credentials stay on the server); ``sqlite_dirs`` are folders whose SQLite files may be
    queried; ``protected_paths`` (the app's home and database file) and ``protected_urls`` (the app's own
    database URL) are refused even when listed. The default allows nothing.
    """

    sources: tuple[str, ...] = field(default=(), repr=False)
    sqlite_dirs: tuple[Path, ...] = ()
    protected_paths: tuple[Path, ...] = ()
    protected_urls: tuple[str, ...] = field(default=(), repr=False)
    timeout_seconds: float = TIMEOUT_SECONDS
    max_rows: int = MAX_ROWS
    max_bytes: int = MAX_BYTES

    @property
    def enabled(self) -> bool:
        return bool(self.sources or self.sqlite_dirs)

    def shown_sources(self) -> list[str]:
        """The allowed URLs as a user may see and type them: passwords hidden."""
        shown = []
        for source in self.sources:
            try:
                shown.append(make_url(source).render_as_string(hide_password=True))
            except ArgumentError:
                continue
        return shown


def read_sql_query(url: str, query: str, *, policy: SqlPolicy) -> pd.DataFrame:
    """Run ``query`` against ``url`` if the policy allows that database; refuse anything but a bounded read."""
    if not policy.enabled:
        raise StorageError(NOT_ENABLED)
    source = resolve_source(url, policy)
    statement = check_read_only(query)
    if isinstance(source, Path):
        return _read_sqlite(source, statement, policy)
    return _read_server(source, statement, policy)


def resolve_source(url: str, policy: SqlPolicy) -> Path | URL:
    """The SQLite file (resolved) or the administrator's own URL that ``url`` names, or :data:`REFUSED`.

    Every refusal is the same exception text, raised before anything on the server is opened, so neither a
    missing file nor a forbidden one can be told apart from a URL that is not on the list.
    """
    try:
        parsed = make_url((url or "").strip())
    except ArgumentError:
        raise StorageError(REFUSED) from None
    if parsed.get_backend_name() == "sqlite":
        path = _allowed_sqlite_file(parsed, policy)
        if path is None:
            raise StorageError(REFUSED)
        return path
    wanted = _without_password(parsed)
    if any(_same_url(wanted, protected) for protected in policy.protected_urls):
        raise StorageError(REFUSED)
    for source in policy.sources:
        if _same_url(wanted, source) and _backend(source) != "sqlite":
            return make_url(source)
    raise StorageError(REFUSED)


def check_read_only(query: str) -> str:
    """The query without comments and trailing ';', if it is one SELECT/WITH/VALUES statement."""
    text, found = _strip_comments(query or "")
    lead = len(text) - len(text.lstrip())
    statement = text.strip()
    separators = {position - lead for position in found}
    while statement.endswith(";") and len(statement) - 1 in separators:
        statement = statement[:-1].rstrip()
    if not statement:
        raise StorageError("Type a SQL query, for example: SELECT * FROM customers")
    if any(position < len(statement) for position in separators):
        raise StorageError("Give a single SQL statement: the query contains ';' in the middle.")
    if not statement.lower().startswith(_READ_ONLY_START):
        raise StorageError("Only read queries are allowed here: start the query with SELECT or WITH.")
    return statement


def _strip_comments(query: str) -> tuple[str, set[int]]:
    """``query`` with comments turned into spaces, and where its ';' outside quotes are in the result.

    A regular expression cannot tell ``--`` in ``'a--b'`` from a comment; this scanner skips quoted
    strings and identifiers ('…', "…", `…`, […], PostgreSQL $tag$…$tag$, doubled quotes as escapes) whole.
    """
    out: list[str] = []
    length = 0
    separators: set[int] = set()
    i, n = 0, len(query)
    while i < n:
        char = query[i]
        if char in "'\"`[":
            end = _closing_quote(query, i)
        elif char == "$" and (i == 0 or not (query[i - 1].isalnum() or query[i - 1] == "_")) and (
                tag := _DOLLAR_TAG.match(query, i)):
            close = query.find(tag.group(), tag.end())
            if close < 0:
                raise StorageError("The query has a $-quoted string that is never closed.")
            end = close + len(tag.group())
        elif query.startswith("--", i):
            newline = query.find("\n", i)
            i = n if newline < 0 else newline
            out.append(" ")
            length += 1
            continue
        elif query.startswith("/*", i):
            close = query.find("*/", i + 2)
            i = n if close < 0 else close + 2
            out.append(" ")
            length += 1
            continue
        else:
            if char == ";":
                separators.add(length)
            end = i + 1
        out.append(query[i:end])
        length += end - i
        i = end
    return "".join(out), separators


def _closing_quote(query: str, start: int) -> int:
    """The index just past the quote that closes the one at ``start`` (a doubled quote is an escaped one)."""
    close = "]" if query[start] == "[" else query[start]
    i = start + 1
    while True:
        found = query.find(close, i)
        if found < 0:
            raise StorageError(f"The query has a {query[start]} that is never closed.")
        if close != "]" and query.startswith(close * 2, found):
            i = found + 2
            continue
        return found + 1


# ---- which database ---------------------------------------------------------------------------------------


def _backend(url: str) -> str:
    try:
        return make_url(url).get_backend_name()
    except ArgumentError:
        return ""


def _without_password(url: URL | str) -> tuple[Any, ...] | None:
    """Everything that names the database but the password (``URL.set(password=None)`` keeps it)."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except ArgumentError:
        return None
    return (parsed.drivername, parsed.username, parsed.host, parsed.port, parsed.database, parsed.query)


def _same_url(wanted: tuple[Any, ...] | None, other: str) -> bool:
    return wanted is not None and wanted == _without_password(other)


def _allowed_sqlite_file(parsed: URL, policy: SqlPolicy) -> Path | None:
    """The real path of an existing SQLite file the policy allows, or None (never saying which check failed)."""
    database = parsed.database or ""
    if not database or database == ":memory:" or database.startswith("file:") or parsed.query:
        return None
    path = _real(database)
    listed = {_real(make_url(s).database or "") for s in policy.sources if _backend(s) == "sqlite"}
    inside = path in listed or any(path.is_relative_to(_real(d)) for d in policy.sqlite_dirs)
    if not inside or _is_protected(path, policy) or not path.is_file():
        return None
    return path


def _real(path: str | Path) -> Path:
    """Absolute, with every symlink and ``..`` resolved: what the check and the open both see."""
    return Path(os.path.realpath(os.path.expanduser(str(path))))


def _is_protected(path: Path, policy: SqlPolicy) -> bool:
    """Inside the app's home, or the app's database file under another name (a hard link or a symlink)."""
    for protected in policy.protected_paths:
        real = _real(protected)
        if path == real or path.is_relative_to(real):
            return True
        try:
            if real.is_file() and path.exists() and os.path.samefile(path, real):
                return True
        except OSError:
            return True
    return False


# ---- SQLite -------------------------------------------------------------------------------------------------


def _read_sqlite(path: Path, statement: str, policy: SqlPolicy) -> pd.DataFrame:
    """Read through :mod:`sqlite3` directly: read-only file, authorizer, length limit, deadline, budgets."""
    deadline = time.monotonic() + policy.timeout_seconds
    try:
        connection = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, check_same_thread=False)
    except sqlite3.Error:
        raise StorageError(REFUSED) from None
    denied: list[str] = []
    try:
        limit = connection.getlimit(sqlite3.SQLITE_LIMIT_LENGTH)
        connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, max(1, min(limit, policy.max_bytes)))
        connection.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
        connection.set_authorizer(_sqlite_authorizer(denied))
        connection.set_progress_handler(lambda: int(time.monotonic() > deadline), PROGRESS_STEPS)
        cursor = connection.execute(statement)
        if cursor.description is None:
            raise StorageError("The query returns no rows; write a SELECT that returns a table.")
        columns = [d[0] for d in cursor.description]
        rows = _fetch_within(cursor.fetchmany, policy, deadline)
    except sqlite3.Error as e:
        raise _sqlite_failure(e, denied, policy) from None
    finally:
        connection.close()
    return pd.DataFrame.from_records(rows, columns=columns)


def _sqlite_authorizer(denied: list[str]) -> Callable[[int, str | None, str | None, str | None, str | None], int]:
    """Allow reading tables and views and calling :data:`SAFE_SQLITE_FUNCTIONS`; deny every other action.

    SQLite asks before compiling each table read, function call and PRAGMA, so what a query may touch is
    decided here rather than by guessing from its text. Reading ``sqlite_master`` while SQLite loads the
    schema is its own bookkeeping and allowed (the file is read-only in any case).
    """

    def authorize(action: int, arg1: str | None, arg2: str | None, _db: str | None, _source: str | None) -> int:
        if action in (sqlite3.SQLITE_SELECT, _SQLITE_RECURSIVE):
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_READ:
            table = (arg1 or "").lower()
            if table.startswith("pragma_") or table in _DENIED_TABLES:
                denied.append(arg1 or "")
                return sqlite3.SQLITE_DENY
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_FUNCTION:
            if (arg2 or "").lower() in SAFE_SQLITE_FUNCTIONS:
                return sqlite3.SQLITE_OK
            denied.append(f"{arg2}()")
            return sqlite3.SQLITE_DENY
        if action == sqlite3.SQLITE_UPDATE and (arg1 or "").lower() in ("sqlite_master", "sqlite_temp_master"):
            return sqlite3.SQLITE_OK
        denied.append({sqlite3.SQLITE_PRAGMA: "PRAGMA", sqlite3.SQLITE_ATTACH: "ATTACH"}.get(action, "a write"))
        return sqlite3.SQLITE_DENY

    return authorize


def _sqlite_failure(error: sqlite3.Error, denied: list[str], policy: SqlPolicy) -> StorageError:
    text = str(error)
    if denied or "not authorized" in text:
        what = denied[0] if denied else "something"
        return StorageError(
            f"The query uses {what}, which is not allowed here: only reading tables and views with ordinary "
            "functions is (no PRAGMA, ATTACH, extensions or system functions)."
        )
    if text == "interrupted":
        return _timeout_error(policy)
    if "too big" in text:
        return _bytes_error(policy)
    if "unable to open" in text or "not a database" in text:
        return StorageError(REFUSED)
    return StorageError(f"The query failed: {text}")


# ---- server databases (PostgreSQL, MySQL, …) ---------------------------------------------------------------


def _read_server(url: URL, statement: str, policy: SqlPolicy) -> pd.DataFrame:
    shown = url.render_as_string(hide_password=True)
    deadline = time.monotonic() + policy.timeout_seconds
    try:
        engine = create_engine(url, poolclass=NullPool)
    except (NoSuchModuleError, ImportError) as e:
        raise StorageError(
            f"No database driver for '{url.drivername}' is installed; install it (for example psycopg for "
            f"PostgreSQL or pymysql for MySQL) or use another URL. Details: {e}"
        ) from e
    try:
        with engine.connect() as connection:
            columns, rows = _fetch(connection, statement, policy, deadline)
    except SQLAlchemyError as e:
        detail = getattr(e, "orig", None) or e
        if getattr(detail, "sqlstate", None) == "57014" or "execution time" in str(detail).lower():
            raise _timeout_error(policy) from None
        first_line = (str(detail).strip().splitlines() or [""])[0]  # PostgreSQL adds the LINE/caret lines
        raise StorageError(f"The query failed on {shown}: {first_line}") from e
    finally:
        engine.dispose()
    return pd.DataFrame.from_records(rows, columns=columns)


def _fetch(connection: Connection, statement: str, policy: SqlPolicy,
           deadline: float) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run the statement in a transaction that is always rolled back, with the server enforcing the timeout."""
    milliseconds = max(1, int(policy.timeout_seconds * 1000))
    with connection.begin() as transaction:
        dialect = connection.dialect.name
        if dialect == "postgresql":
            connection.exec_driver_sql("SET TRANSACTION READ ONLY")
            connection.exec_driver_sql(f"SET LOCAL statement_timeout = {milliseconds}")
        elif dialect == "mysql":
            # SET does not open a transaction in MySQL, so READ ONLY applies to the one the query opens.
            connection.exec_driver_sql("SET TRANSACTION READ ONLY")
            if getattr(connection.dialect, "is_mariadb", False):
                connection.exec_driver_sql(f"SET SESSION max_statement_time = {milliseconds / 1000:.3f}")
            else:
                connection.exec_driver_sql(f"SET SESSION MAX_EXECUTION_TIME = {milliseconds}")
        # stream_results: rows arrive in batches (a server-side cursor where the driver has one), so the
        # budgets stop a huge result before it is all in memory. Raw SQL: no ':name' bind parsing of user text.
        result = connection.execution_options(stream_results=True, max_row_buffer=FETCH_BATCH).exec_driver_sql(
            statement)
        if not result.returns_rows:
            transaction.rollback()
            raise StorageError("The query returns no rows; write a SELECT that returns a table.")
        columns = list(result.keys())
        try:
            rows = _fetch_within(result.fetchmany, policy, deadline)
        finally:
            result.close()
            transaction.rollback()
    return columns, rows


# ---- budgets ------------------------------------------------------------------------------------------------


def _fetch_within(fetchmany: Callable[[int], Sequence[Any]], policy: SqlPolicy,
                  deadline: float) -> list[tuple[Any, ...]]:
    """Fetch in batches, counting rows and bytes as they come, and stop at the first limit passed."""
    rows: list[tuple[Any, ...]] = []
    size = 0
    while batch := fetchmany(FETCH_BATCH):
        for row in batch:
            size += _row_bytes(row)
            rows.append(tuple(row))
            if size > policy.max_bytes:
                raise _bytes_error(policy)
        if len(rows) > policy.max_rows:
            raise StorageError(
                f"The query returns more than {policy.max_rows:,} rows; add a WHERE clause or LIMIT to load a "
                "smaller table."
            )
        if time.monotonic() > deadline:
            raise _timeout_error(policy)
    return rows


def _row_bytes(row: Sequence[Any]) -> int:
    """What a fetched row costs in memory (the values and the tuple holding them)."""
    return sys.getsizeof(row) + sum(sys.getsizeof(value) for value in row)


def _timeout_error(policy: SqlPolicy) -> StorageError:
    return StorageError(
        f"The query was stopped after {policy.timeout_seconds:g} s, the time limit for a query; make it "
        "simpler or ask for fewer rows."
    )


def _bytes_error(policy: SqlPolicy) -> StorageError:
    return StorageError(
        f"The query's result is larger than the {policy.max_bytes / 2**20:,.0f} MB a query may load; select "
        "fewer columns or rows."
    )
