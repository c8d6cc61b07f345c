from flask import Blueprint

bp = Blueprint(
    "comments",
    __name__,
    url_prefix="/projects/<uuid:project_id>/versions/<uuid:version_id>",
)

from sdc.web.comments import routes  # noqa: E402,F401
