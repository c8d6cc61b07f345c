"""query indexes: the queries of the pages that EXPLAIN showed scanning a whole table

Found by tests/test_query_plans.py (every statement of the main pages and the Grafana panels,
EXPLAINed on PostgreSQL with sequential scans disabled):

- ``presence (last_seen)``: every workspace heartbeat deletes the rows not seen for 20 s
  (``DELETE FROM presence WHERE last_seen < :cutoff``).
- ``audit_logs (status, time)``: ``/admin/audit?status=N`` counts the rows of one status and
  lists them newest first (``WHERE status = :n ORDER BY time DESC, id DESC``).
- ``audit_logs`` trigram index on ``lower(actor_email)`` (PostgreSQL only): ``/admin/audit?user=``
  matches a fragment anywhere in the email (``lower(actor_email) LIKE '%' || :f || '%'``), which
  no btree can serve. SQLite has no such index and scans, as before.

Revision ID: 0008
Revises: 0007
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_presence_last_seen", "presence", ["last_seen"])
    op.create_index("ix_audit_logs_status_time", "audit_logs", ["status", "time"])
    if op.get_bind().dialect.name == "postgresql":
        # pg_trgm ships with PostgreSQL (contrib) and is a trusted extension: the database
        # owner may create it without superuser rights.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE INDEX ix_audit_logs_actor_email_trgm ON audit_logs "
            "USING gin (lower(actor_email) gin_trgm_ops)"
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        # The extension stays: it is database-wide and dropping it could break other users.
        op.drop_index("ix_audit_logs_actor_email_trgm", table_name="audit_logs")
    op.drop_index("ix_audit_logs_status_time", table_name="audit_logs")
    op.drop_index("ix_presence_last_seen", table_name="presence")
