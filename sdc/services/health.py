"""Readiness checks of the services the app depends on."""

from __future__ import annotations

from sqlalchemy import text

from sdc.extensions import db


def check_database() -> dict:
    try:
        db.session.execute(text("SELECT 1"))
        return {"ok": True}
    except Exception as exc:  # any driver error means "not ready"
        db.session.rollback()
        return {"ok": False, "error": type(exc).__name__}


def check_queue() -> dict:
    from tasks import huey

    try:
        return {"ok": True, "backend": type(huey).__name__, "pending": huey.pending_count()}
    except Exception as exc:
        return {"ok": False, "backend": type(huey).__name__, "error": type(exc).__name__}


def readiness() -> dict:
    return {"database": check_database(), "queue": check_queue()}
