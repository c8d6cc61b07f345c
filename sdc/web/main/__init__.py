from flask import Blueprint

bp = Blueprint("main", __name__)

from sdc.web.main import routes  # noqa: E402,F401
