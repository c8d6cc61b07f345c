"""Sign-in throttling per account: growing delays, a hard stop at 100 consecutive failures that
only an admin or a password change clears, known browsers exempt (so an attacker cannot lock
the owner out), and one answer with similar timing for unknown and known accounts."""

from __future__ import annotations

import statistics
import time
from datetime import timedelta

from sqlalchemy import select

from sdc.extensions import db
from sdc.models import AuditLog, User, utcnow
from sdc.models.base import as_utc
from sdc.services import accounts, audit
from sdc.services.accounts import GENERIC_LOGIN_ERROR, throttle_delay
from tests import factories
from tests.conftest import AuthActions

WRONG = "definitely the wrong password"


def _user(app, email="user@example.com") -> User:
    with app.app_context():
        return db.session.scalar(select(User).where(User.email == email))


def _set(app, **values):
    with app.app_context():
        row = db.session.scalar(select(User).where(User.email == "user@example.com"))
        for key, value in values.items():
            setattr(row, key, value)
        db.session.commit()


def _page(resp, local: str) -> str:
    import re

    body = resp.get_data(as_text=True).replace(local, "X@")
    return re.sub(r"[A-Za-z0-9._-]{40,}", "TOKEN", body)  # CSRF tokens differ per request


def test_delay_schedule_doubles_and_is_capped():
    waits = [throttle_delay(n, 5, 15).total_seconds() for n in range(1, 14)]
    assert waits == [0, 0, 0, 0, 30, 60, 120, 240, 480, 900, 900, 900, 900]


def test_delays_grow_per_account(app, client, auth, user):
    for _ in range(5):
        assert auth.login(password=WRONG).status_code == 401
    row = _user(app)
    assert row.failed_logins == 5
    wait = (as_utc(row.locked_until) - utcnow()).total_seconds()
    assert 25 < wait <= 30
    # While waiting, even the right password is refused with the same answer.
    resp = auth.login()
    assert resp.status_code == 401 and GENERIC_LOGIN_ERROR.encode() in resp.data
    _set(app, locked_until=utcnow() - timedelta(seconds=1))
    auth.login(password=WRONG)  # the 6th failure waits twice as long
    row = _user(app)
    assert 55 < (as_utc(row.locked_until) - utcnow()).total_seconds() <= 60
    _set(app, locked_until=utcnow() - timedelta(seconds=1))
    assert auth.login().status_code == 303  # success resets the count
    assert _user(app).failed_logins == 0 and _user(app).locked_until is None


def test_hard_stop_after_100_failures_until_admin_or_password_change(app, client, auth, user):
    _set(app, failed_logins=99)
    assert auth.login(password=WRONG).status_code == 401
    _set(app, locked_until=None)  # even with no delay pending ...
    resp = auth.login()  # ... the right password no longer works
    assert resp.status_code == 401 and GENERIC_LOGIN_ERROR.encode() in resp.data
    with app.app_context():
        rows = db.session.scalars(select(AuditLog).where(AuditLog.action == audit.LOCKOUT)).all()
        assert [r.detail["hard_stop"] for r in rows] == [True]
        reasons = db.session.scalars(
            select(AuditLog.detail).where(AuditLog.action == audit.LOGIN_FAILED)
        ).all()
        assert reasons[-1]["reason"] == "hard stop"
        # An admin re-enabling the account clears it.
        from sdc.services import admin as admin_service

        root = factories.make_user("root@example.com", role="admin")
        admin_service.change_user(root, user.id, "enable")
    assert auth.login().status_code == 303


def test_password_change_clears_the_hard_stop(app, user):
    from sdc.services import account_settings

    with app.app_context():
        row = db.session.get(User, user.id)
        row.failed_logins = 150
        account_settings.change_password(row, factories.PASSWORD, "another long passphrase ok")
        assert row.failed_logins == 0 and not accounts.is_hard_stopped(row)


def test_known_browser_is_exempt_so_an_attacker_cannot_lock_the_owner_out(app, client, auth, user):
    assert auth.login().status_code == 303  # the owner's browser now carries the device cookie
    auth.logout()
    attacker = AuthActions(app.test_client())
    for _ in range(6):
        attacker.login(password=WRONG)
    _set(app, failed_logins=500)  # ... and far past the hard stop
    assert attacker.login().status_code == 401  # the attacker's browser is stopped
    assert auth.login().status_code == 303  # the owner's browser still signs in
    # A forged or foreign device cookie does not help.
    other = app.test_client()
    other.set_cookie("sdc_device", "forged.value.here", path="/auth/login")
    _set(app, failed_logins=500)
    assert AuthActions(other).login().status_code == 401


def test_same_answer_and_similar_timing_for_unknown_and_known_accounts(app, client, auth, user):
    def timed(email):
        started = time.perf_counter()
        resp = auth.login(email, WRONG)
        return resp, time.perf_counter() - started

    known, unknown = [], []
    for _ in range(3):
        _set(app, failed_logins=0, locked_until=None)
        r1, t1 = timed("user@example.com")
        r2, t2 = timed("nobody@example.com")
        assert r1.status_code == r2.status_code == 401
        assert _page(r1, "user@") == _page(r2, "nobody@")
        known.append(t1)
        unknown.append(t2)
    # Throttled and hard-stopped refusals run the KDF too.
    _set(app, failed_logins=100)
    throttled = [timed("user@example.com")[1] for _ in range(2)]
    slow, fast = (
        max(map(statistics.median, (known, unknown, throttled))),
        min(map(statistics.median, (known, unknown, throttled))),
    )
    assert slow < fast * 2.5, (known, unknown, throttled)
