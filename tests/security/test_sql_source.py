"""The SQL query source reads only what an administrator allowed, read-only, within time and memory (issue 14.2).

Before this, ``sqlite:///…`` opened any file on the server: the app's own ``studio.db``, another
application's database, a file-existence oracle through the error text, ``pragma_database_list`` (server
paths), ``fts3_tokenizer`` (a native pointer); a recursive CTE ran forever and ``randomblob`` grew to 2 GB.
Each test builds real SQLite files in ``tmp_path`` and goes through the settings (environment variables)
and ``studio.datasets.import_query`` as the Data page does, or ``read_sql_query`` with an explicit policy.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pandas as pd
import pytest

from storage.errors import StorageError
from storage.sql_source import NOT_ENABLED, REFUSED, SqlPolicy, check_read_only, read_sql_query, resolve_source
from studio.datasets import import_query, load_table
from studio.roles import Actor
from studio.settings import SettingsError, load_settings, settings
from tests.apptest import store_frame

LOCAL = Actor.local()  # the one user of a studio without sign-in, owner of the default workspace

DEADLINE = 60  # seconds: generous for a loaded machine; the queries are stopped after well under a second


def make_db(path: Path, rows: int = 3) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE customers (id INTEGER, name TEXT, secret TEXT)")
        connection.executemany("INSERT INTO customers VALUES (?, ?, ?)",
                               [(i, f"name {i}", "hash") for i in range(rows)])
    connection.close()
    return path


@pytest.fixture
def allowed(studio: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder the administrator allows (``PIPELINE_STUDIO_SQL_DIRS``) holding ``shop.db``."""
    folder = tmp_path / "allowed"
    make_db(folder / "shop.db")
    monkeypatch.setenv("PIPELINE_STUDIO_SQL_DIRS", str(folder))
    return folder


def refusal(url: str, query: str = "SELECT * FROM customers") -> str:
    with pytest.raises(StorageError) as caught:
        import_query(LOCAL, url, query, "x")
    return str(caught.value)


def test_nothing_is_allowed_until_the_administrator_allows_it(studio, tmp_path):
    path = make_db(tmp_path / "shop.db")
    assert not settings().sql_policy().enabled
    assert refusal(f"sqlite:///{path}") == NOT_ENABLED


def test_an_allowed_sqlite_file_is_read_and_stored(allowed):
    dataset = import_query(LOCAL, f"sqlite:///{allowed / 'shop.db'}",
                           "SELECT id, name FROM customers -- all of them", "c")
    assert (dataset.format, dataset.n_rows, dataset.n_columns) == ("sql", 3, 2)


def test_the_apps_own_database_is_refused_even_inside_an_allowed_folder(studio, store, tmp_path, monkeypatch):
    store_frame(store, storage_frame(), "private")
    own = studio / "studio.db"
    assert own.is_file()
    monkeypatch.setenv("PIPELINE_STUDIO_SQL_DIRS", str(tmp_path))  # a folder that holds the home
    assert refusal(f"sqlite:///{own}", "SELECT * FROM dataset") == REFUSED
    monkeypatch.setenv("PIPELINE_STUDIO_SQL_SOURCES", f"sqlite:///{own}")  # even listed by name
    assert refusal(f"sqlite:///{own}", "SELECT * FROM dataset") == REFUSED


def test_a_link_to_the_apps_database_from_an_allowed_folder_is_refused(studio, store, allowed):
    store_frame(store, storage_frame(), "private")
    (allowed / "symlink.db").symlink_to(studio / "studio.db")
    os.link(studio / "studio.db", allowed / "hardlink.db")
    assert refusal(f"sqlite:///{allowed / 'symlink.db'}", "SELECT * FROM dataset") == REFUSED
    assert refusal(f"sqlite:///{allowed / 'hardlink.db'}", "SELECT * FROM dataset") == REFUSED


def test_a_file_outside_the_allowed_folders_gets_the_same_message_as_a_missing_one(allowed, tmp_path):
    other = make_db(tmp_path / "other_app" / "users.db")
    messages = {
        refusal(f"sqlite:///{other}"),
        refusal(f"sqlite:///{tmp_path / 'other_app' / 'missing.db'}"),
        refusal(f"sqlite:///{allowed / 'missing.db'}"),
        refusal(f"sqlite:///{allowed}"),  # a folder
        refusal("sqlite:////etc/passwd"),
        refusal("sqlite://"),  # in memory
        refusal("not a url"),
    }
    assert messages == {REFUSED}
    assert str(tmp_path) not in REFUSED


def test_dot_dot_and_symlinks_cannot_leave_an_allowed_folder(allowed, tmp_path):
    other = make_db(tmp_path / "other_app" / "users.db")
    (allowed / "escape.db").symlink_to(other)
    (allowed / "sub").symlink_to(other.parent, target_is_directory=True)
    for url in (f"sqlite:///{allowed}/../other_app/users.db", f"sqlite:///{allowed}/escape.db",
                f"sqlite:///{allowed}/sub/users.db"):
        assert refusal(url) == REFUSED, url


