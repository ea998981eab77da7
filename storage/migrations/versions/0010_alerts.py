"""Alerts (issue 17 point 3): the quality rules each logged row broke, and the thresholds set per pipeline.

Rows logged before this revision have no recorded violations (null, read as none); existing databases get an
empty ``alert_thresholds`` table.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("prediction_logs") as batch:
        batch.add_column(sa.Column("violations", sa.JSON(), nullable=True))
    op.create_table(
        "alert_thresholds",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("pipeline_id", sa.Integer(), sa.ForeignKey("pipelines.id", ondelete="CASCADE"), nullable=False),
        sa.Column("thresholds", sa.JSON(), nullable=False),
        sa.Column("updated_by", sa.String(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("pipeline_id", name="uq_alert_thresholds_pipeline_id"),
    )


def downgrade() -> None:
    op.drop_table("alert_thresholds")
    with op.batch_alter_table("prediction_logs") as batch:
        batch.drop_column("violations")
