"""Drafts (issue 15 point 1): the working pipeline of a browser tab, saved on every edit under a random token
the page keeps in its address, so a refresh, a second tab or a server restart loses nothing.

Existing databases get an empty table; drafts begin with the first edit after the upgrade.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "drafts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token", sa.String(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), sa.ForeignKey("datasets.id", ondelete="SET NULL"), nullable=True),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_drafts_token", "drafts", ["token"], unique=True)
    op.create_index("ix_drafts_dataset_id", "drafts", ["dataset_id"])


def downgrade() -> None:
    op.drop_table("drafts")
