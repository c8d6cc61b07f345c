"""Sign up, sign in, sign out, lockout, CSRF, API tokens and bad input on the account forms."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from sdc.extensions import db
from sdc.models import User, utcnow
from sdc.services import accounts
from tests import factories
from tests.conftest import csrf_token


def test_signup_signs_in_and_lands_on_onboarding(client, auth, app):
    resp = auth.signup("new@example.com")
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/onboarding")
    page = client.get("/scenarios/")
    assert page.status_code == 200 and b"URL shortener" in page.data
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "new@example.com"))
        # scrypt hash, never the password itself
        assert (
            user.password_hash.startswith("scrypt:")
            and factories.PASSWORD not in user.password_hash
        )


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short pass", b"Use at least 12 characters (this one has 10)"),
        ("password1234", b"commonly used passwords"),
        ("aaaaaaaaaaaa", b"commonly used passwords"),
        ("abababababababab", b"repeats one or two characters"),
        ("", b"Enter a password."),
        ("x" * 1025, b"at most 1024 characters (got 1025)"),
    ],
)
def test_signup_password_policy(auth, password, message):
    resp = auth.signup("p@example.com", password)
    assert resp.status_code == 422
    assert message in resp.data
    assert b'aria-invalid="true"' in resp.data


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("", b"Enter your email address."),
        ("not-an-email", b"Enter an email address like name@example.com."),
        ("a" * 310 + "@example.com", b"at most 320 characters (got 322)"),
        ("bad\x00@example.com", b"not valid text"),
    ],
)
def test_signup_bad_email(auth, email, message):
    resp = auth.signup(email)
    assert resp.status_code == 422
    assert message in resp.data


def _field_error(page: bytes, name: str) -> str | None:
    """The message shown beside field ``name`` (the macro's ``<small id="NAME-error">``)."""
    found = re.search(
        rb'<small id="%s-error" class="field-error">([^<]*)</small>' % name.encode(), page
    )
    return found.group(1).decode() if found else None


GOOD_PASSWORD = factories.PASSWORD


@pytest.mark.parametrize("path", ["/auth/signup", "/auth/login"])
@pytest.mark.parametrize(
    ("email", "password", "field", "message"),
    [
        ("", GOOD_PASSWORD, "email", "Enter your email address."),
        ("   ", GOOD_PASSWORD, "email", "Enter your email address."),
        ("a@example.com", "", "password", "Enter a password."),
        ("a" * 309 + "@example.com", GOOD_PASSWORD, "email", "at most 320 characters (got 321)"),
        ("a@example.com", "x" * 1025, "password", "at most 1024 characters (got 1025)"),
        ("not-an-email", GOOD_PASSWORD, "email", "like name@example.com"),
        ("a@b", GOOD_PASSWORD, "email", "like name@example.com"),
        ("a b@example.com", GOOD_PASSWORD, "email", "cannot contain spaces"),
        ("bad\x00@example.com", GOOD_PASSWORD, "email", "not valid text"),
    ],
)
def test_bad_input_gets_a_message_beside_the_field(client, path, email, password, field, message):
    token = csrf_token(client, path)
    resp = client.post(path, data={"email": email, "password": password, "csrf_token": token})
    assert resp.status_code == 422
    assert message in (_field_error(resp.data, field) or "")
    assert b'aria-describedby="%s-error"' % field.encode() in resp.data


@pytest.mark.parametrize("path", ["/auth/signup", "/auth/login"])
@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"email=\xff\xfe%40x.com&password=abcdefghijklmnop", "email"),  # raw bytes
        (b"email=a%40example.com&password=%FF%FEabcdefghijkl", "password"),  # percent-encoded
    ],
)
def test_non_utf8_value_gets_a_message_beside_the_field(client, path, body, field):
    token = csrf_token(client, path)
    resp = client.post(
        path,
        data=body + b"&csrf_token=" + token.encode(),
        content_type="application/x-www-form-urlencoded",
    )
    assert resp.status_code == 422
    assert "not valid UTF-8 text" in (_field_error(resp.data, field) or "")
    assert b"Sign in" in resp.data or b"Create account" in resp.data  # the form, not an error page


