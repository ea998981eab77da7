"""The model registry (issue 16 point 1): numbered model versions per pipeline with a stage, and their history.

``registered_models`` holds version N of a pipeline's registry: one run's saved model with its lineage (run,
definition version, data hash) and metrics; a partial unique index allows one ``production`` version per
pipeline in the database itself. ``model_stage_changes`` records every move between stages (who, when, why),
which the registry shows and rollback reads. Existing databases get two empty tables.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ONE_PRODUCTION_WHERE = sa.text("stage = 'production'")


def _fk(table: str, ondelete: str) -> sa.ForeignKey:
    return sa.ForeignKey(f"{table}.id", ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        "registered_models",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("pipeline_id", sa.Integer(), _fk("pipelines", "CASCADE"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("artifact_id", sa.Integer(), _fk("model_artifacts", "RESTRICT"), nullable=False),
        sa.Column("run_id", sa.Integer(), _fk("runs", "RESTRICT"), nullable=False),
        sa.Column("pipeline_version_id", sa.Integer(), _fk("pipeline_versions", "CASCADE"), nullable=False),
        sa.Column("data_sha256", sa.String(), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("stage", sa.String(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("note", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("pipeline_id", "version", name="uq_registered_models_pipeline_id_version"),
        sa.UniqueConstraint("pipeline_id", "artifact_id", name="uq_registered_models_pipeline_id_artifact_id"),
    )
    for column in ("pipeline_id", "artifact_id", "run_id", "pipeline_version_id", "stage"):
        op.create_index(f"ix_registered_models_{column}", "registered_models", [column])
    op.create_index("uq_registered_models_one_production", "registered_models", ["pipeline_id"], unique=True,
                    sqlite_where=ONE_PRODUCTION_WHERE, postgresql_where=ONE_PRODUCTION_WHERE)
    op.create_table(
        "model_stage_changes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("pipeline_id", sa.Integer(), _fk("pipelines", "CASCADE"), nullable=False),
        sa.Column("registered_model_id", sa.Integer(), _fk("registered_models", "CASCADE"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("from_stage", sa.String(), nullable=True),
        sa.Column("to_stage", sa.String(), nullable=False),
        sa.Column("changed_by", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("rollback", sa.Boolean(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    )
    for column in ("pipeline_id", "registered_model_id"):
        op.create_index(f"ix_model_stage_changes_{column}", "model_stage_changes", [column])


def downgrade() -> None:
    op.drop_table("model_stage_changes")
    op.drop_table("registered_models")
