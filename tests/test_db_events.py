"""PostgreSQL round trips (sdc.db_events): reads in a request open no transaction, writes still
run in one, the pool pings only connections that idled, and ``single_statement`` commits alone.

What the server sees is read from ``pg_stat_activity`` on a connection of the test's own: a
backend holding a transaction is ``idle in transaction`` between statements, else ``idle``.
"""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text

from sdc import db_events
from sdc.extensions import db
from tests.conftest import requires_postgres

pytestmark = requires_postgres

PROBE = "db_events_probe"


@pytest.fixture
def probe(app):
    """A scratch table with one row (id 1), and a plain psycopg connection to watch with."""
    with app.app_context():
        url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        db.session.execute(text(f"CREATE TABLE {PROBE} (id int PRIMARY KEY, note text)"))
        db.session.execute(text(f"INSERT INTO {PROBE} VALUES (1, 'one')"))
        db.session.commit()
    watcher = psycopg.connect(url, autocommit=True)
    yield watcher
    watcher.close()
    with app.app_context():
        db.session.remove()
        db.session.execute(text(f"DROP TABLE {PROBE}"))
        db.session.commit()


def _backend() -> int:
    return db.session.connection().connection.dbapi_connection.info.backend_pid


def _state(watcher, pid: int) -> str:
    return watcher.execute("SELECT state FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()[0]


def _notes(watcher) -> list[str]:
    return [r[0] for r in watcher.execute(f"SELECT note FROM {PROBE} ORDER BY id")]


def test_reads_in_a_request_hold_no_transaction(app, probe):
    with app.test_request_context("/dashboard"):
        assert db.session.scalar(text(f"SELECT note FROM {PROBE} WHERE id = 1")) == "one"
        assert _state(probe, _backend()) == "idle"


def test_reads_outside_a_request_keep_their_transaction(app, probe):
    with app.app_context():
        db.session.scalar(text(f"SELECT note FROM {PROBE} WHERE id = 1"))
        assert _state(probe, _backend()) == "idle in transaction"
        db.session.rollback()


def test_writes_after_reads_are_one_transaction(app, probe):
    with app.test_request_context("/projects/x", method="PATCH"):
        db.session.scalar(text(f"SELECT note FROM {PROBE} WHERE id = 1"))
        db.session.execute(text(f"INSERT INTO {PROBE} VALUES (2, 'two')"))
        pid = _backend()
        assert _state(probe, pid) == "idle in transaction"
        db.session.scalar(text(f"SELECT count(*) FROM {PROBE}"))  # a read inside it stays in it
        db.session.execute(text(f"UPDATE {PROBE} SET note = 'changed' WHERE id = 1"))
        assert _notes(probe) == ["one"]  # nothing is visible before the commit
        db.session.rollback()
        assert _notes(probe) == ["one"]  # and both writes went with the rollback
        db.session.execute(text(f"INSERT INTO {PROBE} VALUES (3, 'three')"))
        db.session.commit()
    assert _notes(probe) == ["one", "three"]


def test_select_for_update_holds_its_lock_until_the_commit(app, probe):
    with app.test_request_context("/projects/x", method="GET"):
        db.session.scalar(text(f"SELECT note FROM {PROBE} WHERE id = 1 FOR UPDATE"))
        assert _state(probe, _backend()) == "idle in transaction"
        with pytest.raises(psycopg.errors.LockNotAvailable):
            probe.execute(f"SELECT 1 FROM {PROBE} WHERE id = 1 FOR UPDATE NOWAIT")
        db.session.commit()
    probe.execute(f"SELECT 1 FROM {PROBE} WHERE id = 1 FOR UPDATE NOWAIT")


def test_single_statement_commits_alone(app, probe):
    with app.test_request_context("/projects/x", method="POST"):
        db.session.execute(text(f"INSERT INTO {PROBE} VALUES (2, 'rolled back')"))
        with db_events.single_statement(db.engine) as conn:
            conn.execute(text(f"INSERT INTO {PROBE} VALUES (3, 'kept')"))
        assert _notes(probe) == ["one", "kept"]
        db.session.rollback()
    assert _notes(probe) == ["one", "kept"]


def test_a_write_marked_own_transaction_commits_alone_only_when_none_is_open(app, probe):
    """``OWN_TRANSACTION`` (a new run or grade after the reads that admitted it): with no
    transaction open the write is its own, on the request's connection, visible at once and
    kept by a rollback; after an earlier write it joins that write's transaction, so the two
    still commit or roll back together."""
    own = {db_events.OWN_TRANSACTION: True}
    with app.test_request_context("/projects/x", method="POST"):
        db.session.scalar(text(f"SELECT note FROM {PROBE} WHERE id = 1"))
        db.session.execute(
            text(f"INSERT INTO {PROBE} VALUES (2, 'alone')").execution_options(**own)
        )
        assert _state(probe, _backend()) == "idle" and _notes(probe) == ["one", "alone"]
        db.session.rollback()
        assert _notes(probe) == ["one", "alone"]
        db.session.execute(text(f"UPDATE {PROBE} SET note = 'first' WHERE id = 1"))
        db.session.execute(
            text(f"INSERT INTO {PROBE} VALUES (3, 'joined')").execution_options(**own)
        )
        assert _state(probe, _backend()) == "idle in transaction"
        db.session.rollback()
    assert _notes(probe) == ["one", "alone"]


def test_the_pool_pings_only_connections_that_idled(app, probe, monkeypatch):
    pings = []
    with app.app_context():
        dialect = type(db.engine.dialect)
        original = dialect.do_ping
        monkeypatch.setattr(
            dialect, "do_ping", lambda self, c: pings.append(1) or original(self, c)
        )
        db.session.execute(text("SELECT 1"))
        pid = _backend()
        db.session.remove()  # back to the pool, stamped
        db.session.execute(text("SELECT 1"))  # checked out again at once: no ping
        assert pings == [] and _backend() == pid
        db.session.remove()

        # A connection the server killed while it sat in the pool: with the idle threshold
        # passed, the ping finds it dead and the pool hands out a new one. No error reaches us.
        probe.execute("SELECT pg_terminate_backend(%s)", [pid])
        monkeypatch.setattr(db_events, "PING_AFTER_IDLE_S", 0.0)
        assert db.session.scalar(text("SELECT 41 + 1")) == 42
        assert pings and _backend() != pid
        db.session.remove()