def test_non_utf8_on_other_forms_is_still_a_400_naming_the_field(logged_in):
    token = csrf_token(logged_in, "/settings")
    resp = logged_in.post(
        "/settings/profile",
        data=b"role=%FF&csrf_token=" + token.encode(),
        content_type="application/x-www-form-urlencoded",
    )
    assert resp.status_code == 400 and b"not valid UTF-8 text: role." in resp.data


def test_duplicate_signup_is_refused(auth, user):
    resp = auth.signup(user.email)
    assert resp.status_code == 422 and b"already exists" in resp.data


def test_login_and_logout(client, auth, user):
    assert auth.login().status_code == 303
    assert client.get("/dashboard").status_code == 200
    assert auth.logout().status_code == 303
    assert client.get("/dashboard").status_code == 302


def test_login_same_answer_for_unknown_and_wrong_password(client, auth, user):
    wrong = auth.login(user.email, "a wrong but long password")
    unknown = auth.login("nobody@example.com", "a wrong but long password")
    assert wrong.status_code == unknown.status_code == 401
    assert b"do not match an account" in wrong.data and b"do not match an account" in unknown.data


def test_throttle_after_repeated_failures_then_waiting_works(client, auth, user, app):
    # More in tests/security/test_login_throttle.py; the answer never says "locked".
    for _ in range(5):
        auth.login(user.email, "definitely the wrong password")
    resp = auth.login()  # even the right password is refused while throttled
    assert resp.status_code == 401
    assert b"pausing sign-ins" in resp.data
    with app.app_context():
        row = db.session.scalar(select(User).where(User.email == user.email))
        row.locked_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert auth.login().status_code == 303


def test_login_next_is_same_site_only(client, user):
    token = csrf_token(client)
    data = {"email": user.email, "password": factories.PASSWORD, "csrf_token": token}
    resp = client.post("/auth/login?next=//evil.example/x", data=data)
    assert resp.headers["Location"] == "/dashboard"
    client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/")})
    token = csrf_token(client)
    data["csrf_token"] = token
    resp = client.post("/auth/login?next=/scenarios/", data=data)
    assert resp.headers["Location"] == "/scenarios/"


def test_post_without_csrf_token_is_rejected(client, user):
    resp = client.post("/auth/login", data={"email": user.email, "password": factories.PASSWORD})
    assert resp.status_code == 400
    assert b"security token" in resp.data
    assert client.get("/dashboard").status_code == 302  # not signed in


def test_session_cookie_flags(client, auth, user):
    resp = auth.login()
    cookie = resp.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_ending_all_sessions_signs_out_existing_session(client, auth, user, app):
    auth.login()
    assert client.get("/dashboard").status_code == 200
    with app.app_context():
        accounts.end_all_sessions(db.session.get(User, user.id))
    assert client.get("/dashboard").status_code == 302


def test_api_token_authenticates_without_csrf(client, app, user):
    with app.app_context():
        token = factories.make_token(db.session.get(User, user.id))
    resp = client.get(
        "/scenarios/", headers={"Authorization": f"Bearer {token}", "Accept": "application/json"}
    )
    assert resp.status_code == 200
    assert {s["slug"] for s in resp.get_json()["scenarios"]} >= {"url-shortener", "twitter-feed"}
    assert "Set-Cookie" not in resp.headers
    # a state change with a token needs no CSRF token
    resp = client.post("/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 303


def test_revoked_or_unknown_token_is_401(client, app, user):
    with app.app_context():
        u = db.session.get(User, user.id)
        row, token = accounts.create_api_token(u, "t")
        accounts.revoke_api_token(u, row.id)
    for value in (token, "sdc_not-a-real-token"):
        resp = client.get("/scenarios/", headers={"Authorization": f"Bearer {value}"})
        assert resp.status_code == 401
        assert resp.get_json()["error"]["status"] == 401


def test_token_is_stored_hashed(app, user):
    with app.app_context():
        row, token = accounts.create_api_token(db.session.get(User, user.id), "t")
        assert token not in row.token_hash and len(row.token_hash) == 64


def test_logout_ends_every_session_including_copies(app, client, auth, user):
    """A copied cookie, or the same account signed in elsewhere, is signed out by logout."""
    auth.login()
    other = app.test_client()
    from tests.conftest import AuthActions

    AuthActions(other).login()
    assert other.get("/dashboard").status_code == 200
    stolen = client.get_cookie("session").value
    auth.logout()
    assert other.get("/dashboard").status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/dashboard").status_code == 302
