"""Operations rows (audit, request and job telemetry) commit without waiting for the WAL flush on
PostgreSQL, on connections of their own; the app's data changes keep the database's setting."""

from __future__ import annotations

from sqlalchemy import func, select, text

from sdc.db_events import ops_engine
from sdc.extensions import db, ops_rows_engine
from sdc.models import AuditLog
from sdc.services import audit
from tests.conftest import make_settings, requires_postgres


def _setting(engine) -> tuple[str, str]:
    """(value, source) of synchronous_commit on a connection of ``engine``."""
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT setting, source FROM pg_settings WHERE name = 'synchronous_commit'")
        ).one()
    return row[0], row[1]


@requires_postgres
def test_operations_rows_commit_asynchronously_on_their_own_connections(app):
    with app.app_context():
        ops = ops_rows_engine()
        assert ops is not db.engine and ops is ops_rows_engine()  # one per database and process
        assert _setting(ops) == ("off", "client")  # set on the connection by its start options
        # The app's own connections keep the database's setting (the scratch test database is
        # ALTERed to off; production's is on): nothing set per connection to leak into data.
        assert _setting(db.engine)[1] == "database"
        before = db.session.scalar(select(func.count()).select_from(AuditLog))
        audit.write_rows([audit.build_row("test.ops_engine", status=200)])
        with db.engine.connect() as other:  # visible at once to every other connection
            after = other.scalar(select(func.count()).select_from(AuditLog))
        assert after == before + 1


@requires_postgres
def test_ops_synchronous_commit_on_writes_them_with_the_app_engine(migrated, tmp_path):
    from sdc import create_app

    settings = make_settings(migrated, tmp_path / "instance", ops_synchronous_commit=True)
    app = create_app(settings=settings)
    with app.app_context():
        assert ops_rows_engine() is db.engine


def test_other_databases_write_them_with_the_app_engine(app):
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            assert ops_engine(db.engine, synchronous_commit=True) is db.engine
        else:
            assert ops_rows_engine() is db.engine
