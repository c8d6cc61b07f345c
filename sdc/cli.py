"""The ``sdc`` command: a Flask CLI group with the app preset (``flask --app sdc`` works too)."""

from __future__ import annotations

import os
import subprocess
import sys

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from werkzeug.serving import run_simple


def _create_app():
    from sdc import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=True, load_dotenv=False)
def cli():
    """System Design Coach."""


def main() -> None:
    cli(prog_name="sdc")


@click.command("seed")
@click.option(
    "--load-test",
    "load_test",
    type=int,
    default=None,
    metavar="N",
    help="Also create N load-test accounts with tokens and projects (loadtest/).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="With --load-test: write the accounts, tokens and ids as JSON here (default: stdout).",
)
@with_appcontext
def seed_command(load_test: int | None, out: str | None):
    """Upsert the scenario catalog, the demo account and its demo project (idempotent)."""
    from sdc.services import accounts
    from sdc.services.scenarios import seed_scenarios

    created, updated = seed_scenarios()
    settings = current_app.config["SDC_SETTINGS"]
    demo_user = accounts.ensure_user(settings.demo_email, settings.demo_password)
    click.echo(
        f"Scenarios: {created} created, {updated} updated. Demo account: {settings.demo_email}"
    )
    from sdc.services.demo import seed_demo

    made = seed_demo(demo_user)
    done = ", ".join(k for k, v in made.items() if v) or "nothing new"
    click.echo(f"Demo project (read-only at /demo): {done}")
    if load_test is not None:
        _seed_load_test(load_test, out)


def _seed_load_test(count: int, out: str | None) -> None:
    import json

    from sdc.services.load_test_data import seed_load_test

    try:
        data = seed_load_test(count)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    text = json.dumps(data, indent=1)
    if out is None:
        click.echo(text)
        return
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds API tokens
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    click.echo(f"Load-test data: {count} accounts, written to {out}")


@click.command("create-admin")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@with_appcontext
def create_admin_command(email: str, password: str):
    """Create an admin account (or promote an existing one)."""
    from sdc.services import ServiceError, accounts

    problem = accounts.password_problem(password, email)
    if problem:
        raise click.UsageError(problem)
    try:
        user = accounts.ensure_user(email, password, role="admin")
    except ServiceError as exc:
        raise click.UsageError(exc.message) from exc
    click.echo(f"Admin account ready: {user.email}")


@click.command("create-token")
@click.argument("email")
@click.option("--name", default="cli", help="A label to recognise the token by.")
@with_appcontext
def create_token_command(email: str, name: str):
    """Create a personal API token and print it once."""
    from sdc.services import NotFound, ServiceError, accounts

    try:
        user = accounts.find_user(email)
        _row, plaintext = accounts.create_api_token(user, name)
    except (NotFound, ServiceError) as exc:
        raise click.UsageError(exc.message) from exc
    click.echo(plaintext)


@click.command("reset-2fa")
@click.argument("email")
@click.option("--reason", required=True, help="Why, for the audit log (e.g. the ticket number).")
@with_appcontext
def reset_2fa_command(email: str, reason: str):
    """Turn off two-factor for an account that lost its authenticator; ends its sessions.

    Check the person's identity out of band first: this bypasses the second factor.
    """
    from sdc.services import NotFound, accounts, two_factor

    try:
        user = accounts.find_user(email)
    except NotFound as exc:
        raise click.UsageError(exc.message) from exc
    if not reason.strip():
        raise click.UsageError("--reason must say why (it goes into the audit log).")
    if two_factor.reset(user, reason.strip()):
        click.echo(f"Two-factor is off for {user.email}; their sessions have ended.")
    else:
        click.echo(f"{user.email} did not have two-factor on; nothing changed.")


# Consumers yield the CPU to the web processes on a shared host: a page waiting behind a
# simulation is a person waiting, a job waiting behind a page is a few milliseconds on a job
# that takes tenths of a second anyway. Measured with the load test on 2 cores: while runs were
# started as fast as possible, the two consumers used 1.4 cores and the web server 0.5.
WORKER_NICE = 10


