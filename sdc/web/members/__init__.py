from flask import Blueprint

# Members and invites of a project (/projects/<id>/members) and invite links (/invites/<token>).
bp = Blueprint("members", __name__)

from sdc.web.members import routes  # noqa: E402,F401
