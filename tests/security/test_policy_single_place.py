"""Role rules live in one module (``sdc/services/policy.py``): no view, service, task or
template compares a project role or an owner id by hand. They ask ``policy.can`` /
``policy.allows`` / ``policy.require`` (or ``policy.is_owner`` for the fact of ownership).

SQL conditions on the ``Project.owner_id`` column ("projects I own") are not role checks and
are not matched; ``User.role == "admin"`` is the site role, not a project role.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "sdc" / "services" / "policy.py"
ROLE = r"""(?:['"](?:owner|editor|viewer)['"]|(?:policy\.)?(?:OWNER|EDITOR|VIEWER)\b)"""
PATTERNS = [
    # role == "viewer", m.role != 'owner', role == policy.OWNER, "editor" == role
    re.compile(rf"(?:==|!=)\s*{ROLE}"),
    re.compile(rf"{ROLE}\s*(?:==|!=)"),
    re.compile(rf"\bin\s*[\(\[{{]\s*{ROLE}"),
    # project.owner_id == current_user.id on an instance (not the SQL column Project.owner_id)
    re.compile(r"\b[a-z_][a-z_0-9]*\.owner_id\s*(?:==|!=)"),
    re.compile(r"(?:==|!=)\s*[a-z_][a-z_0-9]*\.owner_id\b"),
]


def _sources():
    for folder in ("sdc", "tasks"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix in (".py", ".html") and path != POLICY:
                yield path


def hand_written_role_checks() -> list[str]:
    found = []
    for path in _sources():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if any(p.search(line) for p in PATTERNS):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    return found


def test_no_role_check_outside_the_policy_module():
    assert hand_written_role_checks() == []


def test_the_patterns_catch_what_they_are_for():
    samples = [
        "{% if role == 'viewer' %}",
        "is_owner = project.owner_id == current_user.id",
        "invites = x if role == policy.OWNER else []",
        'if member.role in ("editor", "owner"):',
    ]
    for line in samples:
        assert any(p.search(line) for p in PATTERNS), line
    for line in (
        ".where(Project.owner_id == user.id)",
        'return self.role == "admin"',
        "if member.role == role:",
    ):
        assert not any(p.search(line) for p in PATTERNS), line
