"""run metrics: a run's summary metrics beside its result

Every view of a run by its verdict (the dashboard's projects, the workspace's run button, the
project page's versions) reads the result's ``metrics`` alone. It took them out of the result in
SQL, and PostgreSQL read and parsed the whole result to do it (the JSON type is text, stored
compressed out of line): a DES result of the url-shortener is ~15 KB (6.8 KB stored), its time
series most of it; the metrics are ~0.6 KB. For one project whose newest run held such a result,
the dashboard's newest-run statement executed in 0.11 ms with ``result -> 'metrics'`` and in
0.045 ms with this column (EXPLAIN ANALYZE, four times each): about 65 us per run shown, on
every dashboard (one per project), workspace and project page view.

Existing runs are filled from their results, a batch at a time.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

BATCH = 200


def fill(conn) -> int:
    """Set ``metrics`` of every run that has a result; returns how many."""
    runs = sa.table(
        "simulation_runs",
        sa.column("id", sa.Uuid),
        sa.column("result", sa.JSON),
        sa.column("metrics", sa.JSON),
    )
    done, after = 0, None
    while True:
        query = sa.select(runs.c.id, runs.c.result).where(runs.c.result.isnot(None))
        if after is not None:
            query = query.where(runs.c.id > after)
        rows = conn.execute(query.order_by(runs.c.id).limit(BATCH)).all()
        if not rows:
            return done
        for row in rows:
            metrics = row.result.get("metrics") if isinstance(row.result, dict) else None
            if isinstance(metrics, dict):
                conn.execute(runs.update().where(runs.c.id == row.id).values(metrics=metrics))
        done += len(rows)
        after = rows[-1].id


def upgrade():
    op.add_column("simulation_runs", sa.Column("metrics", sa.JSON(), nullable=True))
    fill(op.get_bind())


def downgrade():
    op.drop_column("simulation_runs", "metrics")
