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
    bind = op.get_bind()
    if bind.dialect.name == "postgresql" and _trigram_available(bind):
        op.execute(
            "CREATE INDEX ix_audit_logs_actor_email_trgm ON audit_logs "
            "USING gin (lower(actor_email) gin_trgm_ops)"
        )


def _trigram_available(bind) -> bool:
    """Create pg_trgm if this server has it and we may (a trusted extension: the database
    owner can, no superuser needed). A server without contrib, or a role without CREATE on the
    database, keeps the email filter unindexed instead of failing the whole migration."""
    import logging

    from sqlalchemy import text

    if not bind.execute(
        text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
    ).first():
        logging.getLogger("alembic").warning("pg_trgm unavailable: audit email filter unindexed")
        return False
    try:
        with bind.begin_nested():  # a savepoint: a refusal must not abort the migration
            bind.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except Exception as exc:  # InsufficientPrivilege, ...
        logging.getLogger("alembic").warning("pg_trgm not created (%s): filter unindexed", exc)
        return False
    return True


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        # The extension stays: it is database-wide and dropping it could break other users.
        op.execute("DROP INDEX IF EXISTS ix_audit_logs_actor_email_trgm")
    op.drop_index("ix_audit_logs_status_time", table_name="audit_logs")
    op.drop_index("ix_presence_last_seen", table_name="presence")
