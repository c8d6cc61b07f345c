"""grade category scores: a completed grade's category scores beside its report

The dashboard's progress (score trend, strengths and weaknesses) reads the category scores of
up to 200 grades. It took them out of each report in SQL, and PostgreSQL parsed every report
whole to do it (the JSON type is text): 90 ms of one dashboard for a user with 400 grades, whose
reports are ~28 KB each. The scores alone, ``[{key, title, score}]``, are ~0.4 KB.

Existing grades are filled from their reports, a batch at a time.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

BATCH = 200


def category_scores(report):
    """As ``sdc.models.run.category_scores`` when this migration was written (a migration
    never imports the models it outlives)."""
    if not isinstance(report, dict):
        return None
    cats = report.get("categories")
    return [
        {"key": c["key"], "title": c.get("title", c["key"]), "score": float(c["score"])}
        for c in (cats if isinstance(cats, list) else [])
        if isinstance(c, dict) and "key" in c and isinstance(c.get("score"), int | float)
    ]


def fill(conn) -> int:
    """Set ``category_scores`` of every grade that has a report; returns how many."""
    grades = sa.table(
        "grade_reports",
        sa.column("id", sa.Uuid),
        sa.column("report", sa.JSON),
        sa.column("category_scores", sa.JSON),
    )
    done, after = 0, None
    while True:
        query = sa.select(grades.c.id, grades.c.report).where(grades.c.report.isnot(None))
        if after is not None:
            query = query.where(grades.c.id > after)
        rows = conn.execute(query.order_by(grades.c.id).limit(BATCH)).all()
        if not rows:
            return done
        for row in rows:
            conn.execute(
                grades.update()
                .where(grades.c.id == row.id)
                .values(category_scores=category_scores(row.report))
            )
        done += len(rows)
        after = rows[-1].id


def upgrade():
    op.add_column("grade_reports", sa.Column("category_scores", sa.JSON(), nullable=True))
    fill(op.get_bind())


def downgrade():
    op.drop_column("grade_reports", "category_scores")
