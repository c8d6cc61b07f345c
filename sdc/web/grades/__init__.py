from flask import Blueprint

bp = Blueprint("grades", __name__)

from sdc.web.grades import routes  # noqa: E402,F401