@pytest.mark.parametrize(("query", "named"), [
    ("SELECT * FROM pragma_database_list", "pragma_database_list"),
    ("SELECT file FROM pragma_database_list()", "pragma_database_list"),
    ("SELECT hex(fts3_tokenizer('simple'))", "fts3_tokenizer()"),
    ("SELECT load_extension('/tmp/evil.so')", "load_extension()"),
    ("SELECT sqlite_compileoption_get(0)", "sqlite_compileoption_get()"),
    ("WITH t AS (SELECT 1) SELECT * FROM pragma_table_info('customers')", "pragma_table_info"),
])
def test_functions_and_pragmas_that_reach_the_server_are_refused(allowed, query, named):
    message = refusal(f"sqlite:///{allowed / 'shop.db'}", query)
    assert "not allowed here" in message and named in message
    assert str(allowed) not in message


@pytest.mark.parametrize("query", [
    "ATTACH DATABASE '/tmp/x.db' AS x",
    "PRAGMA database_list",
    "SELECT 1; ATTACH DATABASE '/tmp/x.db' AS x",
    "VACUUM INTO '/tmp/copy.db'",
])
def test_attach_and_pragma_statements_are_refused(allowed, query):
    message = refusal(f"sqlite:///{allowed / 'shop.db'}", query)
    assert "Only read queries" in message or "single SQL statement" in message


def test_the_authorizer_refuses_attach_even_if_a_statement_got_past_the_text_check(allowed):
    from storage.sql_source import _sqlite_authorizer

    denied: list[str] = []
    connection = sqlite3.connect(":memory:")
    connection.set_authorizer(_sqlite_authorizer(denied))
    with pytest.raises(sqlite3.DatabaseError, match="not authorized"):
        connection.execute(f"ATTACH DATABASE '{allowed / 'shop.db'}' AS other")
    connection.close()
    assert denied == ["ATTACH"]


def test_a_recursive_cte_that_never_ends_is_stopped_at_the_timeout(allowed, monkeypatch):
    monkeypatch.setenv("PIPELINE_STUDIO_SQL_TIMEOUT_S", "0.5")
    started = time.monotonic()
    message = refusal(f"sqlite:///{allowed / 'shop.db'}",
                      "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT max(n) FROM r")
    assert "stopped after 0.5 s" in message
    assert time.monotonic() - started < DEADLINE


def test_a_result_that_keeps_streaming_is_stopped_at_the_timeout(allowed, monkeypatch):
    monkeypatch.setenv("PIPELINE_STUDIO_SQL_TIMEOUT_S", "0.5")
    message = refusal(f"sqlite:///{allowed / 'shop.db'}",
                      "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT n FROM r")
    assert "stopped after 0.5 s" in message or "more than" in message


def test_one_huge_blob_is_refused_at_the_byte_budget(allowed, monkeypatch):
    monkeypatch.setenv("PIPELINE_STUDIO_MEMORY_BUDGET_MB", "10")
    message = refusal(f"sqlite:///{allowed / 'shop.db'}", "SELECT randomblob(2000000000) AS b")
    assert "larger than the 10 MB" in message
    message = refusal(f"sqlite:///{allowed / 'shop.db'}", "SELECT zeroblob(200000000) AS b")
    assert "larger than the 10 MB" in message


def test_many_modest_rows_are_stopped_at_the_byte_budget_and_the_row_budget(allowed, monkeypatch):
    url = f"sqlite:///{allowed / 'shop.db'}"
    rows = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r LIMIT 100000) "
    monkeypatch.setenv("PIPELINE_STUDIO_MEMORY_BUDGET_MB", "10")
    assert "larger than the 10 MB" in refusal(url, rows + "SELECT n, randomblob(1000) AS b FROM r")
    monkeypatch.setenv("PIPELINE_STUDIO_SQL_MAX_ROWS", "500")
    assert "more than 500 rows" in refusal(url, rows + "SELECT n FROM r")


def test_comment_stripping_keeps_quoted_text_intact(allowed):
    assert check_read_only("SELECT 'a--b' AS x -- a comment\n;") == "SELECT 'a--b' AS x"
    assert check_read_only("/* lead */ SELECT \"a/*b\" FROM t; ") == "SELECT \"a/*b\" FROM t"
    assert check_read_only("SELECT 'it''s;--' AS x") == "SELECT 'it''s;--' AS x"
    assert check_read_only("SELECT $q$ -- ; $q$ AS x") == "SELECT $q$ -- ; $q$ AS x"
    with pytest.raises(StorageError, match="single SQL statement"):
        check_read_only("SELECT 'a;b'; DELETE FROM t")
    with pytest.raises(StorageError, match="never closed"):
        check_read_only("SELECT 'a--b")
    dataset = import_query(LOCAL, f"sqlite:///{allowed / 'shop.db'}", "SELECT 'a--b' AS x, 'c;d' AS y -- note", "q")
    assert load_table(LOCAL, dataset).iloc[0].tolist() == ["a--b", "c;d"]