def lower_priority(nice: int) -> None:
    """Add ``nice`` to this process's niceness (a lower CPU priority; 0 leaves it).

    On Linux with autogroup scheduling (the default on desktops and many servers) the CPU is
    first shared fairly between sessions and niceness only ranks processes within one, so a
    consumer that leads its own session (started by a supervisor, ``setsid``) also lowers its
    session's group; one that shares a session (``sdc serve`` starts it beside the web server)
    needs only its own niceness. Where the platform has neither (Windows) the consumer runs at
    normal priority. In containers the CPU is shared between cgroups: see ``cpu_shares`` in
    ``docker-compose.yml``.
    """
    if not nice or not hasattr(os, "nice"):
        return
    os.nice(nice)
    if os.getsid(0) == os.getpid():
        try:
            with open("/proc/self/autogroup", "w") as group:
                group.write(str(nice))
        except OSError:  # no autogroup (disabled, not Linux) or not permitted: niceness stands
            pass


@click.command("worker")
@click.option("--workers", "-w", default=2, show_default=True, help="Worker threads.")
@click.option(
    "--nice",
    type=click.IntRange(0, 19),
    envvar="SDC_WORKER_NICE",
    default=WORKER_NICE,
    show_default=True,
    help="Lower this consumer's CPU priority by this much (0: same as the web). "
    "Also read from $SDC_WORKER_NICE.",
)
def worker_command(workers: int, nice: int):
    """Run a Huey consumer for simulation and grading jobs."""
    import tasks
    from tasks import huey

    lower_priority(nice)
    tasks.load_task_modules()
    consumer = tasks.make_consumer(huey, workers)
    click.echo(f"Huey consumer: {type(huey).__name__}, {workers} worker threads, nice {nice}")
    heartbeat = _start_heartbeat(consumer, workers)
    try:
        consumer.run()
    finally:
        if heartbeat is not None:
            heartbeat.stop()


def _start_heartbeat(consumer, workers: int):
    """Write this consumer's heartbeat for the status page (a daemon thread)."""
    import tasks
    from tasks import huey
    from tasks.heartbeat import Heartbeat

    def healthy() -> bool:
        threads = getattr(consumer, "worker_threads", None) or []
        return all(t.is_alive() for _w, t in threads)

    try:
        heartbeat = Heartbeat(
            tasks.flask_app(), backend=type(huey).__name__, workers=workers, healthy=healthy
        )
        heartbeat.start()
    except Exception as exc:  # no heartbeat is a degraded status page, not a dead worker
        click.echo(f"Heartbeat not started: {exc}", err=True)
        return None
    return heartbeat


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--port", type=int, envvar="PORT", default=5000, show_default=True, help="Also read from $PORT."
)
@click.option("--worker/--no-worker", default=True, help="Also start a Huey consumer.")
def serve_command(host: str, port: int, worker: bool):
    """Serve the app and (by default) a Huey consumer together; Ctrl-C stops both."""
    app = current_app._get_current_object() if _has_app() else _create_app()
    settings = app.config["SDC_SETTINGS"]
    consumer = None
    if worker:
        from sdc.commands.consumer_supervisor import ConsumerSupervisor

        consumer = ConsumerSupervisor(
            lambda: subprocess.Popen([sys.executable, "-m", "sdc.cli", "worker"]),
            echo=lambda text: click.echo(text, err=True),
        )
        consumer.start()
    click.echo(f"System Design Coach on http://{host}:{port}  (queue: {settings.queue_backend})")
    click.echo(f"Demo login: {settings.demo_email} / {settings.demo_password}")
    try:
        # app.run() refuses to run under the flask CLI; run_simple is what it would call.
        run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)
    except KeyboardInterrupt:
        pass
    finally:
        if consumer is not None:
            consumer.stop()
        click.echo("Stopped.")


def _has_app() -> bool:
    try:
        current_app._get_current_object()
        return True
    except RuntimeError:
        return False


def register_commands(app: Flask) -> None:
    for command in (
        seed_command,
        create_admin_command,
        create_token_command,
        reset_2fa_command,
        worker_command,
        serve_command,
    ):
        app.cli.add_command(command)
    from sdc.commands.grade import grade_command
    from sdc.commands.simulate import simulate_command

    app.cli.add_command(simulate_command)
    app.cli.add_command(grade_command)


if __name__ == "__main__":
    main()
