"""Strict parsing of the admin pages' query strings: malformed values are a 400, never a 500."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sdc.services import ServiceError
from sdc.services.audit import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX, AuditFilter

TEXT_MAX = 200


def _text(values, name: str) -> str:
    return (values.get(name) or "").strip()[:TEXT_MAX]


def positive_int(values, name: str, default: int, maximum: int | None = None) -> int:
    raw = (values.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or len(raw) > 9 or int(raw) < 1:
        raise ServiceError(f"{name} must be a whole number of at least 1.", field=name)
    value = int(raw)
    return min(value, maximum) if maximum else value


def _when(values, name: str, end: bool = False) -> datetime | None:
    raw = (values.get(name) or "").strip()
    if not raw:
        return None
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return moment + timedelta(days=1) if end else moment  # "until" includes that day
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ServiceError(
            f"{name} must be a date like 2026-01-31 or 2026-01-31T13:45.", field=name
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def audit_filter(values) -> tuple[AuditFilter, int, int]:
    """(filter, page, per_page) from a query string."""
    status_raw = _text(values, "status")
    if status_raw and (not status_raw.isdigit() or not 100 <= int(status_raw) <= 599):
        raise ServiceError("status must be an HTTP status code such as 403.", field="status")
    f = AuditFilter(
        user=_text(values, "user"),
        action=_text(values, "action"),
        resource=_text(values, "resource"),
        status=int(status_raw) if status_raw else None,
        since=_when(values, "since"),
        until=_when(values, "until", end=True),
    )
    page = positive_int(values, "page", 1)
    per_page = positive_int(values, "per_page", PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX)
    return f, page, per_page
