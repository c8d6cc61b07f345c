from flask import Blueprint

bp = Blueprint("settings", __name__, url_prefix="/settings")

from sdc.web.settings import routes  # noqa: E402,F401
