"""A scoring service started from the Models page keeps the secret it accepts for ``GET /metrics`` (issue 19): with
sign-in configured every endpoint takes an API token, and the page, which holds none, read "no answer" for each
service's request count. Services recorded before keep an empty secret (they were started without one).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scoring_services") as batch:
        batch.add_column(sa.Column("metrics_secret", sa.String(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("scoring_services") as batch:
        batch.drop_column("metrics_secret")
