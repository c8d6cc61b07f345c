from flask import Blueprint

bp = Blueprint("compare", __name__, url_prefix="/projects")

from sdc.web.compare import routes  # noqa: E402,F401
