"""Alembic environment: runs on the connection that :func:`storage.db.upgrade` passes in.

The caller has already begun the transaction (``BEGIN IMMEDIATE`` on SQLite), so two
processes starting at once run the migrations one after the other; on PostgreSQL an
advisory lock does the same. Offline (SQL script) mode is not supported.
"""

from alembic import context
from sqlalchemy import text
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables for autogenerate)

PG_MIGRATION_LOCK = 7_325_901

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Run migrations through storage.db.upgrade(), which passes a connection.")

context.configure(connection=connection, target_metadata=SQLModel.metadata, transactional_ddl=True)
with context.begin_transaction():
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_MIGRATION_LOCK})
    context.run_migrations()
