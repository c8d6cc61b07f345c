"""TOTP two-factor authentication (RFC 6238: 30 s steps, 6 digits, SHA-1, as every
authenticator app expects). Optional for everyone, required for admins (``ADMIN_REQUIRE_2FA``).

Enrolment: ``new_secret`` (kept in the session until confirmed) -> ``confirm`` with a code from
the app, which stores the secret. Sign-in: after the password, ``verify`` a code; each time step
is accepted at most once per account (``users.totp_last_step``), so a code seen over a shoulder
cannot be replayed. One step of clock drift either way is tolerated.
"""

from __future__ import annotations

import time

import pyotp

from sdc.extensions import db
from sdc.models import User, utcnow
from sdc.services import ServiceError, audit

ISSUER = "System Design Coach"
STEP_S = 30
DRIFT_STEPS = 1
ENABLED = "auth.2fa_enabled"
DISABLED = "auth.2fa_disabled"
RESET = "auth.2fa_reset"
FAILED = "auth.2fa_failed"


def new_secret() -> str:
    return pyotp.random_base32()  # 160 bits, from the secrets module


def otpauth_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_svg_data_uri(uri: str) -> str:
    """A QR code of ``uri`` as an SVG data URI (``img-src 'self' data:`` allows it)."""
    import segno

    return segno.make(uri, error="m").svg_data_uri(scale=4, border=2)


def _clean(code: str) -> str:
    return "".join(ch for ch in (code or "") if not ch.isspace())[:12]


def _matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    code = _clean(code)
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    step = int((time.time() if now is None else now) // STEP_S)
    for candidate in range(step - DRIFT_STEPS, step + DRIFT_STEPS + 1):
        if pyotp.utils.strings_equal(totp.generate_otp(candidate), code):
            return candidate
    return None


def confirm(user: User, secret: str, code: str) -> None:
    """Turn two-factor on with ``secret`` once ``code`` proves the app has it."""
    step = _matching_step(secret, code)
    if step is None:
        raise ServiceError(
            "That code does not match. Enter the 6 digits your app shows now.", field="code"
        )
    user.totp_secret = secret
    user.totp_enabled_at = utcnow()
    user.totp_last_step = step
    audit.record(ENABLED, "user", user.id, actor=user, in_transaction=True)
    db.session.commit()


def verify(user: User, code: str) -> bool:
    """True (and the step is spent) when ``code`` is a fresh valid code for ``user``."""
    if not user.has_2fa or not user.totp_secret:
        return False
    step = _matching_step(user.totp_secret, code)
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        audit.record(FAILED, "user", user.id, actor=user)
        return False
    user.totp_last_step = step
    db.session.commit()
    return True


def disable(user: User, code: str) -> None:
    """Turn two-factor off; needs a current code. Raises ServiceError(field="code")."""
    if not verify(user, code):
        raise ServiceError("That code does not match. Enter a current code.", field="code")
    _turn_off(user)
    audit.record(DISABLED, "user", user.id, actor=user, in_transaction=True)
    db.session.commit()


def _turn_off(user: User) -> None:
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None


def reset(user: User, reason: str) -> bool:
    """Turn two-factor off without a code: the operator's recovery for a lost authenticator
    (``sdc reset-2fa``), after checking who is asking out of band. Every session of the user
    ends too, so whoever held one must sign in again. Returns False when it was already off.
    """
    if not user.has_2fa:
        return False
    _turn_off(user)
    user.session_version += 1
    audit.record(
        RESET,
        "user",
        user.id,
        detail={"reason": reason[:200]},
        actor_email="operator (CLI)",
        in_transaction=True,
    )
    db.session.commit()
    return True
