"""sdc/core is framework-free: walk the AST of every module."""

from __future__ import annotations

import ast
from pathlib import Path

import sdc.core

FORBIDDEN = {
    "flask",
    "sqlalchemy",
    "flask_sqlalchemy",
    "huey",
    "redis",
    "click",
    "requests",
    "werkzeug",
}


def test_core_imports_no_framework():
    root = Path(sdc.core.__file__).parent
    bad = []
    files = list(root.rglob("*.py"))
    assert len(files) > 5
    for f in files:
        tree = ast.parse(f.read_text(), str(f))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "__import__":
                names = [a.value for a in node.args if isinstance(a, ast.Constant)]
            for n in names:
                if n.split(".")[0] in FORBIDDEN:
                    bad.append(f"{f}: {n}")
    assert not bad, bad
