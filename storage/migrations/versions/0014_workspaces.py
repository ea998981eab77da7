"""Workspaces and memberships (issue 19 points 2 and 6): every dataset, draft, pipeline and run names the workspace
it belongs to (what hangs off a pipeline or a run belongs to theirs), and accounts are members with a role.

Everything from before moves into one workspace, "Default" (id 1), owned by the first administrator when there is
one; with no accounts the local user owns it. No row is dropped or rewritten beyond its new column. Names were
unique across the database and now are unique per workspace (the same file uploaded in two workspaces is two
datasets over one stored file).

The new columns can hold NULL in the database: SQLite adds a column with a foreign key in place only then, and
rebuilding these tables would cascade-delete the rows that reference them. The application always sets them.
They have no ON DELETE action: a workspace that still holds anything cannot be deleted.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

DEFAULT_WORKSPACE_ID = 1
OWNED = ("datasets", "pipelines", "runs", "drafts")


def upgrade() -> None:
    op.create_table(
        "workspaces",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("name", name="uq_workspaces_name"),
    )
    op.create_table(
        "memberships",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("workspace_id", sa.Integer(), sa.ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("workspace_id", "user_id", name="uq_memberships_workspace_user"),
    )
    op.create_index("ix_memberships_workspace_id", "memberships", ["workspace_id"])
    op.create_index("ix_memberships_user_id", "memberships", ["user_id"])
    op.execute(sa.text("INSERT INTO workspaces (id, name, created_at) VALUES (:id, 'Default', CURRENT_TIMESTAMP)")
               .bindparams(id=DEFAULT_WORKSPACE_ID))
    op.execute(sa.text("INSERT INTO memberships (workspace_id, user_id, role, created_at) "
                       "SELECT :id, MIN(id), 'owner', CURRENT_TIMESTAMP FROM users WHERE is_admin "
                       "HAVING MIN(id) IS NOT NULL").bindparams(id=DEFAULT_WORKSPACE_ID))
    if op.get_bind().dialect.name == "postgresql":  # the id was given explicitly: move the sequence past it
        op.execute("SELECT setval(pg_get_serial_sequence('workspaces', 'id'), (SELECT MAX(id) FROM workspaces))")
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in OWNED:
        if sqlite:  # SQLite adds the column with its REFERENCES clause in place; Alembic would want a table copy
            op.execute(f"ALTER TABLE {table} ADD COLUMN workspace_id INTEGER "
                       "REFERENCES workspaces (id)")
        else:
            op.add_column(table, sa.Column("workspace_id", sa.Integer(), nullable=True))
            op.create_foreign_key(f"fk_{table}_workspace_id_workspaces", table, "workspaces", ["workspace_id"],
                                  ["id"])
        op.execute(sa.text(f"UPDATE {table} SET workspace_id = :id").bindparams(id=DEFAULT_WORKSPACE_ID))
        op.create_index(f"ix_{table}_workspace_id", table, ["workspace_id"])
    op.drop_index("ix_datasets_sha256", table_name="datasets")
    op.create_index("ix_datasets_sha256", "datasets", ["sha256"])
    op.create_index("uq_datasets_workspace_sha256", "datasets", ["workspace_id", "sha256"], unique=True)
    op.drop_index("ix_pipelines_name", table_name="pipelines")
    op.create_index("ix_pipelines_name", "pipelines", ["name"])
    op.create_index("uq_pipelines_workspace_name", "pipelines", ["workspace_id", "name"], unique=True)


def downgrade() -> None:
    """Back to one shared space: only possible while names are still unique across workspaces."""
    op.drop_index("uq_pipelines_workspace_name", table_name="pipelines")
    op.drop_index("ix_pipelines_name", table_name="pipelines")
    op.create_index("ix_pipelines_name", "pipelines", ["name"], unique=True)
    op.drop_index("uq_datasets_workspace_sha256", table_name="datasets")
    op.drop_index("ix_datasets_sha256", table_name="datasets")
    op.create_index("ix_datasets_sha256", "datasets", ["sha256"], unique=True)
    for table in OWNED:
        op.drop_index(f"ix_{table}_workspace_id", table_name=table)
        if op.get_bind().dialect.name != "sqlite":
            op.drop_constraint(f"fk_{table}_workspace_id_workspaces", table, type_="foreignkey")
        op.drop_column(table, "workspace_id")
    op.drop_table("memberships")
    op.drop_table("workspaces")
