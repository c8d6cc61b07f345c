"""Everything about htmx's HX-* headers lives here, so views branch on the kind of request only."""

from __future__ import annotations

import json

from flask import Response, redirect, request


def is_partial() -> bool:
    """True when htmx asked for a fragment (and not a history-restore of a whole page)."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def redirect_to(url: str, status: int = 303) -> Response:
    """Redirect a plain request with a 303, and an htmx request with ``HX-Redirect``."""
    if is_partial():
        resp = Response("", status=204)
        resp.headers["HX-Redirect"] = url
        return resp
    return redirect(url, code=status)


def trigger(resp: Response, event: str, detail: object | None = None) -> Response:
    """Ask htmx to fire ``event`` on the client after the swap."""
    existing = resp.headers.get("HX-Trigger")
    events = json.loads(existing) if existing else {}
    events[event] = detail if detail is not None else True
    resp.headers["HX-Trigger"] = json.dumps(events)
    return resp


def add_vary(resp: Response, *names: str) -> Response:
    """Add ``names`` (and HX-Request on HTML: pages and fragments share URLs) to ``Vary``.

    Adds, never replaces: every ``Vary`` line already on the response (Flask-CORS appends its
    own ``Vary: Origin`` line, which Werkzeug's ``resp.vary`` would drop, as it reads only the
    first line) is merged into one header, in order, without duplicates."""
    wanted = [*names, "HX-Request"] if resp.mimetype == "text/html" else list(names)
    values: list[str] = []
    for line in resp.headers.getlist("Vary"):
        values.extend(v.strip() for v in line.split(",") if v.strip())
    for name in wanted:
        values.append(name)
    merged: list[str] = []
    for value in values:
        if value == "*" or value.lower() not in {m.lower() for m in merged}:
            merged.append(value)
    if "*" in merged:
        merged = ["*"]
    if merged:
        resp.headers["Vary"] = ", ".join(merged)
    return resp
