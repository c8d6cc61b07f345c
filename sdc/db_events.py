"""Connection events: SQLite's settings, and fewer PostgreSQL round trips (second half).

SQLite settings for safe concurrent use by the web process and the Huey consumer.

WAL lets readers proceed while one writer writes; ``busy_timeout`` waits for a lock instead of
failing; foreign keys are off by default in SQLite. Write transactions begin with
``BEGIN IMMEDIATE`` so two writers never deadlock upgrading a read lock ("database is
locked"). This is SQLAlchemy's documented recipe for pysqlite's transaction handling.

Safe (GET/HEAD/OPTIONS) requests begin deferred instead: they only read, and an immediate
transaction would hold the single write lock for the whole page render, making workers and
other requests queue behind every page view.
"""

import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import Pool


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection, _record):
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _begin_statement() -> str:
    from flask import has_request_context, request

    if has_request_context() and request.method in ("GET", "HEAD", "OPTIONS"):
        return "BEGIN"
    return "BEGIN IMMEDIATE"


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn):
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(_begin_statement())


# --- PostgreSQL round trips -------------------------------------------------------------------
#
# On a loopback connection every round trip costs a context switch each way (0.3 ms idle on
# the 2-core VMs we measure on), and a page sends about ten. Three kinds carry no information:
#
# * The pool's liveness ping. SQLAlchemy's ``pool_pre_ping`` sends one on every checkout; we
#   ping only a connection that sat in the pool longer than ``PING_AFTER_IDLE_S``. A server
#   restart or an idle-session timeout that killed it is then caught before use, as before; a
#   connection used moments ago is alive unless the server went away in those moments, and
#   then the statement's disconnect error invalidates the whole pool, so at most one request
#   per process fails (requests in flight during a restart fail either way).
# * BEGIN and ROLLBACK around a request's reads. Under READ COMMITTED each statement takes its
#   own snapshot whether or not a transaction wraps it, so during a request a plain SELECT
#   that would open a transaction runs in autocommit instead, and psycopg sends neither. The
#   first statement that is not a plain SELECT (a write, SELECT ... FOR UPDATE, a SAVEPOINT)
#   switches the connection back, so it and everything after it run in one transaction that
#   commits or rolls back as before. Outside requests (workers, CLI) nothing changes.
# * BEGIN and COMMIT around one self-contained INSERT (an audit or job-telemetry row):
#   ``single_statement`` runs it in autocommit, where a statement is its own transaction.
# * BEGIN and COMMIT around a write that is a request's whole transaction (a new run or grade:
#   ``sdc.services.jobs.insert_new``): a statement carrying the ``OWN_TRANSACTION`` option
#   runs in autocommit too when the request's connection has no transaction open, on the
#   request's own connection; if one is open (an earlier write) it joins it as before. On
#   SQLite nothing changes: the write joins the request's BEGIN IMMEDIATE transaction.

PING_AFTER_IDLE_S = 2.0
# The execution option that lets a write run as its own transaction (see above).
OWN_TRANSACTION = "sdc_own_transaction"
# A read that takes row locks needs its transaction: the locks last until it ends.
_LOCKING = re.compile(r"\bFOR\s+(UPDATE|NO\s+KEY\s+UPDATE|SHARE|KEY\s+SHARE)\b", re.IGNORECASE)


def _is_psycopg(dbapi_connection) -> bool:
    return type(dbapi_connection).__module__.startswith("psycopg")


@event.listens_for(Pool, "checkin")
def _stamp_checkin(dbapi_connection, record):
    if dbapi_connection is None:  # invalidated
        return
    record.info["checked_in_at"] = time.monotonic()
    if _is_psycopg(dbapi_connection) and dbapi_connection.autocommit:
        # Idle by now, so the switch sends nothing; the next user gets what SQLAlchemy expects.
        dbapi_connection.autocommit = False


