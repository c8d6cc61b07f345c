"""The candidate's notes: Markdown rendered to sanitised HTML (nh3's allow-list)."""

from __future__ import annotations

import functools

import markdown
import nh3
from markupsafe import Markup

TAGS = {
    "p",
    "br",
    "hr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "strong",
    "em",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "del",
}


@functools.lru_cache(maxsize=256)
def render_markdown(text: str) -> Markup:
    """Markdown to HTML with every tag and attribute outside a small allow-list removed.

    Links keep only ``href`` (no javascript: URLs) and get ``rel="noopener noreferrer"``.
    A pure function of ``text``, memoised per process: every workspace view renders the notes,
    which change far less often than they are shown (256 texts of at most 20,000 characters).
    """
    html = markdown.markdown(text or "", extensions=["tables", "fenced_code", "sane_lists"])
    clean = nh3.clean(
        html,
        tags=TAGS,
        attributes={"a": {"href", "title"}, "th": {"align"}, "td": {"align"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return Markup(
        clean
    )  # reviewed: the Markdown output is sanitised by nh3 with an allow-list first # nosec B704
