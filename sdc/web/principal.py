"""Who is asking: the key used by rate limits and telemetry."""

from flask import request
from flask_login import current_user


def client_ip() -> str:
    """The client address (already corrected by ProxyFix when ``PROXY_FIX_HOPS`` is set)."""
    return request.remote_addr or "unknown"


def rate_limit_key() -> str:
    """Limit signed-in users per account and everyone else per IP address."""
    if current_user and current_user.is_authenticated:
        return f"user:{current_user.id}"
    return f"ip:{client_ip()}"