@event.listens_for(Pool, "checkout")
def _ping_if_idle(dbapi_connection, record, proxy):
    checked_in_at = record.info.get("checked_in_at")
    if checked_in_at is None or time.monotonic() - checked_in_at <= PING_AFTER_IDLE_S:
        return
    try:
        proxy._pool._dialect.do_ping(dbapi_connection)
    except Exception as exc:  # any failure: SQLAlchemy retries with a new connection
        raise DisconnectionError(f"pooled connection failed its ping: {exc}") from exc


@event.listens_for(Engine, "before_cursor_execute")
def _reads_without_transaction(conn, cursor, statement, parameters, context, executemany):
    dbapi_connection = conn.connection.dbapi_connection
    if not _is_psycopg(dbapi_connection):
        return
    if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        return  # asked for by the caller (single_statement): leave it
    from flask import has_request_context
    from psycopg.pq import TransactionStatus

    plain_read = statement.lstrip()[:6].upper() == "SELECT" and not _LOCKING.search(statement)
    if dbapi_connection.autocommit:
        if not plain_read and not context.execution_options.get(OWN_TRANSACTION):
            dbapi_connection.autocommit = False  # psycopg sends BEGIN before this statement
    elif (
        plain_read
        and has_request_context()
        and dbapi_connection.info.transaction_status == TransactionStatus.IDLE
    ):
        dbapi_connection.autocommit = True


@contextmanager
def single_statement(engine: Engine) -> Iterator[Connection]:
    """A connection for one self-contained statement, committed when the block ends.

    On PostgreSQL it runs in autocommit (the statement is its own transaction, so there is no
    BEGIN or COMMIT to send); elsewhere it is an ordinary transaction. Only for a single
    statement: two statements in the block would not be atomic on PostgreSQL.
    """
    if engine.dialect.name != "postgresql":
        with engine.begin() as conn:
            yield conn
        return
    with engine.connect() as conn:
        yield conn.execution_options(isolation_level="AUTOCOMMIT")


# Operations rows (audit, request and job telemetry) on PostgreSQL commit asynchronously: their
# INSERT returns before the WAL reaches the disk. Measured on our VM, a commit that waits for
# the WAL flush took 2.5-3.3 ms and one that does not 0.2-0.3 ms; every state-changing request
# wrote its audit row that way, after the change itself had committed (and waited) already, and
# the load test put the telemetry-and-audit cost at 0.10-0.13 of throughput against a budget of
# 0.10. What it risks: a PostgreSQL crash (not a clean stop) can lose the operations rows of its
# last moments (at most 3 x wal_writer_delay, 0.6 s by default); the database stays consistent
# and every other commit still waits for its flush. ``OPS_SYNCHRONOUS_COMMIT=on`` turns it off.
OPS_POOL_SIZE = 2
OPS_MAX_OVERFLOW = 4
_ops_engines: dict[tuple, Engine] = {}
_ops_lock = threading.Lock()


def ops_engine(engine: Engine, synchronous_commit: bool = False) -> Engine:
    """The engine to write operations rows with: ``engine`` itself unless it is PostgreSQL and
    ``synchronous_commit`` is off, else one engine per database and process whose connections
    run with ``synchronous_commit = off`` (a small pool of its own, so no connection of the
    app's pool ever carries that setting into a data change)."""
    if synchronous_commit or engine.dialect.name != "postgresql":
        return engine
    key = (os.getpid(), engine.url.render_as_string(hide_password=False))  # never across fork
    with _ops_lock:
        ops = _ops_engines.get(key)
        if ops is None:
            ops = create_engine(
                engine.url,
                connect_args={"options": "-c synchronous_commit=off"},
                pool_size=OPS_POOL_SIZE,
                max_overflow=OPS_MAX_OVERFLOW,
                pool_pre_ping=False,  # _ping_if_idle above applies to every pool
            )
            _ops_engines[key] = ops
        return ops
