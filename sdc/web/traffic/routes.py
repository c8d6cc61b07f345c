"""The traffic profile page: presets, fields with sliders, a live summary and load chart."""

from __future__ import annotations

import uuid

from flask import jsonify, make_response, render_template, request, url_for
from flask_login import current_user, login_required

from sdc.core import traffic_profile
from sdc.core.simulation.constants import BURSTINESS, REGIONS
from sdc.services import policy
from sdc.services import versions as version_service
from sdc.services.versions import InvalidEdit, StaleRevision, problem_field
from sdc.web import editing
from sdc.web import forms_common as common
from sdc.web.traffic import bp
from sdc.web.traffic.forms import FIELDS, parse

CHART_W, CHART_H, CHART_PAD = 480, 160, 36
ERROR_SLOTS = (*FIELDS, "burstiness", "regions", *(f"region-{r}" for r in REGIONS))


def page_url(project_id, version_id) -> str:
    return url_for("traffic.show", project_id=project_id, version_id=version_id)


def chart(traffic: dict) -> dict:
    """Geometry of the offered-load chart (an SVG polyline in a fixed viewBox)."""
    points = traffic_profile.load_curve(traffic)
    duration = max(p[0] for p in points) or 1.0
    ymax = max(p[1] for p in points) * 1.15 or 1.0
    inner_w, inner_h = CHART_W - CHART_PAD - 8, CHART_H - 2 * 16
    coords = [
        (CHART_PAD + t / duration * inner_w, 16 + inner_h - rps / ymax * inner_h)
        for t, rps in points
    ]
    mean = traffic_profile.summary(traffic)["peak_rps"]
    return {
        "width": CHART_W,
        "height": CHART_H,
        "pad": CHART_PAD,
        "points": " ".join(f"{x:.1f},{y:.1f}" for x, y in coords),
        "ymax": ymax,
        "duration": duration,
        "mean_y": 16 + inner_h - mean / ymax * inner_h,
        "bottom": 16 + inner_h,
        "right": CHART_PAD + inner_w,
    }


def form_values(traffic: dict) -> dict:
    """What each field shows: percent for ratios and shares."""
    t = traffic_profile.normalise(traffic)
    regions = t.get("regions") or {}
    values = {
        "baseline_rps": _tidy(t["baseline_rps"]),
        "peak_multiplier": _tidy(t["peak_multiplier"]),
        "read_percent": _tidy(round(float(t["read_ratio"]) * 100, 4)),
        "payload_kb": _tidy(t["payload_kb"]),
        "duration_s": _tidy(t["duration_s"]),
        "burstiness": t["burstiness"],
    }
    for r in REGIONS:
        values[f"region-{r}"] = _tidy(round(float(regions.get(r, 0)) * 100, 4))
    return values


