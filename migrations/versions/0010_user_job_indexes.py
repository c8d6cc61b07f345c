"""user job indexes: a user's active and recent runs and grades

Starting a run or a grade checks the per-user limits: jobs queued or running, jobs started in
the last minute. Through ``(user_id)`` PostgreSQL read every job the user ever started and
filtered it (404 rows for a user with 400 finished runs; a load test's user gathers thousands),
so each start grew slower with the user's history. ``(user_id, created_at)`` answers "the last
minute" with a range probe and serves every other ``user_id`` lookup (foreign-key cascades
included), so it replaces the single-column index; a partial index of the active jobs
(``status IN ('pending', 'running')``) answers "in flight" from a handful of entries.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TABLES = ("simulation_runs", "grade_reports")
# As sdc.models.run.ACTIVE_SQL when this migration was written (a migration never imports the
# models it outlives).
ACTIVE_SQL = "status IN ('pending', 'running')"


def upgrade():
    for table in TABLES:
        op.create_index(f"ix_{table}_user_created", table, ["user_id", "created_at"])
        op.create_index(
            f"ix_{table}_user_active",
            table,
            ["user_id"],
            postgresql_where=sa.text(ACTIVE_SQL),
            sqlite_where=sa.text(ACTIVE_SQL),
        )
        op.drop_index(f"ix_{table}_user_id", table_name=table)


def downgrade():
    for table in TABLES:
        op.create_index(f"ix_{table}_user_id", table, ["user_id"])
        op.drop_index(f"ix_{table}_user_active", table_name=table)
        op.drop_index(f"ix_{table}_user_created", table_name=table)
