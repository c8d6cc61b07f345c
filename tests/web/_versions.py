"""Helpers shared by the projects, workspace and traffic tests."""

from __future__ import annotations

import contextlib
import json
import re

from sdc.extensions import db
from sdc.models import Version
from tests.conftest import captured_sql, csrf_token

REVISION = re.compile(r'name="revision" value="(\d+)"')


def start(client, slug: str = "url-shortener") -> str:
    """Press Start on a scenario; returns the workspace URL."""
    token = csrf_token(client, "/scenarios/")
    resp = client.post(f"/projects/start/{slug}", data={"csrf_token": token})
    assert resp.status_code == 303, resp.get_data(as_text=True)[:300]
    return resp.headers["Location"]


def ids(url: str) -> tuple[str, str]:
    m = re.search(r"/projects/([0-9a-f-]+)/versions/([0-9a-f-]+)", url)
    return m.group(1), m.group(2)


def revision_of(client, url: str) -> int:
    return int(REVISION.search(client.get(url).get_data(as_text=True)).group(1))


def new_revision(resp) -> int:
    return json.loads(resp.headers["HX-Trigger"])["sdc:revision"]["revision"]


def stored(app, url: str) -> Version:
    """The version as stored now (fresh from the database)."""
    _pid, vid = ids(url)
    import uuid

    with app.app_context():
        db.session.expire_all()
        version = db.session.get(Version, uuid.UUID(vid))
        db.session.expunge(version)
        return version


@contextlib.contextmanager
def count_queries(app):
    """The SQL statements sent to the database inside the block (texts; filled on exit)."""
    with app.app_context():
        engine = db.engine
    statements: list[str] = []
    with captured_sql(engine) as captured:
        yield statements
    statements.extend(sql for sql, _params in captured)


def add(hx, url: str, rev: int, ctype: str, label: str = "") -> int:
    resp = hx.post(url + "/components", data={"revision": rev, "type": ctype, "label": label})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    return new_revision(resp)


def connect(hx, url: str, rev: int, source: str, target: str, **extra) -> int:
    data = {"revision": rev, "source": source, "target": target, **extra}
    resp = hx.post(url + "/edges", data=data)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    return new_revision(resp)