def _tidy(value):
    """9.0 shows as 9 in a number field (presets compute floats)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def context(version, errors: dict | None = None, submitted=None) -> dict:
    traffic = version.traffic
    values = form_values(traffic)
    if submitted is not None:
        values.update({k: submitted.get(k, values.get(k)) for k in values})
    return dict(
        version=version,
        project=version.project,
        scenario=version.project.scenario,
        traffic=traffic,
        values=values,
        summary=traffic_profile.summary(traffic),
        chart=chart(traffic),
        presets=traffic_profile.PRESETS,
        preset_help=traffic_profile.PRESET_HELP,
        burstiness=BURSTINESS,
        regions=REGIONS,
        fields=FIELDS,
        errors=errors or {},
        error_slots=ERROR_SLOTS,
        conflict=None,
    )


def _load(project_id, version_id):
    return version_service.get_version_for(current_user, project_id, version_id)


def _json(version) -> dict:
    return {
        "version_id": str(version.id),
        "project_id": str(version.project_id),
        "revision": version.revision,
        "traffic": version.traffic,
        "summary": traffic_profile.summary(version.traffic),
        "presets": list(traffic_profile.PRESETS),
    }


@bp.get("")
@login_required
def show(project_id: uuid.UUID, version_id: uuid.UUID):
    version = _load(project_id, version_id)
    if editing.json_client():
        return jsonify(_json(version))
    ctx = context(version)
    if editing.is_partial():
        return render_template("traffic/_traffic_editor.html", **ctx)
    return render_template("traffic/show.html", **ctx)


def _full_page(project_id, version_id, errors=None, conflict=None, submitted=None):
    ctx = context(_load(project_id, version_id), errors, submitted)
    ctx["conflict"] = conflict
    return render_template("traffic/show.html", **ctx)


def _invalid(project_id, version_id, errors: dict, message: str, problems=None):
    if editing.json_client():
        field = next(iter(errors), None)
        return editing.invalid_json(
            InvalidEdit(
                message, field, problems or [{"path": k, "message": v} for k, v in errors.items()]
            )
        )
    if editing.is_partial():
        ctx = context(_load(project_id, version_id), errors, request.values)
        html = render_template("workspace/_save_status.html", error=message, **ctx)
        html += render_template("traffic/_traffic_errors.html", oob=True, **ctx)
        return editing.retarget(make_response(html, 422), "#save-status")
    return make_response(_full_page(project_id, version_id, errors, submitted=request.values), 422)


def _may_edit(project_id, version_id):
    """Policy before validation: outsiders get 404 and viewers 403 whatever they send."""
    version = _load(project_id, version_id)
    policy.require(current_user, "edit", version.project, "version")
    return version


def _apply(project_id, version_id, traffic_fn):
    _may_edit(project_id, version_id)
    try:
        revision = common.revision(request.values)
        traffic = traffic_fn()
        version = version_service.update_traffic(
            current_user, project_id, version_id, revision, traffic
        )
    except StaleRevision as exc:
        return None, editing.conflict_response(
            exc,
            page_url(project_id, version_id),
            lambda conflict: _full_page(project_id, version_id, conflict=conflict),
        )
    except _FormErrors as exc:
        first = next(iter(exc.errors.values()))
        more = len(exc.errors) - 1
        message = first + (f" (and {more} more)" if more else "")
        return None, _invalid(project_id, version_id, exc.errors, message)
    except InvalidEdit as exc:
        field = problem_field(exc.problems[0]["path"]) if exc.problems else exc.field
        if field in REGIONS:
            field = f"region-{field}"
        elif field == "read_ratio":
            field = "read_percent"
        return None, _invalid(
            project_id, version_id, {field or "regions": exc.message}, exc.message, exc.problems
        )
    return version, None


class _FormErrors(Exception):
    def __init__(self, errors: dict):
        self.errors = errors


def _parsed():
    traffic, errors = parse(request.values)
    if errors:
        raise _FormErrors(errors)
    return traffic


@bp.patch("")
@login_required
def update(project_id: uuid.UUID, version_id: uuid.UUID):
    version, error = _apply(project_id, version_id, _parsed)
    if error is not None:
        return error
    if editing.json_client():
        return jsonify(_json(version))
    if not editing.is_partial():
        return editing.redirect_to(page_url(project_id, version_id))
    ctx = context(version)
    html = (
        render_template("workspace/_save_status.html", **ctx)
        + render_template("traffic/_traffic_summary.html", oob=True, **ctx)
        + render_template("traffic/_traffic_errors.html", oob=True, **ctx)
        + render_template("workspace/_conflict.html", oob=True, cleared=True)
    )
    return editing.saved(html, version.revision)


@bp.post("/preset")
@login_required
def apply_preset(project_id: uuid.UUID, version_id: uuid.UUID):
    name = request.values.get("preset", "")
    _may_edit(project_id, version_id)
    if name not in traffic_profile.PRESETS:
        return _invalid(
            project_id,
            version_id,
            {"preset": f"Choose one of the presets: {', '.join(traffic_profile.PRESETS)}."},
            "Unknown preset.",
        )
    scenario_traffic = _load(project_id, version_id).project.scenario.traffic
    version, error = _apply(
        project_id, version_id, lambda: traffic_profile.preset(name, scenario_traffic)
    )
    if error is not None:
        return error
    if editing.json_client():
        return jsonify(_json(version))
    if not editing.is_partial():
        return editing.redirect_to(page_url(project_id, version_id))
    ctx = context(version)
    html = (
        render_template("traffic/_traffic_editor.html", **ctx)
        + render_template("workspace/_save_status.html", oob=True, **ctx)
        + render_template("workspace/_conflict.html", oob=True, cleared=True)
    )
    return editing.saved(html, version.revision)
