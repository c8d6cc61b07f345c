from flask import Blueprint

bp = Blueprint("onboarding", __name__, url_prefix="/onboarding")

from sdc.web.onboarding import routes  # noqa: E402,F401
