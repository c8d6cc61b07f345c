"""Operations pages for admins: audit log, request and job telemetry, users.

Everyone else gets 404 (the pages do not admit to existing), and every view an admin opens is
itself written to the audit log.
"""

from flask import Blueprint, abort, request

from sdc.web.access import is_admin

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def admins_only():
    if not is_admin():
        abort(404)
    if request.method == "GET":
        from sdc.services import audit

        audit.record(
            audit.ADMIN_VIEW,
            "admin_page",
            request.endpoint,
            detail={"query": request.query_string.decode("utf-8", "replace")[:300]},
        )


from sdc.web.admin import routes  # noqa: E402,F401
