"""The job consumer that ``sdc serve`` (``make run``) keeps beside the development server.

If the consumer process dies (a crash, an out-of-memory kill: a non-zero exit), jobs would sit
queued for ever while the web server carries on; the supervisor notices within ``interval_s``
seconds, says so on the terminal and starts a new one, at most ``max_restarts`` times. A clean
exit (code 0) was asked for and is left alone. Ctrl-C (``stop``) ends it
with SIGINT, Huey's graceful shutdown, and kills it only if it does not stop in ``timeout_s``.
"""

from __future__ import annotations

import signal
import subprocess
import threading
from collections.abc import Callable


class ConsumerSupervisor:
    def __init__(
        self,
        spawn: Callable[[], subprocess.Popen],
        *,
        echo: Callable[[str], None] = print,
        max_restarts: int = 5,
        interval_s: float = 2.0,
    ):
        self.spawn = spawn
        self.echo = echo
        self.max_restarts = max_restarts
        self.interval_s = interval_s
        self.restarts = 0
        self.gave_up = False
        self.proc: subprocess.Popen | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the consumer and a daemon thread that checks on it every ``interval_s``."""
        self.proc = self.spawn()
        self._thread = threading.Thread(target=self._watch, name="sdc-supervisor", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stopping.wait(self.interval_s):
            self.check()

    def check(self) -> None:
        """Restart the consumer if it has exited (unless stopping or out of restarts)."""
        if self._stopping.is_set() or self.gave_up or self.proc is None:
            return
        code = self.proc.poll()
        if code is None:
            return
        if code == 0:
            # A clean exit is a requested stop (SIGINT/SIGTERM, e.g. Ctrl-C reaching the whole
            # process group before ``stop`` runs here): respect it rather than race it.
            self.gave_up = True
            self.echo("The job consumer stopped cleanly; not restarting it.")
            return
        if self.restarts >= self.max_restarts:
            self.gave_up = True
            self.echo(
                f"The job consumer exited (code {code}) {self.restarts + 1} times; not restarting"
                " it. Jobs wait until you run `sdc worker` or restart `make run`."
            )
            return
        self.restarts += 1
        self.echo(
            f"The job consumer exited (code {code}); starting a new one"
            f" ({self.restarts} of {self.max_restarts} restarts)."
        )
        self.proc = self.spawn()

    def stop(self, timeout_s: float = 15) -> None:
        """Stop watching, then stop the consumer gracefully (SIGINT), killing it if it hangs."""
        self._stopping.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=self.interval_s + 1)
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
