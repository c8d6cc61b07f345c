"""The migrations build the schema the models declare: what ``flask db upgrade`` creates in
production is what the code (and the index tests in ``test_query_plans``) expects, on either
backend. A model change without its migration, or a migration that drifts from the model,
fails here."""

from __future__ import annotations

import warnings

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from sdc.extensions import db


def test_migrated_schema_matches_the_models(app):
    with app.app_context(), db.engine.connect() as conn, warnings.catch_warnings():
        # SQLite cannot reflect expression indexes (the PostgreSQL-only trigram index on audit
        # e-mails); alembic warns and skips them.
        warnings.filterwarnings("ignore", message=".*expression-based index")
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []
