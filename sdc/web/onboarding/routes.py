"""Onboarding after the first sign-in: role, level, target companies, preferred domains, and
three recommended scenarios. Skippable; the same answers are editable in settings."""

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from sdc.core.catalog import DIFFICULTIES
from sdc.services import onboarding
from sdc.web.onboarding import bp


def _context(answers=None, errors=None) -> dict:
    profile = current_user.profile or {}
    return dict(
        profile=answers.to_profile() if answers else profile,
        errors=errors or {},
        roles=onboarding.ROLES,
        levels=DIFFICULTIES,
        domains=onboarding.domains(),
        answered=profile.get("onboarding") == "completed",
        recommendations=onboarding.recommendations_for(current_user)
        if profile.get("onboarding") == "completed"
        else [],
    )


@bp.get("")
@login_required
def show():
    return render_template("onboarding/show.html", **_context())


@bp.post("")
@login_required
def save():
    answers = onboarding.parse_answers(request.form, onboarding.domains())
    if answers.errors:
        return render_template("onboarding/show.html", **_context(answers, answers.errors)), 422
    onboarding.save_answers(current_user, answers)
    flash("Saved. Here are three scenarios to start with.", "success")
    return redirect(url_for("onboarding.show", _anchor="recommendations"), code=303)


@bp.post("/skip")
@login_required
def skip():
    onboarding.skip(current_user)
    flash(
        "Welcome! Pick a scenario to start practising; you can set your level and interests"
        " any time in Settings.",
        "success",
    )
    return redirect(url_for("scenarios.index"), code=303)
