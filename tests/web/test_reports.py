"""The report page and its PDF: content, text extraction, rasterising, export record, safe
file name, and the SSRF guard (nothing the user typed makes the renderer fetch or read)."""

from __future__ import annotations

import io
import shutil
import socket
import subprocess
import threading
import time
import uuid

import pytest
from pypdf import PdfReader

from sdc.extensions import db
from sdc.models import ReportExport, User, Version
from tests import factories
from tests.web._compare_helpers import add_cache, pair_ids

JSON = {"Accept": "application/json"}


def pdf_text(body: bytes) -> str:
    reader = PdfReader(io.BytesIO(body))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


class Listener:
    """A loopback TCP listener that counts the connections it receives."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self):
        time.sleep(0.3)  # let a late connection arrive before counting
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture
def listener():
    lst = Listener()
    yield lst
    lst.close()


def _graded_and_run(app, user, **kw):
    ids = pair_ids(app, user, add_cache, run=True, **kw)
    from sdc.services import grades

    with app.app_context():
        row, _ = grades.start_grade(db.session.get(User, user.id), ids.v2)
        db.session.refresh(row)
        assert row.status == "completed", row.error
    return ids


def test_report_page_shows_every_section(app, logged_in, user):
    ids = _graded_and_run(app, user)
    page = logged_in.get(f"/projects/{ids.project}/report").get_data(as_text=True)
    for section in (
        "report-scenario",
        "report-design",
        "report-traffic",
        "report-results",
        "report-failures",
        "report-grade",
        "report-history",
        "report-manifest",
    ):
        assert f'id="{section}"' in page, section
    assert "report on version 2" in page and 'id="report-diagram"' in page
    assert 'id="score-history"' in page and 'id="download-pdf"' in page
    assert 'id="share-links"' in page  # the owner manages links here
    data = logged_in.get(f"/projects/{ids.project}/report", headers=JSON).get_json()
    assert data["version"] == 2 and data["run"]["seed"] == 1 and data["grade"]["overall_score"]
    assert [h["version"] for h in data["history"]] == [1, 2]


def test_report_of_a_chosen_version(app, logged_in, user):
    ids = _graded_and_run(app, user)
    page = logged_in.get(f"/projects/{ids.project}/report?version={ids.v1}").get_data(as_text=True)
    assert "report on version 1" in page and "has not been graded yet" in page
    assert logged_in.get(f"/projects/{ids.project}/report?version=bad").status_code == 404


def test_pdf_holds_the_key_figures_and_rasterises(app, logged_in, user, tmp_path):
    ids = _graded_and_run(app, user)
    data = logged_in.get(f"/projects/{ids.project}/report", headers=JSON).get_json()
    resp = logged_in.get(f"/projects/{ids.project}/report.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert resp.data.startswith(b"%PDF-")
    assert resp.headers["Content-Disposition"] == (
        'attachment; filename="sdc-report-url-shortener-v2.pdf"'
    )
    text = pdf_text(resp.data)
    metrics = data["run"]["metrics"]
    assert "URL shortener: report on version 2" in text
    assert f"{metrics['p95_ms']:.0f} ms" in text  # the p95 figure
    assert f"{metrics['throughput_rps']:,.1f} rps" in text
    assert f"{data['grade']['overall_score']:.1f}" in text
    assert data["run"]["input_hash"] in text.replace("\n", "")
    assert "Run manifest" in text and "Progress across versions" in text
    # The diagram is vector: its labels are text in the PDF, not pixels.
    assert "Cache" in text and "USR" in text
    with app.app_context():
        rows = db.session.query(ReportExport).all()
        assert len(rows) == 1 and rows[0].size_bytes == len(resp.data)
        assert rows[0].file_name == "sdc-report-url-shortener-v2.pdf"
        import hashlib

        assert rows[0].sha256 == hashlib.sha256(resp.data).hexdigest()
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed: cannot rasterise the PDF")
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(resp.data)
    proc = subprocess.run(
        ["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "page")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0 and proc.stderr.strip() == "", proc.stderr
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) == len(PdfReader(io.BytesIO(resp.data)).pages) >= 1
    assert all(p.stat().st_size > 1000 for p in pages)


def test_pdf_file_name_is_safe(app, logged_in, user):
    ids = pair_ids(app, user, title='Ünïcode "quoted"\r\n; name=evil.exe/../')
    resp = logged_in.get(f"/projects/{ids.project}/report.pdf")
    disposition = resp.headers["Content-Disposition"]
    assert disposition == 'attachment; filename="sdc-report-unicode-quoted-name-evil-exe-v2.pdf"'


def test_nothing_user_typed_makes_the_renderer_fetch_or_read(app, logged_in, user, listener):
    url = f"http://127.0.0.1:{listener.port}"
    hostile = (
        f"![img]({url}/md-image.png) [link]({url}/md-link) "
        f'<img src="{url}/raw-img.png"> <img src="file:///etc/passwd">'
        f' <link rel="stylesheet" href="{url}/x.css"> <style>@import url({url}/i.css);</style>'
        " file:///etc/passwd"
    )
    ids = pair_ids(app, user, run=False)
    with app.app_context():
        v2 = db.session.get(Version, ids.v2)
        v2.notes = hostile
        design = dict(v2.design)
        design["components"] = [dict(c) for c in design["components"]]
        design["components"][1]["label"] = f'<img src="{url}/label.png"> file:///etc/passwd'
        v2.design = design
        db.session.commit()
    resp = logged_in.get(f"/projects/{ids.project}/report.pdf")
    assert resp.status_code == 200
    text = pdf_text(resp.data)
    assert "root:" not in text  # /etc/passwd was not read into the document
    assert "file:///etc/passwd" in text.replace("\n", "")  # shown as the text it is
    assert listener.connections == 0


def test_renderer_refuses_every_reference_in_raw_html(listener):
    """Below the templates: even markup that is not escaped fetches nothing."""
    from sdc.web.pdf import render_pdf

    url = f"http://127.0.0.1:{listener.port}"
    html = (
        f'<html><head><link rel="stylesheet" href="{url}/a.css">'
        f"<style>@import url({url}/b.css); @font-face {{ font-family: X; src: url({url}/f.ttf); }}"
        " body { background-image: url(file:///etc/passwd); }</style></head><body>"
        f'<img src="{url}/c.png"><img src="file:///etc/passwd"><img src="/etc/passwd">'
        f'<p style="background-image: url({url}/d.png)">x</p><h1>Figure 42</h1>'
        f'<pdf:font name="X" src="{url}/g.ttf"/></body></html>'
    )
    text = pdf_text(render_pdf(html))
    assert "Figure 42" in text and "root:" not in text
    assert listener.connections == 0


def test_svg_becomes_vector_image_not_raster():
    from sdc.web.diagram import render_diagram
    from sdc.web.pdf import inline_svgs
    from tests.web._compare_helpers import DESIGN

    html, made = inline_svgs(f"<div>{render_diagram(DESIGN)}</div>")
    assert "<svg" not in html and len(made) == 1
    assert next(iter(made)).startswith("data:image/svg+xml;base64,")


def test_report_is_owner_only(app, client, logged_in, user):
    ids = pair_ids(app, user)
    with app.app_context():
        token = factories.make_token(factories.make_user("other@example.com"))
    fresh = app.test_client()
    bearer = {"Authorization": f"Bearer {token}", **JSON}
    for path in ("report", "report.pdf", "share-links"):
        assert fresh.get(f"/projects/{ids.project}/{path}", headers=bearer).status_code == 404
    assert fresh.get(f"/projects/{ids.project}/report").status_code in (302, 303)
    assert logged_in.get(f"/projects/{uuid.uuid4()}/report").status_code == 404


def test_viewer_reads_report_and_compare_but_gets_no_export_or_run_buttons(app, user, monkeypatch):
    """A viewer member reads both pages; the buttons their role cannot use are not offered,
    and the PDF is refused (403) before anything is rendered or recorded."""
    from sdc.services import members
    from tests.conftest import AuthActions

    ids = pair_ids(app, user, add_cache)
    with app.app_context():
        owner = db.session.get(User, user.id)
        viewer = factories.make_user("vi@example.com")
        _i, token = members.create_invite(owner, ids.project, viewer.email, "viewer")
        members.accept_invite(viewer, token)
    client = app.test_client()
    AuthActions(client).login("vi@example.com")

    report = client.get(f"/projects/{ids.project}/report").get_data(as_text=True)
    assert 'id="report-title"' in report
    assert 'id="download-pdf"' not in report and 'id="pdf-not-allowed"' in report
    assert 'id="share-links"' not in report
    compare = client.get(f"/projects/{ids.project}/compare").get_data(as_text=True)
    assert "Version 2 has no completed run." in compare
    assert 'id="run-both-button"' not in compare and 'id="run-both-not-allowed"' in compare

    def no_render(_html):
        raise AssertionError("the PDF was rendered for a caller who may not export it")

    monkeypatch.setattr("sdc.web.reports.routes.render_pdf", no_render)
    resp = client.get(f"/projects/{ids.project}/report.pdf")
    assert resp.status_code == 403
    with app.app_context():
        assert db.session.query(ReportExport).count() == 0
