from flask import Blueprint

bp = Blueprint("runs", __name__)


@bp.record_once
def _register_helpers(state) -> None:
    from sdc.web.runs.helpers import init_app

    init_app(state.app)


from sdc.web.runs import routes  # noqa: E402,F401
