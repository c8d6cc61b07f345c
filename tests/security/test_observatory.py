"""Every main page grades A+ (score >= 120) with the MDN HTTP Observatory, in production config."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OBS_DIR = os.environ.get("SDC_OBSERVATORY_DIR", "")


@pytest.mark.skipif(
    not OBS_DIR or not Path(OBS_DIR, "tls", "leaf.pem").exists() or not shutil.which("node"),
    reason="SDC_OBSERVATORY_DIR unset or not prepared (../shared/tools/observatory/setup.sh; .ci/run does it)",
)
def test_every_page_grades_a_plus():
    out = subprocess.run(
        [sys.executable, str(ROOT / "infra" / "scripts" / "observatory.py"), OBS_DIR],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("A+") >= 7
