"""Accounts: sign-up with a NIST SP 800-63B style policy, sign-in with lockout, API tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache, lru_cache
from importlib import resources

from flask import current_app
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from sdc.extensions import db
from sdc.models import ApiToken, User, utcnow
from sdc.models.base import as_utc
from sdc.services import NotFound, ServiceError, audit

EMAIL_MAX = 320
PASSWORD_MIN = 12
PASSWORD_MAX = 1024
TOKEN_PREFIX = "sdc_"
TOKEN_LAST_USED_PRECISION = timedelta(minutes=1)
MAX_ACTIVE_TOKENS = 50
# scrypt (memory-hard, Werkzeug's default KDF) with a per-password random salt.
_KDF = "scrypt"
# A hash to check against when the account does not exist, so unknown and known emails
# take the same time to answer.
_DUMMY_HASH = generate_password_hash("timing-equaliser-not-a-password", method=_KDF)


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    text = resources.files("sdc.services").joinpath("data/common_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower()
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    )


def normalise_email(raw: str) -> str:
    return raw.strip().lower()


def email_problem(email: str) -> str | None:
    """A sentence describing what is wrong with ``email``, or None."""
    if not email:
        return "Enter your email address."
    if len(email) > EMAIL_MAX:
        return (
            f"An email address can be at most {EMAIL_MAX} characters (this one has {len(email)})."
        )
    local, sep, domain = email.partition("@")
    if not sep or not local or "." not in domain or domain.startswith(".") or domain.endswith("."):
        return "Enter an email address like name@example.com."
    if any(ch.isspace() for ch in email):
        return "An email address cannot contain spaces."
    return None


def password_problem(password: str, email: str = "") -> str | None:
    """NIST SP 800-63B: a length floor, a breach/common list, no composition rules."""
    if not password:
        return "Enter a password."
    if len(password) < PASSWORD_MIN:
        return f"Use at least {PASSWORD_MIN} characters (this one has {len(password)}). A few words make a good password."
    if len(password) > PASSWORD_MAX:
        return f"A password can be at most {PASSWORD_MAX} characters."
    lowered = password.lower()
    if lowered in common_passwords():
        return "That password is on a list of commonly used passwords. Choose another."
    if len(set(password)) <= 2:
        return "That password repeats one or two characters. Choose something less predictable."
    if email and lowered in {email.lower(), email.split("@")[0].lower()}:
        return "Your password cannot be your email address."
    return None


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=_KDF)


def sign_up(email: str, password: str) -> User:
    """Create an account; raises ServiceError(field=...) on a bad email or password."""
    email = normalise_email(email)
    if problem := email_problem(email):
        raise ServiceError(problem, field="email")
    if problem := password_problem(password, email):
        raise ServiceError(problem, field="password")
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise ServiceError(
            "An account with this email already exists. Sign in instead.", field="email"
        )
    user = User(email=email, password_hash=hash_password(password))
    db.session.add(user)
    db.session.commit()
    audit.record(audit.SIGNUP, "user", user.id, actor=user)
    return user


@dataclass(frozen=True)
class LoginOutcome:
    user: User | None
    error: str | None = None
    locked_until: datetime | None = None


# One sentence for every refused password sign-in (unknown account, wrong password, throttled,
# hard-stopped), so the answer never tells an attacker which of those it was.
GENERIC_LOGIN_ERROR = (
    "That email and password do not match an account, or this account is pausing sign-ins "
    "after repeated failures. Check them and try again in a few minutes."
)
THROTTLE_BASE_S = 30


def throttle_delay(failures: int, free: int, cap_minutes: int) -> timedelta:
    """Wait before the next attempt after ``failures`` consecutive failures.

    Nothing for the first ``free`` - 1 failures; then 30 s, doubling per failure, capped at
    ``cap_minutes`` (5 free, 15 min cap: 30 s, 1, 2, 4, 8, 15, 15, ... minutes).
    """
    if failures < free:
        return timedelta(0)
    exponent = min(failures - free, 20)
    return min(timedelta(seconds=THROTTLE_BASE_S * 2**exponent), timedelta(minutes=cap_minutes))


def is_hard_stopped(user: User) -> bool:
    settings = current_app.config["SDC_SETTINGS"]
    return user.failed_logins >= settings.login_hard_stop_failures


KNOWN_DEVICE_SALT = "sdc-known-device"
KNOWN_DEVICE_DAYS = 90


def _device_serializer():
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(current_app.secret_key, salt=KNOWN_DEVICE_SALT)


def _password_fingerprint(user: User) -> str:
    # Changing the password forgets every known device of the account.
    return hashlib.sha256(user.password_hash.encode("utf-8")).hexdigest()[:16]


def known_device_token(user: User) -> str:
    """A signed token a browser keeps after signing in: "this browser knew the password"."""
    return _device_serializer().dumps({"u": str(user.id), "p": _password_fingerprint(user)})


def is_known_device(user: User, token: str | None) -> bool:
    if not token or len(token) > 400:
        return False
    from itsdangerous import BadData

    try:
        data = _device_serializer().loads(token, max_age=KNOWN_DEVICE_DAYS * 86400)
    except BadData:
        return False
    return (
        isinstance(data, dict)
        and data.get("u") == str(user.id)
        and hmac.compare_digest(str(data.get("p", "")), _password_fingerprint(user))
    )


def authenticate(email: str, password: str, known_device: str | None = None) -> LoginOutcome:
    """Check credentials with per-account throttling (docs/security.md, "Sign-in throttling").

    After ``LOGIN_MAX_FAILURES`` consecutive failures each attempt must wait a growing delay
    (``throttle_delay``); after ``LOGIN_HARD_STOP_FAILURES`` consecutive failures password
    sign-in stops until an admin re-enables the account or the password is changed. A browser
    that signed in to this account before (``known_device``: the signed token of
    ``known_device_token``, kept in a cookie) is exempt from both, so an attacker guessing
    from elsewhere cannot lock the owner out; it is still bound by the per-IP rate limits.

    Every refusal of a password answers ``GENERIC_LOGIN_ERROR`` and runs the KDF exactly once,
    so neither the text nor the timing reveals whether the account exists or is throttled.
    """
    settings = current_app.config["SDC_SETTINGS"]
    email = normalise_email(email)
    user = db.session.scalar(select(User).where(User.email == email)) if email else None
    now = utcnow()
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        _audit_failure(email[:320], None, "unknown account")
        return LoginOutcome(None, GENERIC_LOGIN_ERROR)
    if not is_known_device(user, known_device):
        locked_until = as_utc(user.locked_until)
        if is_hard_stopped(user):
            check_password_hash(_DUMMY_HASH, password)
            _audit_failure(email, user, "hard stop")
            return LoginOutcome(None, GENERIC_LOGIN_ERROR, locked_until or now)
        if locked_until and locked_until > now:
            check_password_hash(_DUMMY_HASH, password)
            _audit_failure(email, user, "throttled")
            return LoginOutcome(None, GENERIC_LOGIN_ERROR, locked_until)
    if not check_password_hash(user.password_hash, password):
        return _count_failure(user, email, now, settings)
    if user.disabled:
        _audit_failure(email, user, "disabled")
        return LoginOutcome(None, "This account is disabled. Contact an administrator.")
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    db.session.commit()
    audit.record(audit.LOGIN_OK, "user", user.id, actor=user)
    return LoginOutcome(user)


def _count_failure(user: User, email: str, now: datetime, settings) -> LoginOutcome:
    user.failed_logins += 1
    failures = user.failed_logins
    delay = throttle_delay(failures, settings.login_max_failures, settings.login_lockout_minutes)
    user.locked_until = now + delay if delay else None
    db.session.commit()
    _audit_failure(email, user, "wrong password")
    hard = failures == settings.login_hard_stop_failures
    if failures == settings.login_max_failures or hard:
        detail = {"failures": failures, "hard_stop": hard}
        if user.locked_until:
            detail["until"] = as_utc(user.locked_until).isoformat()
        audit.record(audit.LOCKOUT, "user", user.id, detail=detail, actor=user)
    return LoginOutcome(None, GENERIC_LOGIN_ERROR, as_utc(user.locked_until))


def clear_login_throttle(user: User) -> None:
    """Forget consecutive sign-in failures (admin re-enable, password change); caller commits."""
    user.failed_logins = 0
    user.locked_until = None


def _audit_failure(email: str, user: User | None, reason: str) -> None:
    audit.record(
        audit.LOGIN_FAILED,
        "user",
        user.id if user else None,
        detail={"reason": reason},
        actor=user,
        actor_email=email,
    )


def end_all_sessions(user: User) -> None:
    """Invalidate every session of ``user`` on its next request."""
    user.session_version += 1
    db.session.commit()
    audit.record(audit.SESSIONS_ENDED, "user", user.id)


def load_session_user(session_id: str) -> User | None:
    """Flask-Login user loader: ``"<uuid>:<session_version>"`` -> user, if still valid."""
    import uuid

    user_id, _, version = session_id.partition(":")
    try:
        uid = uuid.UUID(user_id)
        ver = int(version)
    except ValueError:
        return None
    user = db.session.get(User, uid)
    if user is None or user.disabled or user.session_version != ver:
        return None
    return user


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_api_token(user: User, name: str = "default") -> tuple[ApiToken, str]:
    """Create a token; returns the row and the plaintext, which is shown once and never stored.

    Raises ServiceError (422, field ``token_name``) past ``MAX_ACTIVE_TOKENS`` live tokens: more
    is a leak waiting to happen (and a settings page that lists thousands).
    """
    name = (name or "default").strip()[:80] or "default"
    active = db.session.scalar(
        select(func.count())
        .select_from(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    )
    if active >= MAX_ACTIVE_TOKENS:
        raise ServiceError(
            f"You already have {MAX_ACTIVE_TOKENS} active tokens: revoke one you no longer use "
            "before creating another.",
            field="token_name",
        )
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id, name=name, prefix=plaintext[:10], token_hash=_token_digest(plaintext)
    )
    db.session.add(row)
    db.session.commit()
    audit.record(
        audit.TOKEN_CREATED,
        "token",
        row.id,
        detail={"name": name, "prefix": row.prefix},
        actor=user,
    )
    return row, plaintext


def revoke_api_token(user: User, token_id) -> None:
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound("No such token.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        db.session.commit()
        audit.record(audit.TOKEN_REVOKED, "token", row.id, detail={"name": row.name}, actor=user)


@cache
def _token_stmt():
    """The token with its user by ``:digest``: built once (it runs on every API request, where
    building it cost about 50 us of Python)."""
    return (
        select(ApiToken)
        .where(ApiToken.token_hash == bindparam("digest"))
        .options(joinedload(ApiToken.user))
    )


def user_for_token(token: str) -> User | None:
    """The active user owning a live token, or None. Comparison is on a SHA-256 digest.

    ``last_used_at`` (shown in settings to the minute) is refreshed at most once a minute.
    """
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    digest = _token_digest(token)
    row = db.session.scalar(_token_stmt(), {"digest": digest})
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.token_hash, digest):
        return None
    user = row.user
    if user.disabled:
        return None
    now = utcnow()
    last = as_utc(row.last_used_at)
    if last is not None and now - last < TOKEN_LAST_USED_PRECISION:
        return user  # recorded recently: a script's burst of calls costs no write each
    try:
        row.last_used_at = now
        db.session.commit()
    except Exception:  # bookkeeping only: a busy database must not fail the request
        db.session.rollback()
        user = db.session.get(User, row.user_id)
    return user


def ensure_user(email: str, password: str, role: str = "user") -> User:
    """Create or update an account without the sign-up policy (seed and admin CLI only)."""
    email = normalise_email(email)
    if problem := email_problem(email):
        raise ServiceError(problem, field="email")
    user = db.session.scalar(select(User).where(func.lower(User.email) == email))
    if user is None:
        user = User(email=email, password_hash=hash_password(password), role=role)
        db.session.add(user)
    else:
        user.role = role if role == "admin" else user.role
    db.session.commit()
    return user


def find_user(email: str) -> User:
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise NotFound(f"No account with email {email}.")
    return user
