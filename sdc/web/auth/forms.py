"""Parse the sign-up and sign-in forms into clean values and per-field messages."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import request

from sdc.services.accounts import EMAIL_MAX, PASSWORD_MAX


@dataclass
class Credentials:
    email: str = ""
    password: str = ""
    errors: dict[str, str] = field(default_factory=dict)


def _text(name: str, limit: int, label: str, errors: dict) -> str:
    raw = request.form.get(name, "")
    if "\x00" in raw or "\ufffd" in raw:
        # Werkzeug decodes bodies leniently; a replacement character means bytes that were
        # not UTF-8, which we refuse rather than store.
        errors[name] = f"The {label} contains characters that are not valid text."
        return ""
    if len(raw) > limit:
        errors[name] = f"The {label} can be at most {limit} characters (got {len(raw)})."
        return ""
    return raw


def parse_credentials() -> Credentials:
    errors: dict[str, str] = {}
    email = _text("email", EMAIL_MAX, "email address", errors).strip()
    password = _text("password", PASSWORD_MAX, "password", errors)
    if "email" not in errors and not email:
        errors["email"] = "Enter your email address."
    if "password" not in errors and not password:
        errors["password"] = "Enter a password."
    return Credentials(email=email, password=password, errors=errors)
