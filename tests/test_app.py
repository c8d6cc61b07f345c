"""The app factory, the settings matrix and the compose file (there is no Docker engine here)."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
import yaml
from sqlalchemy import event
from sqlalchemy.engine import Engine

from sdc import create_app
from sdc.settings import SettingsError, load_settings

ROOT = Path(__file__).resolve().parent.parent


def test_create_app_has_no_side_effects(tmp_path):
    """Building the app opens no database connection, creates no file and starts no thread."""
    connects = []

    def on_connect(*_args):
        connects.append(1)

    event.listen(Engine, "connect", on_connect)
    threads_before = set(threading.enumerate())
    try:
        settings = load_settings(
            {
                "SECRET_KEY": "x",
                "SDC_INSTANCE_DIR": str(tmp_path / "inst"),
                "DATABASE_URL": f"sqlite:///{tmp_path}/a.db",
            }
        )
        app = create_app(settings=settings)
    finally:
        event.remove(Engine, "connect", on_connect)
    assert app.name == "sdc"
    assert connects == []
    assert not (tmp_path / "a.db").exists()
    assert not (tmp_path / "inst").exists()
    # limits' in-memory storage arms a 10 ms expiry timer when created; it is not ours to own.
    started = [
        t
        for t in set(threading.enumerate()) - threads_before
        if not t.daemon and not isinstance(t, threading.Timer)
    ]
    assert started == []


def test_embedded_default_settings(tmp_path):
    s = load_settings({"SDC_INSTANCE_DIR": str(tmp_path)})
    assert s.env == "development" and not s.production
    assert s.database_url == f"sqlite:///{tmp_path / 'sdc.db'}"
    assert s.redis_url is None and s.queue_backend == "sqlite"
    assert s.huey_sqlite_path == tmp_path / "huey.db"
    assert s.flask_config()["RATELIMIT_STORAGE_URI"] == "memory://"
    assert s.flask_config()["SESSION_COOKIE_SECURE"] is False
    # the secret is generated once and kept
    assert (tmp_path / "secret_key").read_text() == s.secret_key
    assert load_settings({"SDC_INSTANCE_DIR": str(tmp_path)}).secret_key == s.secret_key


def test_production_settings(tmp_path):
    env = {
        "SDC_ENV": "production",
        "SECRET_KEY": "s3cret",
        "DATABASE_URL": "postgres://u:p@db:5432/sdc",
        "REDIS_URL": "redis://r:6379/0",
        "SDC_INSTANCE_DIR": str(tmp_path),
    }
    s = load_settings(env)
    assert s.production and s.database_url == "postgresql+psycopg://u:p@db:5432/sdc"
    assert s.queue_backend == "redis"
    cfg = s.flask_config()
    assert (
        cfg["SESSION_COOKIE_SECURE"] is True
        and cfg["RATELIMIT_STORAGE_URI"] == "sdc+redis://r:6379/0"
    )
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"SDC_ENV": "production", "DATABASE_URL": "postgresql://x/y"},
            "SECRET_KEY is required in production",
        ),
        ({"SDC_ENV": "production", "SECRET_KEY": "k"}, "DATABASE_URL is required in production"),
        ({"SDC_ENV": "staging"}, "SDC_ENV must be"),
        (
            {"SECRET_KEY": "k", "MAX_CONTENT_LENGTH": "lots"},
            "MAX_CONTENT_LENGTH must be an integer",
        ),
        ({"SECRET_KEY": "k", "AI_PROVIDER": "antropic"}, "AI_PROVIDER must be one of mock, "),
        ({"SECRET_KEY": "k", "AI_TIMEOUT_S": "0"}, "AI_TIMEOUT_S must be above 0"),
        ({"SECRET_KEY": "k", "AI_MAX_TOKENS": "0"}, "AI_MAX_TOKENS must be at least 1"),
    ],
)
def test_bad_settings_name_the_variable(env, message, tmp_path):
    env = {"SDC_INSTANCE_DIR": str(tmp_path), **env}
    with pytest.raises(SettingsError, match=message):
        load_settings(env)


def test_huey_backend_follows_settings(tmp_path):
    from huey import RedisHuey, SqliteHuey

    import tasks

    embedded = tasks.make_huey(
        load_settings({"SECRET_KEY": "k", "SDC_INSTANCE_DIR": str(tmp_path)})
    )
    assert isinstance(embedded, SqliteHuey)
    redis_backed = tasks.make_huey(
        load_settings(
            {
                "SECRET_KEY": "k",
                "SDC_INSTANCE_DIR": str(tmp_path),
                "REDIS_URL": "redis://127.0.0.1:6379/15",
            }
        )
    )
    assert isinstance(redis_backed, RedisHuey)


def _documented_variables() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^([A-Z][A-Z0-9_]+)=", text, flags=re.M))


def test_env_example_lists_every_variable_the_settings_read():
    source = (ROOT / "sdc" / "settings.py").read_text()
    read = set(re.findall(r'env(?:\.get)?\(\s*"([A-Z][A-Z0-9_]+)"', source))
    read |= set(re.findall(r'_(?:int|float)\(env, "([A-Z][A-Z0-9_]+)"', source))
    assert read, "no variables found: the regex is wrong"
    assert read <= _documented_variables(), read - _documented_variables()


def test_compose_file_describes_the_production_stack():
    spec = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = spec["services"]
    assert {"postgres", "redis", "grafana", "migrate", "web", "worker"} <= set(services)
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    assert services["grafana"]["image"].startswith("grafana/grafana")
    for name in ("migrate", "web", "worker"):
        build = services[name]["build"]
        assert build["dockerfile"] == "infra/Dockerfile" and (ROOT / build["dockerfile"]).exists()
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgresql://") and env["REDIS_URL"].startswith(
            "redis://"
        )
        assert env["SDC_ENV"] == "production"
    assert services["migrate"]["command"] == ["sdc", "db", "upgrade"]
    assert (
        services["web"]["command"][0] == "gunicorn"
        and "sdc:create_app()" in services["web"]["command"]
    )
    assert _gunicorn_config_of(services["web"]["command"]) == "python:sdc.gunicorn_config"
    assert services["worker"]["command"][:2] == ["sdc", "worker"]
    # Consumers yield the CPU to the web (the default weight is 1024).
    assert services["worker"]["cpu_shares"] < services["web"].get("cpu_shares", 1024)
    assert services["web"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    used = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", (ROOT / "docker-compose.yml").read_text()))
    assert used and used <= _documented_variables(), used - _documented_variables()


def test_every_cli_command_is_registered(app):
    names = set(app.cli.list_commands(None))
    assert {"seed", "create-admin", "create-token", "reset-2fa", "worker", "serve"} <= names


def test_create_token_command_prints_a_working_token(app, runner, user, client):
    result = runner.invoke(args=["create-token", user.email])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert (
        client.get("/scenarios/", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    )
    assert runner.invoke(args=["create-token", "nobody@example.com"]).exit_code == 2


def test_create_admin_command(app, runner):
    from sdc.extensions import db
    from sdc.models import User

    weak = runner.invoke(args=["create-admin", "root@example.com", "--password", "short"])
    assert weak.exit_code == 2 and "at least 12" in weak.output
    ok = runner.invoke(
        args=["create-admin", "root@example.com", "--password", "an admin passphrase here"]
    )
    assert ok.exit_code == 0, ok.output
    with app.app_context():
        assert db.session.query(User).filter_by(email="root@example.com").one().is_admin


def _gunicorn_config_of(argv: list[str]) -> str | None:
    return argv[argv.index("--config") + 1] if "--config" in argv else None


def test_gunicorn_config_freezes_what_the_loaded_app_holds():
    """Every gunicorn command (compose, the image, the load test) loads ``sdc.gunicorn_config``,
    whose hook gunicorn knows by name and which leaves the worker's objects frozen."""
    import gc
    import json

    from gunicorn.config import KNOWN_SETTINGS

    from sdc import gunicorn_config

    hooks = {name for name, value in vars(gunicorn_config).items() if callable(value)}
    assert hooks and hooks <= {s.name for s in KNOWN_SETTINGS}, hooks
    dockerfile_cmd = re.search(r"^CMD (.+)$", (ROOT / "infra" / "Dockerfile").read_text(), re.M)
    assert _gunicorn_config_of(json.loads(dockerfile_cmd.group(1))) == "python:sdc.gunicorn_config"
    assert "python:sdc.gunicorn_config" in (ROOT / "loadtest" / "stack.py").read_text()
    assert gc.get_freeze_count() == 0
    try:
        gunicorn_config.post_worker_init(worker=None)
        assert gc.get_freeze_count() > 1000  # the test process's modules and objects
    finally:
        gc.unfreeze()
