"""SQLite settings for safe concurrent use by the web process and the Huey consumer.

WAL lets readers proceed while one writer writes; ``busy_timeout`` waits for a lock instead of
failing; foreign keys are off by default in SQLite. Write transactions begin with
``BEGIN IMMEDIATE`` so two writers never deadlock upgrading a read lock ("database is
locked"). This is SQLAlchemy's documented recipe for pysqlite's transaction handling.

Safe (GET/HEAD/OPTIONS) requests begin deferred instead: they only read, and an immediate
transaction would hold the single write lock for the whole page render, making workers and
other requests queue behind every page view.
"""

import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine


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
