"""Account service behaviour not covered through the web layer."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from sdc.extensions import db
from sdc.models import ApiToken
from sdc.models.base import as_utc
from sdc.services import accounts
from tests import factories


def test_token_last_used_is_refreshed_at_most_once_a_minute(app):
    with app.app_context():
        user = factories.make_user("script@example.com")
        token = factories.make_token(user)
        assert accounts.user_for_token(token).id == user.id
        first = as_utc(db.session.scalar(select(ApiToken.last_used_at)))
        assert first is not None

        assert accounts.user_for_token(token).id == user.id  # within the minute: no write
        assert as_utc(db.session.scalar(select(ApiToken.last_used_at))) == first

        row = db.session.scalar(select(ApiToken))
        row.last_used_at = first - timedelta(minutes=2)
        db.session.commit()
        accounts.user_for_token(token)
        assert as_utc(db.session.scalar(select(ApiToken.last_used_at))) > first - timedelta(
            seconds=1
        )
        assert accounts.user_for_token("sdc_not-a-token") is None
