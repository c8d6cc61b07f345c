"""security: TOTP two-factor authentication on users

Sign-in throttling reuses ``users.failed_logins`` (consecutive failures) and
``users.locked_until`` (next attempt allowed at); idle and absolute session timeouts live in
the signed session cookie, so neither needs a column.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("totp_secret", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("totp_enabled_at", sa.DateTime(timezone=True), nullable=True))
        # The last accepted time step: a code is accepted at most once (no replay).
        batch_op.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("totp_last_step")
        batch_op.drop_column("totp_enabled_at")
        batch_op.drop_column("totp_secret")
