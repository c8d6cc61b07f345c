"""Housekeeping: retention of telemetry and audit rows."""

from __future__ import annotations

from huey import crontab

from tasks import flask_app, huey


@huey.periodic_task(crontab(minute="17", hour="3"))
def purge_old_records() -> dict:
    """Daily: delete telemetry older than TELEMETRY_RETENTION_DAYS and audit rows older than
    AUDIT_RETENTION_DAYS, in batches (idempotent)."""
    from sdc.services import audit, telemetry

    app = flask_app()
    with app.app_context():
        settings = app.config["SDC_SETTINGS"]
        counts = telemetry.purge_older_than(settings.telemetry_retention_days)
        counts["audit_logs"] = audit.purge_older_than(settings.audit_retention_days)
        return counts