def test_only_listed_database_urls_are_used_with_the_administrators_password():
    policy = SqlPolicy(sources=("postgresql+psycopg://reader:s3cret@db.internal:5432/shop",))
    chosen = resolve_source("postgresql+psycopg://reader@db.internal:5432/shop", policy)
    assert chosen.password == "s3cret"
    assert policy.shown_sources() == ["postgresql+psycopg://reader:***@db.internal:5432/shop"]
    for url in ("postgresql+psycopg://reader@db.internal:5432/other", "postgresql+psycopg://reader@evil/shop",
                "postgresql+psycopg://reader@db.internal:5432/shop?options=-c%20x%3D1"):
        with pytest.raises(StorageError) as caught:
            read_sql_query(url, "SELECT 1", policy=policy)
        assert str(caught.value) == REFUSED


def test_the_apps_own_server_database_is_refused_even_if_listed(studio, monkeypatch):
    own = "postgresql+psycopg://studio:pw@db.internal/studio"
    monkeypatch.setenv("DATABASE_URL", own)
    monkeypatch.setenv("PIPELINE_STUDIO_SQL_SOURCES", own)
    with pytest.raises(StorageError) as caught:
        resolve_source("postgresql+psycopg://studio@db.internal/studio", settings().sql_policy())
    assert str(caught.value) == REFUSED


def test_the_allow_lists_read_json_or_commas_and_never_echo_a_password(monkeypatch, tmp_path):
    monkeypatch.setenv("PIPELINE_STUDIO_SQL_SOURCES", "postgresql://a:pw1@h/one, mysql+pymysql://b@h/two")
    monkeypatch.setenv("PIPELINE_STUDIO_SQL_DIRS", f'["{tmp_path}", "{tmp_path / "b,c"}"]')
    loaded = load_settings()
    assert loaded.sql_sources == ("postgresql://a:pw1@h/one", "mysql+pymysql://b@h/two")
    assert loaded.sql_dirs == (tmp_path, tmp_path / "b,c")
    assert "pw1" not in repr(loaded) and "pw1" not in repr(loaded.sql_policy())
    monkeypatch.setenv("PIPELINE_STUDIO_SQL_SOURCES", '["postgresql://a:pw2@h/one", "no url at all"]')
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "PIPELINE_STUDIO_SQL_SOURCES" in str(caught.value) and "entry 2" in str(caught.value)
    assert "pw2" not in str(caught.value)


def storage_frame() -> pd.DataFrame:
    return pd.DataFrame({"user": ["ann", "bob"], "password_hash": ["x1", "x2"]})


def test_the_server_path_streams_rows_within_the_budgets(tmp_path):
    """What PostgreSQL and MySQL go through (SQLAlchemy, a rolled-back transaction, streamed batches), run on
    SQLite through SQLAlchemy so it is exercised without a server."""
    from sqlalchemy import make_url

    from storage.sql_source import _read_server

    url = make_url(f"sqlite:///{make_db(tmp_path / 'server.db', rows=2_500)}")
    frame = _read_server(url, "SELECT id, name FROM customers", SqlPolicy(sources=(str(url),)))
    assert frame.shape == (2_500, 2) and list(frame.columns) == ["id", "name"]
    with pytest.raises(StorageError, match="more than 1,000 rows"):
        _read_server(url, "SELECT id FROM customers", SqlPolicy(sources=(str(url),), max_rows=1_000))
    with pytest.raises(StorageError, match="larger than the"):
        _read_server(url, "SELECT * FROM customers", SqlPolicy(sources=(str(url),), max_bytes=100_000))


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="set TEST_DATABASE_URL to a PostgreSQL database")
def test_postgres_queries_are_stopped_by_the_server_at_the_timeout_and_cannot_write():
    url = os.environ["TEST_DATABASE_URL"]
    policy = SqlPolicy(sources=(url,), timeout_seconds=0.5)
    started = time.monotonic()
    with pytest.raises(StorageError, match="stopped after 0.5 s"):
        read_sql_query(url, "SELECT pg_sleep(30) IS NULL AS slept", policy=policy)
    assert time.monotonic() - started < DEADLINE
    with pytest.raises(StorageError, match="larger than the"):
        read_sql_query(url, "SELECT repeat('x', 1000) AS s FROM generate_series(1, 100000)",
                       policy=SqlPolicy(sources=(url,), max_bytes=1_000_000))
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE SEQUENCE IF NOT EXISTS sql_source_probe"))
    try:
        with pytest.raises(StorageError, match="read-only transaction"):
            read_sql_query(url, "SELECT nextval('sql_source_probe') AS n", policy=policy)
    finally:
        with engine.begin() as connection:
            connection.execute(text("DROP SEQUENCE sql_source_probe"))
        engine.dispose()
    assert read_sql_query(url, "SELECT 1 AS one", policy=policy)["one"].tolist() == [1]
