"""Let plain HTML forms send PATCH and DELETE (no-JavaScript fallback for htmx actions).

A POST whose body (urlencoded or multipart) carries ``_method=PATCH`` or ``_method=DELETE``
is routed as that method. Routing happens before any Flask hook, so this is WSGI middleware.
"""

from __future__ import annotations

import io
import re
from urllib.parse import parse_qs

ALLOWED = {"PATCH", "DELETE", "PUT"}
_MULTIPART_FIELD = re.compile(rb'name="_method"\r\n\r\n([A-Za-z]{3,6})\r\n')


class MethodOverrideMiddleware:
    def __init__(self, app, max_body: int):
        self.app = app
        self.max_body = max_body

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") == "POST":
            method = self._override(environ)
            if method:
                environ["REQUEST_METHOD"] = method
                environ["sdc.method_override"] = True
        return self.app(environ, start_response)

    def _override(self, environ) -> str | None:
        header = environ.get("HTTP_X_HTTP_METHOD_OVERRIDE", "").upper()
        if header in ALLOWED:
            return header
        query = parse_qs(environ.get("QUERY_STRING", "")).get("_method", [""])[0].upper()
        if query in ALLOWED:
            return query
        ctype = environ.get("CONTENT_TYPE", "")
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return None
        if length <= 0 or length > self.max_body:
            return None  # leave oversized bodies for Flask to answer with 413
        if not (
            ctype.startswith("application/x-www-form-urlencoded")
            or ctype.startswith("multipart/form-data")
        ):
            return None
        body = environ["wsgi.input"].read(length)
        # Give the body back to the application untouched.
        environ["wsgi.input"] = io.BytesIO(body)
        if ctype.startswith("multipart/form-data"):
            match = _MULTIPART_FIELD.search(body)
            value = match.group(1).decode("ascii").upper() if match else ""
        else:
            try:
                value = parse_qs(body.decode("utf-8")).get("_method", [""])[0].upper()
            except UnicodeDecodeError:
                return None
        return value if value in ALLOWED else None
