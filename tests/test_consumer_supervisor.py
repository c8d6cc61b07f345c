"""``sdc serve`` keeps a job consumer running: a dead one is restarted (a bounded number of
times) and Ctrl-C stops it gracefully. Driven by ``check()`` on fake processes: no timing."""

from __future__ import annotations

import signal
import subprocess
import sys

from sdc.commands.consumer_supervisor import ConsumerSupervisor


class FakeProcess:
    def __init__(self):
        self.code = None
        self.signals = []
        self.killed = False

    def poll(self):
        return self.code

    def send_signal(self, sig):
        self.signals.append(sig)
        self.code = 0  # Huey stops gracefully on SIGINT

    def wait(self, timeout=None):
        return self.code

    def kill(self):
        self.killed = True


def _supervisor(max_restarts=2):
    spawned, said = [], []

    def spawn():
        spawned.append(FakeProcess())
        return spawned[-1]

    sup = ConsumerSupervisor(spawn, echo=said.append, max_restarts=max_restarts, interval_s=3600)
    sup.start()
    return sup, spawned, said


def test_a_live_consumer_is_left_alone():
    sup, spawned, said = _supervisor()
    sup.check()
    assert len(spawned) == 1 and said == []
    sup.stop()


def test_a_dead_consumer_is_restarted_and_the_terminal_is_told():
    sup, spawned, said = _supervisor()
    spawned[0].code = -9  # SIGKILLed
    sup.check()
    assert len(spawned) == 2 and sup.proc is spawned[1]
    assert "exited (code -9); starting a new one (1 of 2 restarts)" in said[0]
    sup.stop()


def test_restarts_are_bounded_then_it_says_how_to_recover():
    sup, spawned, said = _supervisor(max_restarts=2)
    for _ in range(5):
        sup.proc.code = 1
        sup.check()
    assert len(spawned) == 3 and sup.gave_up
    assert "not restarting" in said[-1] and "sdc worker" in said[-1]
    assert len(said) == 3  # two restarts and one final message, not one per check
    sup.stop()


def test_a_clean_exit_was_asked_for_and_is_not_restarted():
    sup, spawned, said = _supervisor()
    spawned[0].code = 0  # e.g. Ctrl-C reached the consumer before serve's own handler ran
    sup.check()
    sup.check()
    assert len(spawned) == 1 and len(said) == 1 and "stopped cleanly" in said[0]
    sup.stop()


def test_stop_sends_sigint_and_does_not_restart():
    sup, spawned, _said = _supervisor()
    sup.stop()
    assert spawned[0].signals == [signal.SIGINT] and not spawned[0].killed
    spawned[0].code = 0
    sup.check()  # stopping: an exited consumer is not brought back
    assert len(spawned) == 1


def test_a_consumer_that_ignores_sigint_is_killed():
    sup = ConsumerSupervisor(
        lambda: subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import signal,time; signal.signal(signal.SIGINT, signal.SIG_IGN); print('up', flush=True); time.sleep(60)",
            ],
            stdout=subprocess.PIPE,
        ),
        echo=lambda _t: None,
        interval_s=3600,
    )
    sup.start()
    assert sup.proc.stdout.readline() == b"up\n"  # the handler is installed
    sup.stop(timeout_s=0.5)
    assert sup.proc.returncode == -signal.SIGKILL
