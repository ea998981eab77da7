"""Runs report progress: fraction done, a message, and when it was last updated.

Existing runs get progress 0 and an empty message.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("progress", sa.Float(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("progress_message", sa.String(), nullable=False, server_default=""))
        batch.add_column(sa.Column("progress_updated_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("progress_updated_at")
        batch.drop_column("progress_message")
        batch.drop_column("progress")
