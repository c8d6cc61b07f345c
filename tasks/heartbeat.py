"""The heartbeat a job consumer writes while it runs, read by the status page.

A daemon thread started by ``sdc worker`` (not a Huey periodic task: a busy or stuck queue
must not delay the beat, and every consumer process needs its own row). It beats only while
the consumer's worker threads are alive, so a wedged consumer goes stale like a dead one.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)
STARTUP_POLL_S = 0.2  # how often the first beat checks that the worker threads are up


class Heartbeat(threading.Thread):
    def __init__(
        self,
        app,
        *,
        backend: str,
        workers: int,
        interval_s: float | None = None,
        healthy: Callable[[], bool] | None = None,
    ):
        from sdc.services import status

        super().__init__(name="sdc-heartbeat", daemon=True)
        self.app = app
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.name_key = status.worker_name(self.host, self.pid)
        self.backend = backend
        self.workers = workers
        self.interval_s = interval_s or status.HEARTBEAT_INTERVAL_S
        self.healthy = healthy or (lambda: True)
        self._stop_event = threading.Event()

    def beat(self) -> bool:
        from sdc.extensions import db
        from sdc.services import status

        if not self.healthy():
            log.warning("heartbeat skipped: consumer worker threads are not all alive")
            return False
        with self.app.app_context():
            try:
                status.beat(self.name_key, self.host, self.pid, self.backend, self.workers)
                return True
            except Exception:  # a database blip must not kill the thread; the next beat retries
                log.exception("heartbeat failed")
                db.session.rollback()
                return False
            finally:
                db.session.remove()

    def run(self) -> None:
        # The consumer starts its worker threads just after this thread, so a first beat at
        # once would find them not yet alive, skip, and leave the status page saying "no
        # consumer" for a whole interval: wait (up to one interval) for them to come up.
        deadline = time.monotonic() + self.interval_s
        while not self.healthy() and time.monotonic() < deadline:
            if self._stop_event.wait(STARTUP_POLL_S):
                return
        self.beat()
        while not self._stop_event.wait(self.interval_s):
            self.beat()

    def stop(self) -> None:
        """Stop beating and record a clean shutdown."""
        from sdc.extensions import db
        from sdc.services import status

        self._stop_event.set()
        if self.is_alive():
            self.join(timeout=5)
        with self.app.app_context():
            try:
                status.mark_stopped(self.name_key)
            except Exception:
                log.exception("could not record the worker's shutdown")
            finally:
                db.session.remove()
