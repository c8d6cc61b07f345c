"""version history: undo/redo snapshots of a version's design and traffic

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "version_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("version_id", sa.Uuid(), nullable=False),
        sa.Column("stack", sa.String(length=8), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("design", sa.JSON(), nullable=False),
        sa.Column("traffic", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["version_id"], ["versions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("version_history", schema=None) as batch_op:
        batch_op.create_index(
            "ix_version_history_version_stack", ["version_id", "stack", "id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("version_history", schema=None) as batch_op:
        batch_op.drop_index("ix_version_history_version_stack")
    op.drop_table("version_history")
