"""Runs record who submitted them (a browser session, a CLI or service caller), so one submitter's queued and
running jobs can be counted and capped (issue 14 point 8: one session queued jobs for hours and everyone waited).

Existing runs get none (null): they count against no one.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("owner", sa.String(), nullable=True))
        batch.create_index("ix_runs_owner", ["owner"])


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_index("ix_runs_owner")
        batch.drop_column("owner")
