"""Markup rules every template keeps, checked on the template sources (no rendering).

A scrolling wrapper around a wide table must be reachable by keyboard and named for screen
readers (axe's ``scrollable-region-focusable``): the browser scan only sees the regions that
scroll at its window size, so a narrow phone screen would otherwise hit them unseen.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parents[2] / "sdc" / "templates"
SCROLL_WRAPPER = re.compile(r'<div class="(?:table-scroll|overflow-auto)"[^>]*>')


def _wrappers():
    for path in sorted(TEMPLATES.rglob("*.html")):
        for match in SCROLL_WRAPPER.finditer(path.read_text(encoding="utf-8")):
            yield pytest.param(match.group(0), id=f"{path.relative_to(TEMPLATES)}@{match.start()}")


WRAPPERS = list(_wrappers())


def test_the_walk_finds_the_table_wrappers():
    assert len(WRAPPERS) >= 8


@pytest.mark.parametrize("tag", WRAPPERS)
def test_scrolling_table_wrappers_are_focusable_named_regions(tag):
    assert 'tabindex="0"' in tag
    assert 'role="region"' in tag
    assert re.search(r'aria-label="[^"]+"', tag)
