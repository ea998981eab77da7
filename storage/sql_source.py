"""Load a table from any SQLAlchemy database URL with one read-only query.

The Data page lets a user type a URL and a ``SELECT``; this module keeps that use
read-only: one statement, ``SELECT``/``WITH`` only, run inside a transaction that is
always rolled back (and marked read-only where the database supports it), with a row
cap. Errors are :class:`StorageError` messages with the password hidden.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Connection, create_engine, make_url
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from storage.errors import StorageError

MAX_ROWS = 1_000_000
FETCH_BATCH = 10_000
_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)
_READ_ONLY_START = ("select", "with", "values")


def read_sql_query(url: str, query: str, *, max_rows: int = MAX_ROWS) -> pd.DataFrame:
    """Run ``query`` against ``url`` and return its rows; refuse anything but a single read."""
    parsed = _parse_url(url)
    statement = check_read_only(query)
    shown = parsed.render_as_string(hide_password=True)
    try:
        engine = create_engine(parsed, **_engine_options(parsed))
    except (NoSuchModuleError, ImportError) as e:
        raise StorageError(
            f"No database driver for '{parsed.drivername}' is installed; install it (for example psycopg for "
            f"PostgreSQL or pymysql for MySQL) or use another URL. Details: {e}"
        ) from e
    try:
        with engine.connect() as connection:
            return _fetch(connection, statement, max_rows)
    except SQLAlchemyError as e:
        detail = getattr(e, "orig", None) or e
        raise StorageError(f"The query failed on {shown}: {detail}") from e
    finally:
        engine.dispose()


def check_read_only(query: str) -> str:
    """The query without comments and trailing ';', if it is one SELECT/WITH/VALUES statement."""
    statement = _COMMENTS.sub(" ", query or "").strip().rstrip(";").strip()
    if not statement:
        raise StorageError("Type a SQL query, for example: SELECT * FROM customers")
    if ";" in statement:
        raise StorageError("Give a single SQL statement: the query contains ';' in the middle.")
    if not statement.lower().startswith(_READ_ONLY_START):
        raise StorageError("Only read queries are allowed here: start the query with SELECT or WITH.")
    return statement


def _parse_url(url: str) -> URL:
    try:
        parsed = make_url((url or "").strip())
    except ArgumentError as e:
        raise StorageError(
            "The database URL is not valid; write it as dialect+driver://user:password@host/database, "
            "for example postgresql+psycopg://me@localhost/shop or sqlite:///path/to/file.db"
        ) from e
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:") or not Path(database).expanduser().is_file():
            raise StorageError(f"The SQLite file '{database}' does not exist; give the path of an existing database.")
    return parsed


def _engine_options(parsed: URL) -> dict[str, Any]:
    if parsed.get_backend_name() == "sqlite":
        # Opening the file read-only means no statement can change it, whatever the query says.
        path = Path(parsed.database or "").expanduser().resolve()
        return {"creator": lambda: _sqlite_read_only(path)}
    return {"pool_pre_ping": True}


def _sqlite_read_only(path: Path) -> Any:
    import sqlite3

    return sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, check_same_thread=False)


def _fetch(connection: Connection, statement: str, max_rows: int) -> pd.DataFrame:
    with connection.begin() as transaction:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SET TRANSACTION READ ONLY")
        result = connection.exec_driver_sql(statement)  # raw: no ':name' bind-parameter parsing of user text
        if not result.returns_rows:
            transaction.rollback()
            raise StorageError("The query returns no rows; write a SELECT that returns a table.")
        columns = list(result.keys())
        rows: list[Any] = []
        while len(rows) <= max_rows and (batch := result.fetchmany(FETCH_BATCH)):
            rows.extend(batch)
        transaction.rollback()
    if len(rows) > max_rows:
        raise StorageError(
            f"The query returns more than {max_rows:,} rows; add a WHERE clause or LIMIT to load a smaller table."
        )
    return pd.DataFrame.from_records([tuple(r) for r in rows], columns=columns)
