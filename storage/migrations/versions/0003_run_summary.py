"""Runs store a typed summary: the ``timings`` column, which had long held far more than timings
(metric, task, hold-out scores, report, provenance), is renamed ``summary``. Its data is kept as is.

Revision ID: 0003
Revises: 0002
Create Date: 2025-01-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _rename(old: str, new: str) -> None:
    # batch mode: SQLite before 3.25 cannot rename a column in place, so the table is copied, rows and all
    with op.batch_alter_table("runs") as batch:
        batch.alter_column(old, new_column_name=new, existing_type=sa.JSON(), existing_nullable=False)


def upgrade() -> None:
    _rename("timings", "summary")


def downgrade() -> None:
    _rename("summary", "timings")
