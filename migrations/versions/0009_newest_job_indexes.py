"""newest-job indexes: a version's runs and grades by creation time

The workspace loads a version's newest baseline run with the version, the dashboard the newest
run and grade of each project, the grade history orders grades by ``created_at``. With only
``(version_id)`` indexed, PostgreSQL fetched every run of the version and sorted them (9 ms for a
version with 10,000 runs, as a load test makes); ``(version_id, created_at)`` answers "newest"
with one backward index probe and still serves every ``version_id`` lookup (foreign key
cascades included), so it replaces the single-column index.

Revision ID: 0009
Revises: 0008
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLES = ("simulation_runs", "grade_reports")


def upgrade():
    for table in TABLES:
        op.create_index(f"ix_{table}_version_created", table, ["version_id", "created_at"])
        op.drop_index(f"ix_{table}_version_id", table_name=table)


def downgrade():
    for table in TABLES:
        op.create_index(f"ix_{table}_version_id", table, ["version_id"])
        op.drop_index(f"ix_{table}_version_created", table_name=table)
