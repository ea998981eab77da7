"""Alembic migrations, run programmatically by :func:`storage.db.upgrade` (no alembic.ini needed)."""
