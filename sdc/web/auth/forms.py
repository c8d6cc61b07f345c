"""Parse the sign-up and sign-in forms into clean values and per-field messages."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import request

from sdc.services.accounts import EMAIL_MAX, PASSWORD_MAX, email_problem, normalise_email


@dataclass
class Credentials:
    email: str = ""
    password: str = ""
    errors: dict[str, str] = field(default_factory=dict)


def _text(name: str, limit: int, label: str, errors: dict) -> str:
    raw = request.form.get(name, "")
    if "\ufffd" in raw:
        # The sign-up and sign-in views take their form with undecodable bytes replaced by
        # U+FFFD (``hooks.lenient_form``): name the field rather than store the damage.
        errors[name] = f"The {label} is not valid UTF-8 text. Re-type it and try again."
        return ""
    if "\x00" in raw:
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
    if "email" not in errors:
        # Also on sign-in: a malformed address can match no account, so saying so beside the
        # field reveals nothing about which accounts exist.
        problem = email_problem(normalise_email(email))
        if problem:
            errors["email"] = problem
    if "password" not in errors and not password:
        errors["password"] = "Enter a password."
    return Credentials(email=email, password=password, errors=errors)
