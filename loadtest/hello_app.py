"""The baseline: a bare Flask "hello", served by gunicorn with the same settings as the app.

``gunicorn 'loadtest.hello_app:create_app()'``. No extensions, no database, no hooks: every
endpoint's throughput is reported as a ratio to this one, measured in the same run.
"""

from __future__ import annotations

from flask import Flask


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def hello():
        return "Hello, World!"

    return app
