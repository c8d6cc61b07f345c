"""User text is inert wherever it is shown: HTML pages, htmx fragments, inline SVG, JSON, the
audit CSV and the PDF. Hostile strings are planted straight into the rows (the worst case: no
input validation in the way) in every user-text field, then every output is parsed and checked
for live markup: no script element carrying the payload, no ``on*`` attribute, no
``javascript:`` URL, no injected ``hx-*`` attribute, no evaluated template expression."""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from sdc.extensions import db
from sdc.models import ApiToken, Comment, Project, User, Version
from tests.security.test_principals import _sign_in, _world

PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{7*191919}}",  # evaluated it would read 1343433, a number no page prints by chance
    "javascript:alert(1)",
    '" hx-get="/x" x="',
    "' onmouseover='alert(1)",
]
TEXT = " | ".join(PAYLOADS)


class _Markup(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self._in_script = True
        if tag == "img" and ("src", "x") in attrs:
            self.problems.append(f"injected <img>: {attrs}")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
            if (name == "x" and not value) or (name.startswith("hx-") and value == "/x"):
                self.problems.append(f"injected attribute on <{tag}>: {name}={value!r}")
            if (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"javascript: URL in <{tag} {name}>")

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and "alert(1)" in data:
            self.problems.append("payload inside a <script> element")


def _html_problems(body: str) -> list[str]:
    parser = _Markup()
    parser.feed(body)
    problems = parser.problems
    if "1343433" in body:
        problems.append("template expression evaluated")
    return problems


def _svg_problems(body: str) -> list[str]:
    problems = []
    for svg in re.findall(r"<svg\b.*?</svg>", body, flags=re.S):
        root = ET.fromstring(svg)
        for el in root.iter():
            tag = el.tag.rsplit("}", 1)[-1]
            if tag in ("script", "foreignObject"):
                problems.append(f"<{tag}> in SVG")
            for name, value in el.attrib.items():
                local = name.rsplit("}", 1)[-1]
                if local.startswith("on") or value.strip().lower().startswith("javascript:"):
                    problems.append(f"SVG <{tag} {local}={value!r}>")
    return problems


@pytest.fixture
def planted(app):
    world = _world(app)
    with app.app_context():
        version = db.session.get(Version, world["args"]["version_id"])
        design = json.loads(json.dumps(version.design))
        for comp in design["components"]:
            comp["label"] = TEXT[:80]
            comp.setdefault("params", {})["note"] = TEXT
        version.design = design
        version.notes = TEXT
        db.session.get(Project, world["args"]["project_id"]).title = TEXT[:160]
        db.session.get(Comment, world["args"]["comment_id"]).body = TEXT
        owner = db.session.query(User).filter_by(email="owner@example.com").one()
        owner.profile = {
            "onboarding": "completed",
            "target_companies": PAYLOADS,
            "display_name": TEXT[:60],
        }
        for token in db.session.query(ApiToken).filter_by(user_id=owner.id):
            token.name = TEXT[:80]
        db.session.commit()
        db.session.remove()
    client = app.test_client()
    _sign_in(app, client, world["users"]["owner"])
    return world, client


def _pages(world) -> list[str]:
    a = world["args"]
    p, v = a["project_id"], a["version_id"]
    return [
        "/dashboard",
        f"/projects/{p}",
        f"/projects/{p}/versions/{v}",
        f"/projects/{p}/versions/{v}/traffic",
        f"/projects/{p}/versions/{v}/comments",
        f"/projects/{p}/report",
        f"/projects/{p}/members",
        f"/projects/{p}/compare",
        f"/runs/{a['run_id']}",
        f"/grades/{a['grade_id']}",
        "/settings",
        "/onboarding",
        f"/shared/{world['share_token']}",
    ]


def test_html_pages_and_fragments_are_inert(planted):
    world, client = planted
    checked = 0
    for path in _pages(world):
        for headers in ({}, {"HX-Request": "true"}):
            resp = client.get(path, headers=headers)
            if resp.status_code in (302, 303):
                continue
            assert resp.status_code == 200, (path, resp.status_code)
            body = resp.get_data(as_text=True)
            assert not _html_problems(body), (path, headers, _html_problems(body))
            assert not _svg_problems(body), (path, _svg_problems(body))
            checked += 1
    assert checked >= len(_pages(world))
    print(f"escaping: {checked} HTML responses x {len(PAYLOADS)} payloads")


def test_diagram_svg_is_inert(planted):
    world, client = planted
    a = world["args"]
    resp = client.get(
        f"/projects/{a['project_id']}/versions/{a['version_id']}/diagram",
        headers={"HX-Request": "true"},
    )
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<svg" in body
    assert not _svg_problems(body) and not _html_problems(body)
    assert "&lt;script&gt;" in body  # shown as text, not dropped


def test_json_keeps_the_text_as_data(planted):
    world, client = planted
    a = world["args"]
    resp = client.get(f"/projects/{a['project_id']}/versions/{a['version_id']}/design.json")
    assert resp.mimetype == "application/json"
    doc = json.loads(resp.get_data(as_text=True))
    assert doc["components"][0]["label"] == TEXT[:80]  # data, round-trips exactly
    assert resp.headers.get("X-Content-Type-Options") == "nosniff"


def test_audit_csv_neutralises_formulas_and_markup(app, planted):
    from sdc.services import audit

    with app.app_context():
        audit.record(
            audit.TOKEN_CREATED,
            "token",
            "t1",
            200,
            actor_email="=cmd|' /C calc'!A0",
            detail={"name": TEXT},
        )
        db.session.remove()
    client = app.test_client()
    _sign_in(app, client, planted[0]["users"]["admin"])
    resp = client.get("/admin/audit.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True))))
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@")), cell  # CSV injection
    resp = client.get("/admin/audit")
    assert not _html_problems(resp.get_data(as_text=True))


def test_pdf_text_is_literal(planted):
    world, client = planted
    resp = client.get(f"/projects/{world['args']['project_id']}/report.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    data = resp.get_data()
    assert b"/JavaScript" not in data and b"/JS " not in data and b"/OpenAction" not in data
