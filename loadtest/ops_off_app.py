"""The app with request telemetry and the audit hook removed: load-test comparison only.

``gunicorn 'loadtest.ops_off_app:create_app()'`` builds the real app and then drops the two
request processors that write telemetry and audit rows (``sdc.web.hooks``), so the same run can
measure what they cost. There is deliberately no setting for this: production cannot turn the
audit trail off. If the hooks are renamed this fails loudly rather than measuring nothing.
Every answer carries ``X-SDC-Ops: off`` (``names.OPS_OFF_HEADER``), so the load test can tell
that its "ops off" requests reached this server and not the full app.
"""

from __future__ import annotations

from flask import Flask

from loadtest.names import OPS_OFF_HEADER
from sdc import create_app as create_sdc_app

AFTER = "record_request"
TEARDOWN = "record_failed_request"


def without_ops(app: Flask) -> Flask:
    after = app.after_request_funcs.get(None, [])
    teardown = app.teardown_request_funcs.get(None, [])
    kept_after = [f for f in after if getattr(f, "__name__", "") != AFTER]
    kept_teardown = [f for f in teardown if getattr(f, "__name__", "") != TEARDOWN]
    if len(kept_after) != len(after) - 1 or len(kept_teardown) != len(teardown) - 1:
        raise RuntimeError(f"sdc.web.hooks no longer has {AFTER}/{TEARDOWN}; update {__name__}")
    app.after_request_funcs[None] = kept_after
    app.teardown_request_funcs[None] = kept_teardown

    @app.after_request
    def say_ops_off(response):
        response.headers[OPS_OFF_HEADER] = "off"
        return response

    return app


def create_app() -> Flask:
    return without_ops(create_sdc_app())
