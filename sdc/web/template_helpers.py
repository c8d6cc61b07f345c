"""Jinja globals and filters shared by every page and fragment."""

from __future__ import annotations

import hashlib
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from flask import Flask, current_app, has_request_context, request, url_for
from flask.templating import Environment as FlaskEnvironment
from flask_wtf.csrf import generate_csrf

from sdc.models.base import as_utc

HTMX_FILE = "vendor/htmx-2.0.11.min.js"
PICO_FILE = "vendor/pico-2.1.1.min.css"
# Static URLs carry a content hash (?v=...), so a browser may keep them for a year: a changed
# file gets a new URL. A request without the current hash gets no long-lived caching.
STATIC_MAX_AGE_S = 365 * 24 * 3600


_DICT_ATTRIBUTES = frozenset(dir(dict))
_MISSING = object()


class Environment(FlaskEnvironment):
    """Flask's Jinja environment with a faster ``{{ d.key }}`` on plain dicts.

    Jinja resolves ``d.key`` as ``getattr(d, "key")`` and, on AttributeError, ``d["key"]``.
    Designs, results and reports are dicts, so most lookups on a page took the exception path
    (about a microsecond each, hundreds per workspace page). A plain dict has no attributes
    beyond ``dir(dict)``, so for any other name reading the item first gives the same value,
    and a name such as ``items`` or ``get`` still resolves to the method, as in Jinja.
    """

    def getattr(self, obj, attribute):
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            value = obj.get(attribute, _MISSING)
            # A missing key ends where Jinja's lookup ends after both tries fail.
            return self.undefined(obj=obj, name=attribute) if value is _MISSING else value
        return super().getattr(obj, attribute)


def percent(value, digits: int = 1) -> str:
    """Ratios are fractions in data and percent on screen."""
    if value is None:
        return "n/a"
    return f"{value * 100:.{digits}f}%"


def number(value, digits: int = 0) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}"


def hhmm(value: datetime | None) -> str:
    value = as_utc(value)
    return value.strftime("%H:%M UTC") if value else ""


@lru_cache(maxsize=512)
def _content_hash(path: str, mtime_ns: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def static_hash(app: Flask, filename: str) -> str | None:
    """The first 12 hex digits of the file's SHA-256 (cached per file version), or None.

    Outside debug mode static files only change with a deploy (a restart), so the digest is
    kept per file name for the life of the process: a page links several assets and resolving
    and stat-ing each one on every render cost ~0.3 ms a link. In debug mode the file's mtime
    is checked each time, so an edited stylesheet gets a new URL at once.
    """
    if not app.debug:
        cache = app.extensions.setdefault("sdc_static_hashes", {})
        if filename in cache:
            return cache[filename]
        digest = _hash_now(app, filename)
        if len(cache) < 1024:  # names come from requests too (static responses): stay bounded
            cache[filename] = digest
        return digest
    return _hash_now(app, filename)


def _hash_now(app: Flask, filename: str) -> str | None:
    folder = Path(app.static_folder or "")
    path = (folder / filename).resolve()
    if folder.resolve() not in path.parents:
        return None
    try:
        return _content_hash(str(path), path.stat().st_mtime_ns)
    except OSError:
        return None


def static_url(filename: str) -> str:
    """``url_for("static", ...)`` plus ``?v=<content hash>``: such URLs are cached for a year."""
    digest = static_hash(current_app, filename)
    # Built once per (mount point, file version): every render asks for the same few assets,
    # and url_for costs more than the lookup. Bounded like the hashes (names come from pages).
    key = (request.script_root if has_request_context() else None, filename, digest)
    urls = current_app.extensions.setdefault("sdc_static_urls", {})
    url = urls.get(key)
    if url is None:
        if digest is None:
            url = url_for("static", filename=filename)
        else:
            url = url_for("static", filename=filename, v=digest)
        if len(urls) < 1024:
            urls[key] = url
    return url


def init_static_caching(app: Flask) -> None:
    @app.after_request
    def cache_hashed_static(resp):
        if request.endpoint != "static" or resp.status_code != 200:
            return resp
        filename = (request.view_args or {}).get("filename", "")
        if request.args.get("v") and request.args.get("v") == static_hash(app, filename):
            resp.cache_control.no_cache = None
            resp.cache_control.public = True
            resp.cache_control.max_age = STATIC_MAX_AGE_S
            resp.cache_control.immutable = True
        else:
            resp.cache_control.no_cache = True  # revalidate (ETag / Last-Modified)
        return resp


def init_app(app: Flask) -> None:
    init_static_caching(app)
    app.jinja_env.filters.update(percent=percent, number=number, hhmm=hhmm)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def shared_context():
        return {
            "csrf_token": generate_csrf,
            "htmx_url": static_url(HTMX_FILE),
            "pico_url": static_url(PICO_FILE),
            "current_path": request.path,
            "has_endpoint": lambda name: name in app.view_functions,
            "static_url": static_url,
        }
