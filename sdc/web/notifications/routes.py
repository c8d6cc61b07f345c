"""The signed-in user's notifications (mentions, accepted invites) and the nav's unread count."""

from __future__ import annotations

import uuid

from flask import jsonify, render_template, url_for
from flask_login import current_user, login_required

from sdc.services import notifications as notification_service
from sdc.web.editing import json_client
from sdc.web.htmx import is_partial, redirect_to
from sdc.web.notifications import bp


def _json(n) -> dict:
    return {
        "id": str(n.id),
        "kind": n.kind,
        "payload": n.payload,
        "created_at": n.created_at.isoformat(),
        "read": n.read_at is not None,
    }


@bp.get("")
@login_required
def index():
    rows = notification_service.list_for(current_user)
    if json_client():
        return jsonify(
            unread=sum(1 for n in rows if n.read_at is None), notifications=[_json(n) for n in rows]
        )
    return render_template("notifications/index.html", notifications=rows)


@bp.post("/read")
@login_required
def mark_all_read():
    notification_service.mark_read(current_user)
    if json_client():
        return "", 204
    return redirect_to(url_for("notifications.index"))


@bp.post("/<uuid:notification_id>/read")
@login_required
def mark_read(notification_id: uuid.UUID):
    notification_service.mark_read(current_user, notification_id)
    if json_client():
        return "", 204
    if is_partial():
        return redirect_to(url_for("notifications.index"))
    return redirect_to(url_for("notifications.index"))
