"""The prediction log per minute (issue 17, the Monitor's first draw): rows, requests and request latencies per
(pipeline, minute, version, shadow or served), kept by the log's writer from now on.

The table is filled here from the existing log in one SQL statement, so a database upgraded with a big log draws
the same traffic as before at once; nothing in the log changes. Rows of no pipeline (a model outside the registry)
are not summarised, as the Monitor never shows them. A latency is written as text that reads back to the same
double (SQLite: ``printf('%!.17g')``, whose plain CAST keeps only 15 digits; PostgreSQL 12+: its shortest exact
text). The writer's own code is ``storage.prediction_minutes``; this revision keeps its own copy of the grouping
so that later changes there cannot change what this upgrade did.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

NO_VERSION = -1

SQLITE_MINUTE = "CAST(strftime('%s', substr(logged_at, 1, 16)) AS BIGINT)"
SQLITE_LATENCIES = "group_concat(CASE WHEN row_id = 0 THEN printf('%!.17g', latency_ms) END, ',')"
POSTGRES_MINUTE = "CAST(floor(extract(epoch FROM logged_at) / 60) * 60 AS BIGINT)"
POSTGRES_LATENCIES = "string_agg(CASE WHEN row_id = 0 THEN CAST(latency_ms AS TEXT) END, ',')"


def upgrade() -> None:
    op.create_table(
        "prediction_minutes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("pipeline_id", sa.Integer(), sa.ForeignKey("pipelines.id", ondelete="CASCADE"), nullable=False),
        sa.Column("minute", sa.BigInteger(), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=False),
        sa.Column("shadow", sa.Boolean(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("latencies", sa.String(), nullable=False),
        sa.UniqueConstraint("pipeline_id", "minute", "model_version", "shadow", name="uq_prediction_minutes_key"),
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    minute, latencies = (SQLITE_MINUTE, SQLITE_LATENCIES) if sqlite else (POSTGRES_MINUTE, POSTGRES_LATENCIES)
    op.execute(
        "INSERT INTO prediction_minutes (pipeline_id, minute, model_version, shadow, rows, requests, latencies) "
        f"SELECT pipeline_id, {minute}, COALESCE(model_version, {NO_VERSION}), source = 'shadow', COUNT(*), "
        f"SUM(CASE WHEN row_id = 0 THEN 1 ELSE 0 END), COALESCE({latencies}, '') "
        "FROM prediction_logs WHERE pipeline_id IS NOT NULL "
        f"GROUP BY pipeline_id, {minute}, COALESCE(model_version, {NO_VERSION}), source = 'shadow'"
    )


def downgrade() -> None:
    op.drop_table("prediction_minutes")
