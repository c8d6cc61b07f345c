from flask import Blueprint

bp = Blueprint(
    "workspace",
    __name__,
    url_prefix="/projects/<uuid:project_id>/versions/<uuid:version_id>",
)

from sdc.web.workspace import routes  # noqa: E402,F401
