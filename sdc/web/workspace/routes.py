"""The design workspace: diagram, palette, connections, inspector, warnings, notes, undo.

Views parse (forms.py), call one service, and answer through ``sdc.web.editing``.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid

from flask import jsonify, make_response, render_template, request, url_for
from flask_login import current_user, login_required

from sdc.core import design_ops
from sdc.core.simulation.constants import (
    COMPONENT_TYPES,
    DISPATCHES,
    EDGE_MODES,
    EDGE_OPS,
    REGIONS,
    SERVICE_DISTS,
    TIERS,
    TYPE_DEFAULTS,
)
from sdc.services import policy
from sdc.services import versions as version_service
from sdc.services.version_memo import memo
from sdc.services.versions import InvalidEdit, StaleRevision
from sdc.web import editing
from sdc.web import forms_common as common
from sdc.web.diagram import render_diagram
from sdc.web.notes import render_markdown
from sdc.web.runs.helpers import remember_latest_run
from sdc.web.workspace import bp, forms

bp.add_app_template_filter(render_markdown, "markdown")


def page_url(project_id, version_id, component: str | None = None) -> str:
    return url_for(
        "workspace.show", project_id=project_id, version_id=version_id, component=component
    )


class VersionUrls:
    """URLs of one version's per-component and per-edge routes for templates: ``url_for`` runs
    once per endpoint with a placeholder id, which is then replaced per component or edge.

    A workspace page links every component and edge several times (dozens of URLs) and each
    ``url_for`` costs tens of microseconds. Ids are safe to paste: the stored design only has
    ids matching ``[A-Za-z0-9_-]{1,64}`` (``sdc.core.simulation.validation.ID_RE``).
    """

    _PLACEHOLDER = "__SDC_ID__"

    def __init__(self, project_id, version_id):
        self._ids = {"project_id": project_id, "version_id": version_id}
        self._patterns: dict[tuple[str, str], str] = {}

    def _fill(self, endpoint: str, arg: str, value: str) -> str:
        pattern = self._patterns.get((endpoint, arg))
        if pattern is None:
            pattern = url_for(endpoint, **self._ids, **{arg: self._PLACEHOLDER})
            self._patterns[(endpoint, arg)] = pattern
        return pattern.replace(self._PLACEHOLDER, value)

    def show(self, cid: str) -> str:
        """The workspace page with component ``cid`` in the inspector."""
        return self._fill("workspace.show", "component", cid)

    def inspector(self, cid: str) -> str:
        return self._fill("workspace.inspector", "component", cid)

    def component(self, endpoint: str, cid: str) -> str:
        return self._fill(endpoint, "cid", cid)

    def edge(self, endpoint: str, eid: str) -> str:
        return self._fill(endpoint, "eid", eid)


def _selected(design: dict, cid: str | None) -> dict | None:
    if not cid:
        return None
    return next((c for c in design.get("components", []) if c.get("id") == cid), None)


def context(version, selected: str | None = None, errors: dict | None = None, **extra) -> dict:
    """Everything the workspace templates need; the same for pages and fragments."""
    design = version.design
    pid, vid = version.project_id, version.id
    validation = memo("validation", version, None, lambda: version_service.validation_of(version))
    comp = _selected(design, selected)
    urls = VersionUrls(pid, vid)

    def link(cid: str) -> dict:
        return {
            "href": urls.show(cid) + "#component-inspector",
            # workspace.js loads this into the inspector (htmx does not cancel SVG links).
            "data-inspector-url": urls.inspector(cid),
        }

    history, badges = version_service.workspace_counts(vid)
    labels = {c["id"]: c.get("label") or c["id"] for c in design.get("components", [])}
    role = policy.role_of(current_user, version.project)
    return dict(
        version=version,
        urls=urls,
        project=version.project,
        scenario=version.project.scenario,
        design=design,
        labels=labels,
        diagram=_diagram(version, comp["id"] if comp else None, link, badges),
        role=role,
        can_edit=policy.allows(role, "edit"),
        validation=validation,
        warnings_by_component=_warnings_by_component(validation),
        history=history,
        selected=comp,
        defaults=TYPE_DEFAULTS.get(comp["type"], {}) if comp else {},
        param_fields=forms.PARAM_FIELDS,
        component_types=COMPONENT_TYPES,
        tiers=tuple(TIERS),
        regions=REGIONS,
        dispatches=DISPATCHES,
        service_dists=SERVICE_DISTS,
        edge_ops=EDGE_OPS,
        edge_modes=EDGE_MODES,
        az_choices=forms.AZ_CHOICES,
        limits={
            "components": design_ops.MAX_COMPONENTS,
            "edges": design_ops.MAX_EDGES,
            "label": design_ops.MAX_LABEL,
            "notes": design_ops.MAX_NOTES,
        },
        errors=errors or {},
        conflict=None,
        **extra,
    )


def _diagram(version, selected: str | None, link, badges: dict):
    """The workspace diagram (memoised: the same stored design, selection and open-comment
    ``badges`` always draw the same SVG; ``link`` depends only on the version's ids)."""
    return memo(
        "diagram",
        version,
        (selected, tuple(sorted(badges.items()))),
        lambda: render_diagram(version.design, selected=selected, link=link, badges=badges),
    )


def _warnings_by_component(validation) -> dict:
    out: dict = {}
    for w in validation.warnings:
        if w.component_id:
            out.setdefault(w.component_id, []).append(w)
    return out


def _load(project_id, version_id):
    return version_service.get_version_for(current_user, project_id, version_id)


def _full_page(project_id, version_id, selected=None, errors=None, conflict=None, **extra):
    version = _load(project_id, version_id)
    ctx = context(version, selected, errors, **extra)
    ctx["conflict"] = conflict
    return render_template("workspace/show.html", **ctx)


@bp.get("")
@login_required
def show(project_id: uuid.UUID, version_id: uuid.UUID):
    if editing.json_client():
        return jsonify(version_service.describe(_load(project_id, version_id)))
    # The run button shows the newest run: loaded with the version (one round trip less).
    version, run = version_service.get_version_with_latest_run_for(
        current_user, project_id, version_id
    )
    remember_latest_run(version, run)
    ctx = context(version, request.args.get("component"))
    if editing.is_partial():
        return render_template("workspace/_workspace.html", **ctx)
    return render_template("workspace/show.html", **ctx)


@bp.get("/inspector")
@login_required
def inspector(project_id: uuid.UUID, version_id: uuid.UUID):
    cid = request.args.get("component") or None
    version = _load(project_id, version_id)
    if not editing.is_partial():
        return editing.redirect_to(page_url(project_id, version_id, cid))
    resp = make_response(
        render_template("workspace/_component_inspector.html", **context(version, cid))
    )
    return resp


@bp.get("/diagram")
@login_required
def diagram(project_id: uuid.UUID, version_id: uuid.UUID):
    version = _load(project_id, version_id)
    if editing.json_client():
        return jsonify(design=version.design, revision=version.revision)
    ctx = context(version, request.args.get("component"))
    if editing.is_partial():
        return render_template("workspace/_diagram.html", **ctx)
    return editing.redirect_to(page_url(project_id, version_id))


def _edit(
    project_id,
    version_id,
    kind: str,
    label: str,
    edit,
    selected=None,
    error_field=None,
    version=None,
):
    """Run one design edit and answer it. ``kind``: "save" (autosave regions) or "workspace";
    ``version``: already loaded for writing in this request (see ``edit_design``)."""
    values = request.values
    try:
        revision = common.revision(values)
        version = version_service.edit_design(
            current_user, project_id, version_id, revision, label, edit, version=version
        )
    except StaleRevision as exc:
        chosen = _resolve(selected)
        return editing.conflict_response(
            exc,
            page_url(project_id, version_id, chosen),
            lambda conflict: _full_page(project_id, version_id, chosen, conflict=conflict),
        )
    except InvalidEdit as exc:
        return _invalid(exc, project_id, version_id, kind, _resolve(selected), error_field)
    return _saved(version, kind, _resolve(selected))


def _invalid(exc: InvalidEdit, project_id, version_id, kind, selected, form=None):
    if editing.json_client():
        return editing.invalid_json(exc)
    errors = {exc.field or "form": exc.message, "_form": form}
    if editing.is_partial():
        version = _load(project_id, version_id)
        ctx = context(version, selected, errors, import_problems=exc.problems)
        if kind == "workspace":
            html = render_template("workspace/_workspace.html", **ctx)
            return editing.retarget(make_response(html, 422), "#workspace")
        html = render_template("workspace/_save_status.html", error=exc.message, **ctx)
        return editing.retarget(make_response(html, 422), "#save-status")
    return make_response(
        _full_page(project_id, version_id, selected, errors, import_problems=exc.problems), 422
    )


def _saved(version, kind: str, selected=None):
    if editing.json_client():
        return jsonify(version_service.describe(version))
    if not editing.is_partial():
        anchor = "#component-inspector" if selected else ""
        return editing.redirect_to(page_url(version.project_id, version.id, selected) + anchor)
    ctx = context(version, selected)
    if kind == "workspace":
        html = render_template("workspace/_workspace.html", **ctx) + render_template(
            "workspace/_save_status.html", oob=True, **ctx
        )
    else:
        html = render_template("workspace/_save_status.html", **ctx) + render_template(
            "workspace/_regions_oob.html", **ctx
        )
    html += render_template("workspace/_conflict.html", oob=True, cleared=True)
    return editing.saved(html, version.revision)


@bp.post("/components")
@login_required
def add_component(project_id: uuid.UUID, version_id: uuid.UUID):
    try:
        spec = forms.new_component(request.values)
    except InvalidEdit as exc:
        return _invalid(exc, project_id, version_id, "workspace", None, "palette")
    created: dict = {}

    def edit(design):
        design, cid = design_ops.add_component(design, spec["ctype"], spec["label"])
        created["id"] = cid
        return design

    return _edit(
        project_id,
        version_id,
        "workspace",
        f"add {spec['ctype']}",
        edit,
        selected=_NewId(created),
        error_field="palette",
    )


class _NewId:
    """The id of the component an add creates, known only once the edit has run."""

    def __init__(self, holder: dict):
        self.holder = holder

    def __str__(self) -> str:
        return self.holder.get("id", "")


def _resolve(selected):
    return str(selected) or None if isinstance(selected, _NewId) else selected


@bp.patch("/components/<cid>")
@login_required
def update_component(project_id: uuid.UUID, version_id: uuid.UUID, cid: str):
    # Loaded for writing (locked on PostgreSQL) once, and handed to the edit below.
    version = version_service.get_version_for(current_user, project_id, version_id, write=True)
    comp = _selected(version.design, cid)
    if comp is None:
        return _invalid(
            InvalidEdit(f"There is no component with id {cid[:64]!r} in this design.", "component"),
            project_id,
            version_id,
            "save",
            None,
        )
    try:
        changes = forms.component_changes(request.values, comp["type"])
    except InvalidEdit as exc:
        return _invalid(exc, project_id, version_id, "save", cid, "inspector")
    return _edit(
        project_id,
        version_id,
        "save",
        f"edit {cid}",
        lambda d: design_ops.update_component(d, cid, changes),
        selected=cid,
        error_field="inspector",
        version=version,
    )


@bp.patch("/components/<cid>/position")
@login_required
def move_component(project_id: uuid.UUID, version_id: uuid.UUID, cid: str):
    try:
        x, y = forms.position(request.values)
    except InvalidEdit as exc:
        return _invalid(exc, project_id, version_id, "save", cid)
    return _edit(
        project_id,
        version_id,
        "save",
        f"move {cid}",
        lambda d: design_ops.move_component(d, cid, x, y),
        selected=cid,
    )


@bp.delete("/components/<cid>")
@login_required
def remove_component(project_id: uuid.UUID, version_id: uuid.UUID, cid: str):
    return _edit(
        project_id,
        version_id,
        "workspace",
        f"remove {cid}",
        lambda d: design_ops.remove_component(d, cid),
    )


@bp.post("/edges")
@login_required
def add_edge(project_id: uuid.UUID, version_id: uuid.UUID):
    try:
        spec = forms.new_edge(request.values)
    except InvalidEdit as exc:
        return _invalid(exc, project_id, version_id, "workspace", None, "connect")
    return _edit(
        project_id,
        version_id,
        "workspace",
        f"connect {spec['source']} to {spec['target']}",
        lambda d: design_ops.add_edge(d, **spec)[0],
        error_field="connect",
    )


@bp.delete("/edges/<eid>")
@login_required
def remove_edge(project_id: uuid.UUID, version_id: uuid.UUID, eid: str):
    return _edit(
        project_id,
        version_id,
        "workspace",
        f"remove connection {eid}",
        lambda d: design_ops.remove_edge(d, eid),
    )


def _history_step(project_id, version_id, step):
    try:
        revision = common.revision(request.values)
        version = step(current_user, project_id, version_id, revision)
    except StaleRevision as exc:
        return editing.conflict_response(
            exc,
            page_url(project_id, version_id),
            lambda conflict: _full_page(project_id, version_id, conflict=conflict),
        )
    except InvalidEdit as exc:
        return _invalid(exc, project_id, version_id, "workspace", None, "history")
    return _saved(version, "workspace")


@bp.post("/undo")
@login_required
def undo(project_id: uuid.UUID, version_id: uuid.UUID):
    return _history_step(project_id, version_id, version_service.undo)


@bp.post("/redo")
@login_required
def redo(project_id: uuid.UUID, version_id: uuid.UUID):
    return _history_step(project_id, version_id, version_service.redo)


@bp.patch("/notes")
@login_required
def update_notes(project_id: uuid.UUID, version_id: uuid.UUID):
    try:
        revision = common.revision(request.values)
        notes = forms.notes(request.values)
        version = version_service.update_notes(
            current_user, project_id, version_id, revision, notes
        )
    except StaleRevision as exc:
        return editing.conflict_response(
            exc,
            page_url(project_id, version_id) + "#notes",
            lambda conflict: _full_page(project_id, version_id, conflict=conflict),
        )
    except InvalidEdit as exc:
        return _invalid(exc, project_id, version_id, "notes", None, "notes")
    if editing.json_client():
        return jsonify(version_service.describe(version))
    if not editing.is_partial():
        return editing.redirect_to(page_url(project_id, version_id) + "#notes")
    # Only the version: notes change neither the diagram, the validation nor the counts, so
    # the answer does not build the workspace's context (a diagram, a validation and a count
    # query per autosave, for fragments that show none of them).
    html = (
        render_template("workspace/_save_status.html", version=version)
        + render_template("workspace/_notes_preview.html", oob=True, version=version)
        + render_template("workspace/_conflict.html", oob=True, cleared=True)
    )
    return editing.saved(html, version.revision)


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def export_filename(title: str, number: int) -> str:
    """A file name safe in any header and file system: ``url-shortener-v2.sdc-design.json``."""
    base = _UNSAFE.sub("-", title).strip("-.").lower()[:60] or "design"
    return f"{base}-v{number}.sdc-design.json"


@bp.get("/design.json")
@login_required
def export_design(project_id: uuid.UUID, version_id: uuid.UUID):
    version = _load(project_id, version_id)
    body = json.dumps(version.document(), indent=2, ensure_ascii=False) + "\n"
    resp = make_response(body)
    resp.mimetype = "application/json"
    name = export_filename(version.project.title, version.number)
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    resp.headers["X-Content-Type-Options"] = "nosniff"
    # A strong validator on the exact bytes: a re-download of an unchanged design is a 304.
    resp.set_etag(hashlib.sha256(body.encode("utf-8")).hexdigest()[:32])
    resp.cache_control.private = True
    resp.cache_control.no_cache = True
    return resp.make_conditional(request)


@bp.post("/design")
@login_required
def import_design(project_id: uuid.UUID, version_id: uuid.UUID):
    try:
        revision = common.revision(request.values) if not request.is_json else _json_revision()
        doc = forms.import_document(request)
        version = version_service.import_document(
            current_user, project_id, version_id, revision, doc
        )
    except StaleRevision as exc:
        return editing.conflict_response(
            exc,
            page_url(project_id, version_id),
            lambda conflict: _full_page(project_id, version_id, conflict=conflict),
        )
    except InvalidEdit as exc:
        exc.field = "document"
        return _invalid(exc, project_id, version_id, "workspace", None, "import")
    return _saved(version, "workspace")


def _json_revision() -> int:
    body = request.get_json(silent=True)
    raw = body.get("revision") if isinstance(body, dict) else None
    if isinstance(raw, bool) or not isinstance(raw, int):
        raw = request.args.get("revision") or request.headers.get("If-Match", "").strip('"')
    return common.revision({"revision": str(raw or "")})
