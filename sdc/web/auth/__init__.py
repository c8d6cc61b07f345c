from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/auth")

from sdc.web.auth import routes  # noqa: E402,F401
