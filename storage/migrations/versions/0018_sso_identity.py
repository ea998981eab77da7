"""Single sign-on (issue 19 point 1): an account may be an OpenID Connect identity, its provider's issuer and subject
(unique together), instead of a password. Built-in accounts keep both NULL; no row changes.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("oidc_issuer", sa.String(), nullable=True))
    op.add_column("users", sa.Column("oidc_subject", sa.String(), nullable=True))
    op.create_index("uq_users_oidc_identity", "users", ["oidc_issuer", "oidc_subject"], unique=True)


def downgrade() -> None:
    """Accounts that only signed in through single sign-on have no password: they are removed with what names them
    (memberships and sessions cascade; an account that made datasets or runs cannot be removed, and stops this)."""
    op.execute("DELETE FROM users WHERE oidc_subject IS NOT NULL")
    op.drop_index("uq_users_oidc_identity", table_name="users")
    op.drop_column("users", "oidc_subject")
    op.drop_column("users", "oidc_issuer")
