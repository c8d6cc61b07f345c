"""Parsing of form values shared by the projects, workspace and traffic blueprints.

Every parser raises ``InvalidEdit`` (422) naming the field with a sentence a user can act on,
so views never see a half-parsed value.
"""

from __future__ import annotations

import math

from sdc.services import ServiceError
from sdc.services.versions import InvalidEdit

MAX_NUMBER_CHARS = 32


class BadRequest(ServiceError):
    status = 400


def revision(values) -> int:
    """The revision the form was loaded at (a required hidden field)."""
    raw = (values.get("revision") or "").strip()
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(
            "This form is missing the revision it was loaded at. Reload the page and try again.",
            "revision",
        ) from None
    if value < 1:
        raise BadRequest("The revision must be a positive whole number.", "revision")
    return value


def number(
    values,
    name: str,
    label: str,
    lo: float,
    hi: float,
    *,
    integer: bool = False,
    blank=...,
    lo_open: bool = False,
):
    """A number within [lo, hi] (or (lo, hi]); ``blank`` is returned for an empty field
    when given, otherwise the field is required."""
    raw = (values.get(name) or "").strip()
    if raw == "":
        if blank is not ...:
            return blank
        raise InvalidEdit(f"{label} is required.", name)
    if len(raw) > MAX_NUMBER_CHARS:
        raise InvalidEdit(f"{label} must be a number between {lo:g} and {hi:g}.", name)
    try:
        value = float(raw)
    except ValueError:
        kind = "a whole number" if integer else "a number"
        raise InvalidEdit(f"{label} must be {kind} (got {raw[:20]!r}).", name) from None
    if not math.isfinite(value):
        raise InvalidEdit(f"{label} must be a finite number.", name)
    if integer and value != int(value):
        raise InvalidEdit(f"{label} must be a whole number (got {raw[:20]}).", name)
    too_low = value <= lo if lo_open else value < lo
    if too_low or value > hi:
        low = f"greater than {lo:g}" if lo_open else f"at least {lo:g}"
        raise InvalidEdit(f"{label} must be {low} and at most {hi:g} (got {raw[:20]}).", name)
    return int(value) if integer else value


def choice(values, name: str, label: str, options, default=...):
    raw = (values.get(name) or "").strip()
    if raw == "" and default is not ...:
        return default
    if raw not in options:
        raise InvalidEdit(f"{label} must be one of {', '.join(options)}.", name)
    return raw


def text(values, name: str, label: str, max_len: int) -> str:
    raw = values.get(name) or ""
    if len(raw) > max_len:
        raise InvalidEdit(
            f"{label} can be at most {max_len:,} characters (this has {len(raw):,}).", name
        )
    return raw
