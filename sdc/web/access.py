"""Who may call a view, stated on the view so the authorization review matrix can read it.

``@requires("admin")`` both enforces and declares: anyone but an admin gets 404 (no hint that
the page exists). ``access_of(view)`` reports the declared level, or infers it from Flask-Login's
``login_required`` and the resource arguments of the rule (``docs/authz-review-matrix.md`` is
generated from it by ``python -m sdc.tools.authz_matrix``).
"""

from __future__ import annotations

import functools

from flask import abort, current_app
from flask_login import current_user, login_required

LEVELS = ("anonymous", "signed-in", "owner", "admin")
ATTRIBUTE = "sdc_access"
# Flask-Login's wrapper functions all share one code object: that identifies them.
_LOGIN_REQUIRED_CODE = login_required(lambda: None).__code__
OWNED_ARGS = ("project_id", "version_id", "run_id", "grade_id")


def is_admin() -> bool:
    return bool(current_user and current_user.is_authenticated and current_user.is_admin)


def admin_must_enrol() -> bool:
    """The signed-in admin has no two-factor while ``ADMIN_REQUIRE_2FA`` is on: every admin-only
    view sends them to enrol first (``sdc.web.hooks.require_admin_2fa``)."""
    return (
        is_admin()
        and not current_user.has_2fa
        and current_app.config["SDC_SETTINGS"].admin_require_2fa
    )


def is_admin_only(view) -> bool:
    """The view is declared ``@requires("admin")``."""
    return getattr(view, ATTRIBUTE, None) == "admin"


def requires(level: str):
    """Declare (and for ``admin`` and ``signed-in`` enforce) who may call the view."""
    if level not in LEVELS:
        raise ValueError(f"unknown access level {level!r}; use one of {LEVELS}")

    def decorator(view):
        if level == "admin":

            @functools.wraps(view)
            def wrapped(*args, **kwargs):
                if not is_admin():
                    abort(404)
                return view(*args, **kwargs)

        elif level in ("signed-in", "owner"):
            wrapped = login_required(view)
        else:
            wrapped = functools.wraps(view)(lambda *a, **k: view(*a, **k))
        setattr(wrapped, ATTRIBUTE, level)
        return wrapped

    return decorator


def _requires_login(view) -> bool:
    fn = view
    while fn is not None:
        if getattr(fn, "__code__", None) is _LOGIN_REQUIRED_CODE:
            return True
        fn = getattr(fn, "__wrapped__", None)
    return False


def access_of(view, arguments: set[str] | frozenset[str] = frozenset()) -> tuple[str, str]:
    """(level, how it is known): declared by ``@requires``, or inferred from ``login_required``
    plus the rule's resource arguments (ownership is then checked by the services, which
    answer 404 to anyone who may not see the resource)."""
    declared = getattr(view, ATTRIBUTE, None)
    if declared:
        return declared, "declared"
    if _requires_login(view):
        if set(arguments) & set(OWNED_ARGS):
            return "owner", "login_required + resource id (service checks ownership/membership)"
        return "signed-in", "login_required"
    return "anonymous", "no decorator"
