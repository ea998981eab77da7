"""Fair sharing (issue 19 point 5): accounts get the limits an administrator sets (NULL: the server's default), and
datasets and runs name the account that made them, whose job and storage limits they count against.

Runs submitted by an account before this revision were recorded as ``user:<name>``; they are given that account.
Everything else from before (NULL) is the local user's.

Plain ALTER TABLE on SQLite (a column with a REFERENCES clause is added in place while it may be NULL), as in 0014:
rebuilding these tables would cascade-delete what references them. No ON DELETE action (SQLite's reflection does not
report one added this way, and accounts are not deleted): an account that made anything cannot be deleted.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

OWNED = ("datasets", "runs")


def upgrade() -> None:
    op.add_column("users", sa.Column("max_jobs", sa.Integer(), nullable=True))
    op.add_column("users", sa.Column("max_storage_bytes", sa.BigInteger(), nullable=True))
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in OWNED:
        if sqlite:
            op.execute(f"ALTER TABLE {table} ADD COLUMN owner_id INTEGER REFERENCES users (id)")
        else:
            op.add_column(table, sa.Column("owner_id", sa.Integer(), nullable=True))
            op.create_foreign_key(f"fk_{table}_owner_id_users", table, "users", ["owner_id"], ["id"])
        op.create_index(f"ix_{table}_owner_id", table, ["owner_id"])
    op.execute("UPDATE runs SET owner_id = (SELECT users.id FROM users WHERE 'user:' || users.name = runs.owner) "
               "WHERE owner LIKE 'user:%'")


def downgrade() -> None:
    for table in OWNED:
        op.drop_index(f"ix_{table}_owner_id", table_name=table)
        if op.get_bind().dialect.name != "sqlite":
            op.drop_constraint(f"fk_{table}_owner_id_users", table, type_="foreignkey")
        op.drop_column(table, "owner_id")
    op.drop_column("users", "max_storage_bytes")
    op.drop_column("users", "max_jobs")
