"""Simulation runs: the Run button, the live status widget, results, re-run, and the failure lab.

Every action answers three kinds of request (decided by sdc.web.htmx / editing.json_client):
JSON clients get ``runs.describe`` documents, htmx gets the region's fragment, plain forms get
a 303 redirect (Post/Redirect/Get) with a flash message on refusal.
"""

from __future__ import annotations

import uuid

from flask import (
    abort,
    flash,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from sdc.core.simulation import FAILURE_MODES
from sdc.extensions import limiter
from sdc.services import RateLimited, policy
from sdc.services import runs as run_service
from sdc.services.runs import RunRefused
from sdc.web.editing import json_client
from sdc.web.htmx import is_partial, redirect_to
from sdc.web.limits import run_limit
from sdc.web.runs import bp, forms, present

# Where a status widget lives decides what it does when the run is done: the Run control
# shows a link to the results; the results page and the lab reload to show them.
PLACES = ("control", "page", "lab")


def run_url(run) -> str:
    return url_for("runs.show", run_id=run.id)


def _refusal_json(exc):
    body = {"status": exc.status, "title": "Run refused", "message": exc.message}
    if isinstance(exc, RunRefused):
        body["problems"] = exc.problems
        body["field"] = exc.field
    resp = jsonify(error=body)
    resp.status_code = exc.status
    if exc.status == 429:
        resp.headers["Retry-After"] = "60"
    return resp


# --- start a run ------------------------------------------------------------------------------


@bp.post("/projects/<uuid:project_id>/versions/<uuid:version_id>/runs")
@login_required
@limiter.limit(run_limit)
def create(project_id: uuid.UUID, version_id: uuid.UUID):
    from sdc.services.versions import version_by_id_for

    version = version_by_id_for(current_user, version_id)
    if version.project_id != project_id:
        abort(404)
    back = request.referrer if _same_site(request.referrer) else None
    back = back or url_for("workspace.show", project_id=project_id, version_id=version_id)
    try:
        options = forms.run_options(request.form if not request.is_json else _json_body())
        run, created = run_service.start_run(current_user, version.id, version=version, **options)
    except forms.FormErrors as exc:
        return _refused(RunRefused(next(iter(exc.errors.values())), field="seed"), version, back)
    except (RunRefused, RateLimited) as exc:
        return _refused(exc, version, back)
    if json_client():
        resp = jsonify(run_service.describe(run))
        resp.status_code = 201 if created else 200
        resp.headers["Location"] = run_url(run)
        return resp
    if is_partial():
        return render_template(
            "runs/_run_button.html",
            version=version,
            run=run,
            created=created,
            oob=False,
            chosen=_chosen_options(),
        )
    if not created:
        flash("That simulation is already queued or running; here is its progress.", "info")
    return redirect(run_url(run), code=303)


def _json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return {}
    return {k: ("" if v is None else str(v)) for k, v in body.items() if k in ("engine", "seed")}


def _chosen_options() -> dict:
    """The engine and seed as the user typed them, to re-render the form without losing them."""
    return {
        k: request.form.get(k, "").strip()[:32] for k in ("engine", "seed") if request.form.get(k)
    }


def _same_site(url: str | None) -> bool:
    return bool(url) and url.startswith(request.host_url)


def _refused(exc, version, back: str):
    """422 (invalid design or options) and 429 (limits) as JSON, a fragment, or a flash."""
    if json_client():
        return _refusal_json(exc)
    if is_partial():
        resp = make_response(
            render_template(
                "runs/_run_button.html",
                version=version,
                run=None,
                refusal=exc,
                oob=False,
                chosen=_chosen_options(),
            ),
            exc.status,
        )
        if exc.status == 429:
            resp.headers["Retry-After"] = "60"
        return resp
    flash(exc.message, "error")
    return redirect(back, code=303)


# --- status, results, re-run ------------------------------------------------------------------


@bp.get("/runs/<uuid:run_id>/status")
@login_required
def status(run_id: uuid.UUID):
    run = run_service.get_run_status_for(current_user, run_id)
    if json_client():
        return jsonify(run_service.describe(run, with_result=False))
    if not is_partial():
        return redirect(run_url(run), code=303)
    place = request.args.get("place", "control")
    place = place if place in PLACES else "control"
    resp = make_response(
        render_template(
            "runs/_run_status.html", run=run, place=place, finished_poll=True, version=run.version
        )
    )
    if place in ("page", "lab") and run.status not in present.ACTIVE:
        # The whole page changes once results exist; reload it rather than patch every region.
        resp.headers["HX-Refresh"] = "true"
    return resp


@bp.get("/runs/<uuid:run_id>")
@login_required
def show(run_id: uuid.UUID):
    run = run_service.get_run_for(current_user, run_id)
    if json_client():
        data = run_service.describe(run)
        data["verdict"] = run_service.verdict(run.result, present.slos_of(run))
        return jsonify(data)
    context = present.page_context(run)
    if run.baseline_run_id:
        context["baseline_id"] = run.baseline_run_id
    if is_partial():
        return render_template("runs/_results.html", **context)
    return render_template("runs/show.html", **context)


@bp.post("/runs/<uuid:run_id>/rerun")
@login_required
@limiter.limit(run_limit)
def rerun(run_id: uuid.UUID):
    """Run the same version again with the same engine, seed (and failures, for a failure run)."""
    run = run_service.get_run_for(current_user, run_id)
    try:
        if run.baseline_run_id:
            new, created = run_service.start_run(
                current_user, None, baseline_run_id=run.baseline_run_id, failures=run.failures
            )
        else:
            new, created = run_service.start_run(
                current_user, run.version_id, engine=run.engine, seed=run.seed
            )
    except (RunRefused, RateLimited) as exc:
        if json_client():
            return _refusal_json(exc)
        flash(exc.message, "error")
        return redirect_to(run_url(run))
    if json_client():
        resp = jsonify(run_service.describe(new))
        resp.status_code = 201 if created else 200
        resp.headers["Location"] = run_url(new)
        return resp
    return redirect_to(run_url(new))


# --- the failure lab --------------------------------------------------------------------------


def _lab_context(baseline, errors=None, form=None, selected_id=None) -> dict:
    design = present.design_of(baseline)
    labels = present.labels_of(design)
    regions, azs = present.regions_and_azs(design)
    failure_runs = run_service.failure_runs_of(baseline)
    comparisons = [present.comparison(baseline, fr) for fr in failure_runs]
    selected = next((c for c in comparisons if str(c["run"].id) == str(selected_id)), None)
    if selected is None and comparisons:
        selected = comparisons[0]
    side = None
    if selected is not None:
        side = {
            "baseline": sorted(
                (baseline.result or {}).get("timeline") or [], key=lambda e: e.get("t_s") or 0
            ),
            "failure": sorted(
                (selected["run"].result or {}).get("timeline") or [],
                key=lambda e: e.get("t_s") or 0,
            ),
        }
    components = [
        c
        for c in design.get("components") or []
        if isinstance(c, dict) and c.get("type") != "client"
    ]
    return {
        "baseline": baseline,
        "run": baseline,
        "version": baseline.version,
        "project": baseline.version.project,
        "labels": labels,
        "components": components,
        "caches": [c for c in components if c.get("type") in ("cache", "cdn")],
        "regions": regions,
        "azs": azs,
        "modes": FAILURE_MODES,
        "comparisons": comparisons,
        "selected": selected,
        "side": side,
        "errors": errors or {},
        "form": form or {},
        "duration_s": present.duration_s(baseline),
        # failure runs reuse the baseline's snapshot, so they judge against the same threshold
        "slo_threshold": run_service.slo_threshold(baseline),
        "describe_failure": lambda spec: present.failure_summary(spec, labels),
    }


def _baseline_for(run_id: uuid.UUID):
    run = run_service.get_run_for(current_user, run_id)
    if run.baseline_run_id:
        # A failure run's lab is its baseline's lab.
        return run_service.get_run_for(current_user, run.baseline_run_id), run.id
    return run, None


@bp.get("/runs/<uuid:run_id>/failures")
@login_required
def failures(run_id: uuid.UUID):
    baseline, selected = _baseline_for(run_id)
    selected = request.args.get("selected") or selected
    context = _lab_context(baseline, selected_id=selected)
    if json_client():
        return jsonify(
            baseline=run_service.describe(baseline),
            failure_runs=[
                {
                    **run_service.describe(c["run"]),
                    "deltas": {r["key"]: r["delta"] for r in c["rows"]},
                }
                for c in context["comparisons"]
            ],
        )
    return render_template("runs/failures.html", **context)


@bp.post("/runs/<uuid:run_id>/failures")
@login_required
@limiter.limit(run_limit)
def inject(run_id: uuid.UUID):
    baseline, _ = _baseline_for(run_id)
    # Policy before validation: a viewer gets 403 whatever the form holds.
    policy.require(current_user, "run", baseline.version.project, "run")
    form = request.form if not request.is_json else _json_form()
    if baseline.status != "completed":
        return _lab_refused(
            baseline, {"mode": "Wait for the baseline run to complete first."}, form, 422
        )
    try:
        spec = forms.failure_spec(form, present.duration_s(baseline))
        run, created = run_service.start_run(
            current_user, None, baseline_run_id=baseline.id, failures=[spec]
        )
    except forms.FormErrors as exc:
        return _lab_refused(baseline, exc.errors, form, 422)
    except RunRefused as exc:
        errors = forms.problems_by_field(exc.problems) or {"mode": exc.message}
        return _lab_refused(baseline, errors, form, 422, exc)
    except RateLimited as exc:
        return _lab_refused(baseline, {"_form": exc.message}, form, 429, exc)
    if json_client():
        resp = jsonify(run_service.describe(run))
        resp.status_code = 201 if created else 200
        resp.headers["Location"] = run_url(run)
        return resp
    return redirect_to(url_for("runs.failures", run_id=baseline.id, selected=run.id))


def _json_form() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return {}
    return {k: "" if v is None else str(v) for k, v in body.items()}


def _lab_refused(baseline, errors: dict, form, status: int, exc=None):
    if json_client():
        message = (exc.message if exc else None) or next(iter(errors.values()))
        resp = jsonify(
            error={
                "status": status,
                "title": "Run refused",
                "message": message,
                "fields": errors,
                "problems": getattr(exc, "problems", []) if exc else [],
            }
        )
        resp.status_code = status
        return resp
    context = _lab_context(baseline, errors=errors, form=form)
    g.form_status = status
    return make_response(render_template("runs/failures.html", **context), status)
