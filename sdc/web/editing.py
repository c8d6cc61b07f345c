"""How the workspace and traffic pages answer a mutation: JSON, htmx fragments, or PRG.

One place decides, from the kind of request only (JSON client, htmx partial, plain form):
- success: JSON body; or the fragments of the page region plus the new revision as an
  ``sdc:revision`` event (every form's hidden revision field follows it); or a 303 redirect;
- stale revision: 409 with the "changed elsewhere" fragment (reload or overwrite);
- invalid input: 422 with the field's message beside the form, nothing saved.
"""

from __future__ import annotations

from flask import jsonify, make_response, render_template, request

from sdc.services.versions import InvalidEdit, StaleRevision
from sdc.web.errors import wants_json
from sdc.web.htmx import is_partial, redirect_to, trigger

# Form fields never echoed back into the "overwrite" form of a conflict.
_NOT_ECHOED = {"revision", "csrf_token", "_method"}


def json_client() -> bool:
    return wants_json() or bool(request.headers.get("Authorization")) or request.is_json


def saved(html: str, revision: int, status: int = 200):
    resp = make_response(html, status)
    return trigger(resp, "sdc:revision", {"revision": revision})


def conflict_response(exc: StaleRevision, page_url: str, full_page):
    """409: the submitted change is kept in an "overwrite" form; nothing was saved."""
    if json_client():
        return jsonify(
            error={
                "status": 409,
                "title": "Changed elsewhere",
                "message": exc.message,
                "current_revision": exc.current,
                "changed_by": exc.changed_by,
            }
        ), 409
    fields = [(k, v) for k, values in request.form.lists() if k not in _NOT_ECHOED for v in values]
    fields += [(k, v) for k, values in request.args.lists() if k not in _NOT_ECHOED for v in values]
    context = dict(
        message=exc.message,
        changed_by=exc.changed_by,
        current_revision=exc.current,
        action=request.path,
        method=request.method,
        fields=fields,
        page_url=page_url,
        hx_target=request.headers.get("HX-Target"),
    )
    if is_partial():
        resp = make_response(render_template("workspace/_conflict.html", conflict=context), 409)
        resp.headers["HX-Retarget"] = "#conflict"
        resp.headers["HX-Reswap"] = "outerHTML"
        return resp
    return make_response(full_page(conflict=context), 409)


def invalid_json(exc: InvalidEdit):
    return jsonify(
        error={
            "status": 422,
            "title": "Invalid input",
            "message": exc.message,
            "field": exc.field,
            "problems": exc.problems,
        }
    ), 422


def retarget(resp, selector: str):
    resp.headers["HX-Retarget"] = selector
    resp.headers["HX-Reswap"] = "outerHTML"
    return resp


__all__ = [
    "conflict_response",
    "invalid_json",
    "is_partial",
    "json_client",
    "redirect_to",
    "retarget",
    "saved",
]
