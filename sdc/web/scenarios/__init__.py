from flask import Blueprint

bp = Blueprint("scenarios", __name__, url_prefix="/scenarios")

from sdc.web.scenarios import routes  # noqa: E402,F401
