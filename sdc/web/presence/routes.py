"""Who else has this version open. The workspace polls ``presence.show`` every few seconds
(htmx ``every 5s``); each poll is also the caller's heartbeat.

It is a GET on purpose: a heartbeat is a poll, not a change anyone needs in the audit log (a
POST would add a generic audit row every five seconds per open tab), and refreshing one's own
``last_seen`` is harmless if a third party could trigger it.
"""

from __future__ import annotations

import uuid

from flask import jsonify, render_template
from flask_login import current_user, login_required

from sdc.services import presence as presence_service
from sdc.web.editing import json_client
from sdc.web.presence import bp


@bp.get("/presence")
@login_required
def show(project_id: uuid.UUID, version_id: uuid.UUID):
    version = presence_service.heartbeat(current_user, project_id, version_id)
    others = presence_service.present(version.id, exclude=current_user)
    if json_client():
        return jsonify(others=[u.email for u in others])
    return render_template(
        "presence/_presence.html",
        version=version,
        others=others,
        every=presence_service.HEARTBEAT_SECONDS,
    )
