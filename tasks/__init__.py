"""The Huey instance and job functions.

Built from the same settings as the web app: Redis when ``REDIS_URL`` is set, SQLite under
``instance/`` otherwise. Messages are signed with ``SECRET_KEY`` so a forged queue message is
rejected. Tasks take ids only and build the Flask app lazily, once per worker process.
"""

from __future__ import annotations

import threading

from huey import RedisHuey, SqliteHuey
from huey.serializer import SignedSerializer
from redis import ConnectionPool

from sdc.settings import load_settings

_app = None
_app_lock = threading.Lock()


def make_huey(settings=None):
    settings = settings or load_settings()
    serializer = SignedSerializer(secret=settings.secret_key, salt="sdc-huey")
    if settings.redis_url:
        return RedisHuey(
            "sdc",
            # Short socket timeouts: a dead Redis must not hang a web request that enqueues.
            connection_pool=ConnectionPool.from_url(
                settings.redis_url, socket_connect_timeout=2, socket_timeout=10
            ),
            serializer=serializer,
            immediate=settings.huey_immediate,
        )
    settings.huey_sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(
        "sdc",
        filename=str(settings.huey_sqlite_path),
        serializer=serializer,
        immediate=settings.huey_immediate,
    )


huey = make_huey()


def flask_app():
    """The Flask app for task code, created on first use in this process (never at import)."""
    global _app
    if _app is None:
        with _app_lock:
            if _app is None:
                from sdc import create_app

                _app = create_app()
    return _app


def set_flask_app(app) -> None:
    """Tests (Huey immediate mode) run tasks inside the app under test."""
    global _app
    _app = app


# Longest sleep between two polls of an idle, polled queue (SQLite Huey). Huey's default, 10 s,
# is what a user pressing Run after a minute's pause would wait before any worker looked; an
# empty SQLite queue costs one indexed SELECT to poll. Redis blocks on the queue (BRPOP) instead.
POLL_MAX_DELAY_S = 0.5


def make_consumer(huey_instance, workers: int):
    """The Huey consumer ``sdc worker`` runs: thread workers, periodic tasks (the reaper), and
    polling capped at POLL_MAX_DELAY_S when the queue cannot block."""
    from huey.consumer import Consumer

    blocking = getattr(huey_instance.storage, "blocking", False)
    return Consumer(
        huey_instance,
        workers=workers,
        worker_type="thread",
        periodic=True,
        check_worker_health=True,
        max_delay=10.0 if blocking else POLL_MAX_DELAY_S,
    )


def load_task_modules() -> None:
    """Import every module that defines tasks so the consumer knows them."""
    import importlib
    import pkgutil

    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


from tasks import memory as _memory  # noqa: E402,F401  (heap trimmed after each job)
from tasks import signals as _signals  # noqa: E402,F401  (job telemetry receivers)
