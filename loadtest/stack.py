"""The production-like stack the load test starts on loopback, and always stops.

``Stack`` owns every process it starts (gunicorn servers, ``sdc worker`` consumers, a private
redis-server) and the scratch PostgreSQL database it creates; ``close()`` stops them all and
is safe to call twice, from ``finally``, ``atexit`` or a signal handler. Nothing it did not
start is touched: processes are stopped by their own process group id.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PG_ADMIN_URL = os.environ.get("LOADTEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
GUNICORN_WORKERS = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_reachable() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return True
    except Exception:
        return False


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log: Path


@dataclass
class Stack:
    backend: str = "auto"  # auto | embedded
    consumers: int = 2
    consumer_threads: int = 2
    run_timeout_s: int = 300
    tmp: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="sdc-loadtest-")))
    procs: dict[str, Proc] = field(default_factory=dict)
    env: dict = field(default_factory=dict)
    database: str = "embedded SQLite"
    queue: str = "embedded SQLite (Huey)"
    ports: dict[str, int] = field(default_factory=dict)
    _pg_db: str | None = None
    _redis_port: int | None = None
    _closed: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- environment ---------------------------------------------------------------------------

    def prepare(self) -> None:
        """Choose the backends, build the environment, migrate and seed."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SDC_", "DATABASE_", "REDIS_", "RATELIMIT_", "HUEY_"))
        }
        env.update(
            SDC_ENV="production",
            SECRET_KEY=secrets.token_hex(32),
            SDC_INSTANCE_DIR=str(self.tmp / "instance"),
            # Loopback over plain HTTP: locust says it came through a TLS proxy
            # (X-Forwarded-Proto), which one trusted hop makes true, as behind a real proxy.
            PROXY_FIX_HOPS="1",
            # The only production setting changed: plain-HTTP cookies, so the load generator's
            # cookie jar sends the session back (a cookie attribute; no server-side cost).
            SESSION_COOKIE_SECURE="0",
            # Limits raised for the test (the issue says so); the limiter still runs and
            # still counts every request in its storage.
            RATELIMIT_DEFAULT="1000000 per minute",
            RATELIMIT_RUNS="1000000 per minute",
            RATELIMIT_GRADES="1000000 per minute",
            RUNS_PER_MINUTE="1000000",
            RUNS_CONCURRENT="1000000",
            RUN_TIMEOUT_S=str(self.run_timeout_s),
            PYTHONUNBUFFERED="1",
        )
        # Production refuses to start without DATABASE_URL: the embedded stack names its
        # SQLite file explicitly (the same file the embedded default would use).
        (self.tmp / "instance").mkdir(parents=True, exist_ok=True)
        env["DATABASE_URL"] = f"sqlite:///{self.tmp / 'instance' / 'sdc.db'}"
        if self.backend != "embedded" and pg_reachable():
            import psycopg

            self._pg_db = f"sdc_loadtest_{os.getpid()}_{secrets.token_hex(3)}"
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self._pg_db}"')
            env["DATABASE_URL"] = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + self._pg_db
            self.database = f"PostgreSQL (scratch database {self._pg_db})"
        if self.backend != "embedded" and shutil.which("redis-server"):
            self._redis_port = free_port()
            self.start_redis()
            env["REDIS_URL"] = f"redis://127.0.0.1:{self._redis_port}/0"
            self.queue = f"Redis (private redis-server on port {self._redis_port})"
        self.env = env
        self.run([str(BIN / "sdc"), "db", "upgrade"], "migrate")

    def vacuum(self) -> bool:
        """``VACUUM (ANALYZE)`` the scratch PostgreSQL database if the server runs without
        autovacuum (a development server may turn it off; production runs it); True if it did.

        Without it every phase inherits the dead rows of the phases before it (each autosave
        leaves a dead undo step, version and project row) and statistics from the empty
        database, so later phases would measure a bloat production never keeps.
        """
        if self._pg_db is None:
            return False
        import psycopg

        with psycopg.connect(self.env["DATABASE_URL"], autocommit=True) as conn:
            if conn.execute("SHOW autovacuum").fetchone()[0] == "on":
                return False
            conn.execute("VACUUM (ANALYZE)")
        return True

    def database_backend_pids(self) -> list[int]:
        """Process ids of the PostgreSQL server processes connected to the scratch database,
        other than the one answering this question; empty on the embedded stack."""
        if self._pg_db is None:
            return []
        import psycopg

        with psycopg.connect(self.env["DATABASE_URL"], autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchall()
        return [r[0] for r in rows]

    def seed(self, users: int) -> Path:
        path = self.tmp / "loadtest-data.json"
        self.run([str(BIN / "sdc"), "seed", "--load-test", str(users), "--out", str(path)], "seed")
        return path

    def run(self, cmd: list[str], name: str) -> None:
        log = self.tmp / f"{name}.log"
        with open(log, "w") as fh:
            done = subprocess.run(cmd, cwd=ROOT, env=self.env, stdout=fh, stderr=subprocess.STDOUT)
        if done.returncode:
            raise RuntimeError(f"{name} failed ({done.returncode}):\n{log.read_text()[-3000:]}")

    # -- processes -----------------------------------------------------------------------------

    def spawn(self, name: str, cmd: list[str], env: dict | None = None) -> Proc:
        log = self.tmp / f"{name}.log"
        fh = open(log, "ab")
        popen = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env or self.env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as one, and only it
        )
        fh.close()
        proc = Proc(name, popen, log)
        with self._lock:
            self.procs[name] = proc
        return proc

    def start_redis(self) -> None:
        self.spawn(
            "redis",
            [
                "redis-server",
                "--port",
                str(self._redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.tmp),
            ],
            env=dict(os.environ),
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self._redis_port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the private redis-server did not start")

    def restart_redis(self, down_s: float = 2.0) -> None:
        """Fault injection: stop Redis (its queue contents are lost: no persistence) and start
        it again on the same port."""
        self.stop("redis")
        time.sleep(down_s)
        self.start_redis()

    def gunicorn(self, name: str, app: str) -> int:
        port = free_port()
        self.spawn(
            name,
            [
                str(BIN / "gunicorn"),
                "--config",
                "python:sdc.gunicorn_config",  # the production settings, for hello too
                "--workers",
                str(GUNICORN_WORKERS),
                "--worker-class",
                "sync",
                "--bind",
                f"127.0.0.1:{port}",
                "--graceful-timeout",
                "5",
                app,
            ],
        )
        self.ports[name] = port
        self.wait_http(name, port)
        return port

    def consumer(self, index: int) -> Proc:
        return self.spawn(
            f"consumer-{index}",
            [str(BIN / "sdc"), "worker", "--workers", str(self.consumer_threads)],
        )

    def wait_http(self, name: str, port: int, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        url = f"http://127.0.0.1:{port}/healthz" if name != "hello" else f"http://127.0.0.1:{port}/"
        while time.monotonic() < deadline:
            if self.procs[name].popen.poll() is not None:
                raise RuntimeError(f"{name} exited:\n{self.procs[name].log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except Exception:
                time.sleep(0.2)
        raise RuntimeError(f"{name} did not answer on port {port}")

    def kill(self, name: str) -> None:
        """Fault injection: SIGKILL, no chance to finish or hand back work."""
        proc = self.procs.get(name)
        if proc and proc.popen.poll() is None:
            os.killpg(proc.popen.pid, signal.SIGKILL)
            proc.popen.wait(5)

    def stop(self, name: str, timeout_s: float = 10) -> None:
        with self._lock:
            proc = self.procs.pop(name, None)
        if proc is None or proc.popen.poll() is not None:
            return
        try:
            os.killpg(proc.popen.pid, signal.SIGTERM)
            proc.popen.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.popen.pid, signal.SIGKILL)
            proc.popen.wait(5)
        except ProcessLookupError:
            pass

    def close(self) -> None:
        """Stop everything this stack started and drop its scratch database (idempotent)."""
        if self._closed:
            return
        self._closed = True
        for name in [n for n in self.procs if n != "redis"] + ["redis"]:
            try:
                self.stop(name)
            except Exception as exc:  # keep stopping the others
                print(f"could not stop {name}: {exc}", file=sys.stderr)
        if self._pg_db:
            try:
                import psycopg

                with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{self._pg_db}" WITH (FORCE)')
            except Exception as exc:
                print(f"could not drop {self._pg_db}: {exc}", file=sys.stderr)
        if not os.environ.get("LOADTEST_KEEP_TMP"):
            shutil.rmtree(self.tmp, ignore_errors=True)

    def pids(self) -> dict[str, int]:
        with self._lock:
            return {n: p.popen.pid for n, p in self.procs.items() if p.popen.poll() is None}
