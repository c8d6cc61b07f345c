"""Error pages: a full page for browsers, a small fragment for htmx, JSON for API clients."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from sdc.services import ServiceError
from sdc.web.htmx import is_partial

TITLES = {
    400: "Bad request",
    401: "Sign-in required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Changed elsewhere",
    413: "Too large",
    422: "Invalid input",
    429: "Too many requests",
    500: "Something went wrong",
    503: "Temporarily unavailable",
}
DEFAULT_MESSAGES = {
    400: "The request could not be understood.",
    401: "Sign in, or send a valid API token.",
    403: "You are not allowed to do that.",
    404: "There is nothing here, or you do not have access to it.",
    405: "This address does not accept that kind of request.",
    409: "This was changed somewhere else since you loaded it.",
    413: "The upload is larger than the server accepts.",
    429: "You are going a bit fast. Wait a moment and try again.",
    500: "An unexpected error happened on our side. It has been logged.",
    503: "A service we depend on is unavailable. Try again shortly.",
}


def wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def error_response(status: int, message: str | None = None, headers: dict | None = None):
    message = message or DEFAULT_MESSAGES.get(status, "Error")
    title = TITLES.get(status, "Error")
    if wants_json() or request.headers.get("Authorization"):
        resp = jsonify(error={"status": status, "title": title, "message": message})
    else:
        template = "errors/_error.html" if is_partial() else "errors/page.html"
        resp = render_template(template, status=status, title=title, message=message), status
        from flask import make_response

        resp = make_response(resp)
    resp.status_code = status
    for key, value in (headers or {}).items():
        resp.headers[key] = value
    if status in (400, 409, 413, 422, 429) and is_partial():
        # Let htmx swap the explanation in rather than silently dropping an error response.
        resp.headers["HX-Reswap"] = "innerHTML"
    return resp


def init_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        headers = {}
        if exc.code == 405 and exc.valid_methods:
            headers["Allow"] = ", ".join(exc.valid_methods)
        if exc.code == 429:
            headers["Retry-After"] = str(getattr(exc, "retry_after", 60) or 60)
        message = None
        if exc.code == 429 and getattr(exc, "description", None):
            message = f"Rate limit reached ({exc.description}). Wait a moment and try again."
        elif exc.code == 413:
            limit = app.config.get("MAX_CONTENT_LENGTH") or 0
            message = f"The request body is larger than the {limit // 1024} KB the server accepts."
        return error_response(exc.code or 500, message, headers)

    @app.errorhandler(ServiceError)
    def service_error(exc: ServiceError):
        return error_response(exc.status, exc.message)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("unhandled error")
        return error_response(500)
