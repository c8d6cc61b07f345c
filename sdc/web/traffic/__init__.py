from flask import Blueprint

bp = Blueprint(
    "traffic",
    __name__,
    url_prefix="/projects/<uuid:project_id>/versions/<uuid:version_id>/traffic",
)

from sdc.web.traffic import routes  # noqa: E402,F401
