"""Consumers yield the CPU to the web: ``sdc worker --nice`` (``sdc.cli.lower_priority``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sdc.cli import WORKER_NICE, worker_command

AUTOGROUP = Path("/proc/self/autogroup")
# Prints the process's niceness and its autogroup line, then lowers its priority by 7 and
# prints them again: "before_nice|before_group|after_nice|after_group".
PROBE = """
import os
from pathlib import Path
from sdc.cli import lower_priority
group = Path("/proc/self/autogroup")
def state():
    return f"{os.nice(0)}|{group.read_text().strip() if group.exists() else ''}"
before = state()
lower_priority(7)
print(before + "|" + state())
"""

linux_only = pytest.mark.skipif(not hasattr(os, "nice"), reason="os.nice: POSIX only")


def _probe(new_session: bool) -> tuple[int, str, int, str]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        check=True,
        start_new_session=new_session,
        cwd=Path(__file__).resolve().parent.parent,
    ).stdout.strip()
    before_nice, before_group, after_nice, after_group = out.split("|")
    return int(before_nice), before_group, int(after_nice), after_group


@linux_only
def test_consumer_in_the_web_servers_session_lowers_only_itself():
    before_nice, before_group, after_nice, after_group = _probe(new_session=False)
    assert after_nice == min(19, before_nice + 7)
    # The session's scheduling group is shared with whoever started us: left as it was.
    assert after_group == before_group


@linux_only
@pytest.mark.skipif(not AUTOGROUP.exists(), reason="no autogroup scheduling on this kernel")
def test_consumer_leading_its_own_session_lowers_its_group_too():
    """With autogroup, niceness alone ranks a process only inside its session: a consumer
    started by a supervisor in a session of its own would still get a full share of the CPU."""
    before_nice, before_group, after_nice, after_group = _probe(new_session=True)
    assert after_nice == min(19, before_nice + 7)
    assert before_group.endswith("nice 0")
    assert after_group.endswith("nice 7")


def test_nice_outside_the_range_is_refused_before_anything_starts():
    result = CliRunner().invoke(worker_command, ["--nice", "20"])
    assert result.exit_code == 2
    assert "--nice" in result.output and "0<=x<=19" in result.output


def test_default_priority_is_lower_than_the_webs():
    assert 0 < WORKER_NICE <= 19
    option = next(p for p in worker_command.params if p.name == "nice")
    assert option.default == WORKER_NICE and option.envvar == "SDC_WORKER_NICE"
