"""Rate-limit settings and storage for Flask-Limiter.

Route limits are read from settings when a request is checked (Flask-Limiter accepts a
callable), so an operator or the load test can change them without code: ``RATELIMIT_RUNS``
for starting simulations (create, re-run, inject) and ``RATELIMIT_GRADES`` for grades.

``HitCachingRedisStorage`` is the Redis storage behind every limit in production (the
``sdc+redis://`` scheme that ``Settings.flask_config`` names).
"""

from __future__ import annotations

import time

from flask import current_app, g, has_app_context
from limits.storage import RedisStorage

# Flask-Limiter's own script (INCRBY, and EXPIRE when the key is new) that also returns the
# key's remaining TTL, so one round trip yields everything the response headers need.
_INCR_EXPIRE_TTL = """
local amount = tonumber(ARGV[2])
local current = redis.call("incrby", KEYS[1], amount)
if tonumber(current) == amount then
    redis.call("expire", KEYS[1], ARGV[1])
end
return {current, redis.call("ttl", KEYS[1])}
"""


def run_limit() -> str:
    return current_app.config["SDC_SETTINGS"].ratelimit_runs


def grade_limit() -> str:
    return current_app.config["SDC_SETTINGS"].ratelimit_grades


def _hits() -> dict[str, tuple[int, float]]:
    """This request's counted keys: key -> (count after the hit, window end, epoch seconds).

    Lives on ``flask.g``, so it ends with the request; outside one, nothing is remembered.
    """
    if not has_app_context():
        return {}
    if "_rate_limit_hits" not in g:
        g._rate_limit_hits = {}
    return g._rate_limit_hits


class HitCachingRedisStorage(RedisStorage):
    """Redis rate-limit storage that answers a request's headers from its own hit.

    Flask-Limiter counts a request with one script call, then asks Redis twice more for the
    same key to write X-RateLimit-Remaining (GET) and X-RateLimit-Reset (TTL): three round
    trips on every request where one does, and on this kind of machine a loopback round trip
    costs about 0.4 ms. Here the counting script also returns the TTL, and ``get`` and
    ``get_expiry`` answer from what this request's hit returned. A key the request did not
    count is read from Redis as before. The headers show the count right after this
    request's own hit (the stock storage may include hits that landed in between).
    """

    STORAGE_SCHEME = ["sdc+redis", "sdc+rediss"]

    def __init__(self, uri: str, **options) -> None:
        super().__init__(uri.removeprefix("sdc+"), **options)

    def initialize_storage(self, uri: str) -> None:
        super().initialize_storage(uri)
        self.lua_incr_expire_ttl = self.get_connection().register_script(_INCR_EXPIRE_TTL)

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        count, ttl = self.lua_incr_expire_ttl([self.prefixed_key(key)], [expiry, amount])
        _hits()[key] = (int(count), max(int(ttl), 0) + time.time())
        return int(count)

    def get(self, key: str) -> int:
        hit = _hits().get(key)
        return hit[0] if hit else super().get(key)

    def get_expiry(self, key: str) -> float:
        hit = _hits().get(key)
        return hit[1] if hit else super().get_expiry(key)

    def clear(self, key: str) -> None:
        _hits().pop(key, None)
        super().clear(key)
