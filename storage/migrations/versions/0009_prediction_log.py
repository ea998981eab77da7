"""Prediction log and ground truth (issue 17 points 1-2): every scored row, and true outcomes joined to them later.

Existing databases get two empty tables.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prediction_logs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("logged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("pipeline_id", sa.Integer(), sa.ForeignKey("pipelines.id", ondelete="CASCADE"), nullable=True),
        sa.Column("model_version", sa.Integer(), nullable=True),
        sa.Column("model_sha256", sa.String(), nullable=False),
        sa.Column("request_id", sa.String(), nullable=False),
        sa.Column("row_id", sa.Integer(), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=True),
        sa.Column("prediction", sa.JSON(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
    )
    op.create_index("ix_prediction_logs_request_row", "prediction_logs", ["request_id", "row_id"])
    op.create_index("ix_prediction_logs_pipeline_time", "prediction_logs", ["pipeline_id", "logged_at"])
    op.create_index("ix_prediction_logs_logged_at", "prediction_logs", ["logged_at"])
    op.create_table(
        "ground_truths",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("request_id", sa.String(), nullable=False),
        sa.Column("row_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("request_id", "row_id", name="uq_ground_truths_request_row"),
    )
    op.create_index("ix_ground_truths_received_at", "ground_truths", ["received_at"])


def downgrade() -> None:
    op.drop_table("ground_truths")
    op.drop_table("prediction_logs")
