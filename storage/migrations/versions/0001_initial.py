"""Initial schema: datasets, pipelines, pipeline versions, runs (no progress yet), model artifacts.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TABLES = ("model_artifacts", "runs", "pipeline_versions", "pipelines", "datasets")


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer(), primary_key=True)


def _created_at() -> sa.Column:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False)


def _text(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.String(), nullable=nullable)


def _create_datasets() -> None:
    op.create_table(
        "datasets",
        _id(),
        *(_text(name) for name in ("name", "file_name", "format")),
        sa.Column("n_rows", sa.BigInteger(), nullable=False),
        sa.Column("n_columns", sa.Integer(), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        *(_text(name) for name in ("sha256", "parquet_path", "parquet_sha256")),
        sa.Column("parquet_size", sa.BigInteger(), nullable=False),
        _created_at(),
    )
    op.create_index("ix_datasets_sha256", "datasets", ["sha256"], unique=True)


def _create_pipelines() -> None:
    op.create_table("pipelines", _id(), _text("name"), _created_at())
    op.create_index("ix_pipelines_name", "pipelines", ["name"], unique=True)
    op.create_table(
        "pipeline_versions",
        _id(),
        sa.Column("pipeline_id", sa.Integer(), sa.ForeignKey("pipelines.id", ondelete="CASCADE"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        _text("definition_sha256"),
        _text("note"),
        _created_at(),
        sa.UniqueConstraint("pipeline_id", "version", name="uq_pipeline_versions_pipeline_id_version"),
    )
    op.create_index("ix_pipeline_versions_pipeline_id", "pipeline_versions", ["pipeline_id"])
    op.create_index("ix_pipeline_versions_definition_sha256", "pipeline_versions", ["definition_sha256"])


def _create_runs() -> None:
    version_fk = sa.ForeignKey("pipeline_versions.id", ondelete="SET NULL")
    op.create_table(
        "runs",
        _id(),
        sa.Column("pipeline_version_id", sa.Integer(), version_fk, nullable=True),
        sa.Column("dataset_id", sa.Integer(), sa.ForeignKey("datasets.id", ondelete="SET NULL"), nullable=True),
        _text("status"),
        _text("error", nullable=True),
        _text("failed_model", nullable=True),
        sa.Column("leaderboard", sa.JSON(), nullable=False),
        sa.Column("timings", sa.JSON(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=True),
        sa.Column("library_versions", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        _created_at(),
    )
    for column in ("pipeline_version_id", "dataset_id", "status"):
        op.create_index(f"ix_runs_{column}", "runs", [column])


def _create_model_artifacts() -> None:
    op.create_table(
        "model_artifacts",
        _id(),
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        *(_text(name) for name in ("model_name", "format", "path")),
        sa.Column("size", sa.BigInteger(), nullable=False),
        _text("sha256"),
        _created_at(),
    )
    op.create_index("ix_model_artifacts_run_id", "model_artifacts", ["run_id"])
    op.create_index("ix_model_artifacts_sha256", "model_artifacts", ["sha256"])


def upgrade() -> None:
    _create_datasets()
    _create_pipelines()
    _create_runs()
    _create_model_artifacts()


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table)
