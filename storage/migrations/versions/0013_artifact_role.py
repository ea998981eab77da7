"""Model artifacts get a role (issue 20 point 4): ``model``, the model a run saves and serves, or ``holdout``,
the model its hold-out rows scored when the saved one was refitted on every row.

Artifacts from before are all ``model``: runs saved the model the hold-out rows scored.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


# Plain ALTER TABLE, not a batch copy: registered model versions reference model artifacts, and SQLite refuses
# to drop a referenced table, which is how a batch operation rebuilds it (SQLite 3.35 drops a column in place).


def upgrade() -> None:
    op.add_column("model_artifacts", sa.Column("role", sa.String(), nullable=False, server_default="model"))


def downgrade() -> None:
    op.execute("DELETE FROM model_artifacts WHERE role = 'holdout'")
    op.drop_column("model_artifacts", "role")
