"""infra/scripts/backup.sh and restore.sh: back up, wipe, restore, find the data (both backends)."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

from sdc.settings import normalise_database_url
from tests.conftest import POSTGRES_URL, requires_postgres

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "infra" / "scripts"


def _migrate(url: str, tmp_path: Path) -> None:
    from flask_migrate import upgrade

    from sdc import create_app
    from sdc.extensions import db
    from tests.conftest import make_settings

    app = create_app(settings=make_settings(url, tmp_path / "instance"))
    with app.app_context():
        upgrade()
        db.engine.dispose()


def _run(script: str, arg: Path, url: str) -> None:
    env = {**os.environ, "DATABASE_URL": url}
    done = subprocess.run(
        [str(SCRIPTS / script), str(arg)], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def _insert_and_check(url: str):
    engine = create_engine(normalise_database_url(url))
    marker = f"backup-{uuid.uuid4().hex[:8]}@example.com"
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (id, email, password_hash, role, disabled, failed_logins, "
                "session_version, profile, created_at) VALUES (:id, :email, 'x', 'user', false, 0, "
                "1, '{}', CURRENT_TIMESTAMP)"
            ),
            {
                "id": uuid.uuid4().hex if engine.dialect.name == "sqlite" else str(uuid.uuid4()),
                "email": marker,
            },
        )
        conn.execute(
            text(
                "INSERT INTO audit_logs (time, action, detail) VALUES "
                "(CURRENT_TIMESTAMP, 'backup.test', '{}')"
            )
        )
    engine.dispose()

    def present() -> bool:
        eng = create_engine(normalise_database_url(url))
        try:
            with eng.connect() as conn:
                return (
                    conn.execute(
                        text("SELECT count(*) FROM users WHERE email = :e"), {"e": marker}
                    ).scalar()
                    == 1
                )
        finally:
            eng.dispose()

    return present


def test_sqlite_backup_and_restore(tmp_path):
    url = f"sqlite:///{tmp_path / 'live.db'}"
    _migrate(url, tmp_path)
    present = _insert_and_check(url)
    backup = tmp_path / "sdc.backup.db"
    _run("backup.sh", backup, url)
    # wipe: the database file is gone
    for suffix in ("", "-wal", "-shm"):
        Path(str(tmp_path / "live.db") + suffix).unlink(missing_ok=True)
    _run("restore.sh", backup, url)
    assert present()


@requires_postgres
def test_postgres_backup_and_restore(tmp_path):
    import psycopg
    from sqlalchemy.engine import make_url

    base = make_url(normalise_database_url(POSTGRES_URL))
    name = f"sdc_backup_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = base.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    url = base.set(drivername="postgresql", database=name).render_as_string(hide_password=False)

    def recreate():
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')

    recreate()
    try:
        _migrate(url, tmp_path)
        present = _insert_and_check(url)
        backup = tmp_path / "sdc.dump"
        _run("backup.sh", backup, url)
        recreate()  # wipe: an empty database
        _run("restore.sh", backup, url)
        assert present()
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
