from flask import Blueprint

bp = Blueprint("projects", __name__, url_prefix="/projects")

from sdc.web.projects import routes  # noqa: E402,F401
