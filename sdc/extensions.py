"""Extension instances, created unbound and initialised in ``create_app``."""

from flask import current_app
from flask_cors import CORS
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_talisman import Talisman
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

from sdc.db_events import ops_engine
from sdc.web.principal import rate_limit_key


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=rate_limit_key)
talisman = Talisman()
cors = CORS()


def commit_keeping_loaded() -> None:
    """Commit the request's session without expiring the objects it has loaded.

    A plain commit expires every loaded object, so the next read of any attribute (the
    signed-in user's, the version just saved) reloads it: one query per object on hot write
    paths whose loaded state is still exactly what was committed. Call it only when that holds:
    the caller has set on the objects whatever it wrote with bulk statements
    (``set_committed_value``), and nothing else wrote them in this transaction.
    """
    session = db.session()
    keep, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = keep


def ops_rows_engine() -> Engine:
    """The engine that writes audit and telemetry rows (``sdc.db_events.ops_engine``: on
    PostgreSQL they commit without waiting for the WAL flush unless OPS_SYNCHRONOUS_COMMIT=on).
    Call with an app context."""
    settings = current_app.config.get("SDC_SETTINGS")
    return ops_engine(db.engine, getattr(settings, "ops_synchronous_commit", False))
