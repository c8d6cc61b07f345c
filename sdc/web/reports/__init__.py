from flask import Blueprint, g

bp = Blueprint("reports", __name__)


def _referrer_policy_last(response):
    """Shared reports send no referrer. Talisman sets one Referrer-Policy for every response
    in its own after-request hook, and cannot vary it per view, so this hook is put first in
    the app's list: Flask runs that list in reverse, so it runs last and has the final word."""
    policy = g.get("referrer_policy")
    if policy:
        response.headers["Referrer-Policy"] = policy
    return response


@bp.record_once
def _install(state) -> None:
    state.app.after_request_funcs.setdefault(None, []).insert(0, _referrer_policy_last)


from sdc.web.reports import routes  # noqa: E402,F401
