"""One settings object, built from the environment, for the web app, workers, CLI and tests.

The embedded default (no environment at all) is SQLite + SQLite-backed Huey under
``instance/``; production differs only in environment (``DATABASE_URL``, ``REDIS_URL``,
``SDC_ENV=production``). Every variable read here is listed in ``.env.example``.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields
from pathlib import Path

ROOT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE_DIR = ROOT_DIR / "instance"


class SettingsError(RuntimeError):
    """A setting is missing or malformed; the message names the variable."""


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(env: dict, name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from exc


def _float(env: dict, name: str, default: float) -> float:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from exc


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs written the usual way (postgres://, postgresql://)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


@dataclass(frozen=True)
class Settings:
    env: str  # "development" (embedded default), "production" or "test"
    secret_key: str
    instance_dir: Path
    database_url: str
    redis_url: str | None
    huey_sqlite_path: Path
    huey_immediate: bool
    session_cookie_secure: bool
    max_content_length: int
    login_max_failures: int
    login_lockout_minutes: int
    login_hard_stop_failures: int
    session_idle_minutes: int
    session_absolute_hours: int
    admin_require_2fa: bool
    ratelimit_default: str
    ratelimit_runs: str
    ratelimit_grades: str
    ratelimit_enabled: bool
    proxy_fix_hops: int
    cors_allowed_origins: tuple[str, ...]
    request_telemetry_sample_rate: float
    telemetry_retention_days: int
    audit_retention_days: int
    ops_synchronous_commit: bool
    run_timeout_s: int
    run_max_attempts: int
    runs_per_minute: int
    runs_concurrent: int
    ai_provider: str
    ai_base_url: str | None
    ai_api_key: str | None
    ai_model: str | None
    ai_temperature: float
    ai_max_tokens: int
    ai_timeout_s: float
    demo_email: str = "demo@example.com"
    demo_password: str = "practise-system-design"
    extra: dict = field(default_factory=dict)

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def queue_backend(self) -> str:
        return "redis" if self.redis_url else "sqlite"

    def flask_config(self) -> dict:
        """The Flask ``app.config`` mapping derived from these settings."""
        return {
            "SDC_ENV": self.env,
            "SECRET_KEY": self.secret_key,
            "SQLALCHEMY_DATABASE_URI": self.database_url,
            # Stale pooled connections are caught by sdc.db_events (a ping after idling).
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": False},
            "MAX_CONTENT_LENGTH": self.max_content_length,
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": self.session_cookie_secure,
            "REMEMBER_COOKIE_HTTPONLY": True,
            "REMEMBER_COOKIE_SAMESITE": "Lax",
            "REMEMBER_COOKIE_SECURE": self.session_cookie_secure,
            # A workspace left open for hours must still save: the CSRF token is bound to
            # the session, not to a clock.
            "WTF_CSRF_TIME_LIMIT": None,
            # CSRF is enforced by our own hook so that bearer-token requests can skip it.
            "WTF_CSRF_CHECK_DEFAULT": False,
            "WTF_CSRF_HEADERS": ["X-CSRFToken", "X-CSRF-Token"],
            "RATELIMIT_ENABLED": self.ratelimit_enabled,
            "RATELIMIT_DEFAULT": self.ratelimit_default,
            # sdc.web.limits.HitCachingRedisStorage: one Redis round trip per limit, not three.
            "RATELIMIT_STORAGE_URI": f"sdc+{self.redis_url}" if self.redis_url else "memory://",
            "RATELIMIT_HEADERS_ENABLED": True,
            "RATELIMIT_SWALLOW_ERRORS": True,
            "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
            "SDC_SETTINGS": self,
        }


def _load_dotenv(env: dict) -> None:
    """Read ``.env`` from the project root into ``env`` without overriding real variables."""
    path = ROOT_DIR / ".env"
    if not path.exists():
        return
    from dotenv import dotenv_values

    for key, value in dotenv_values(path).items():
        if value is not None:
            env.setdefault(key, value)


def _embedded_secret(instance_dir: Path) -> str:
    """Generate the embedded default's secret once and keep it in ``instance/secret_key``."""
    instance_dir.mkdir(parents=True, exist_ok=True)
    path = instance_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    # Create exclusively so two processes starting together agree on one key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


AI_PROVIDERS = ("mock", "openai-compatible", "anthropic")


def _check_ai(values: dict) -> None:
    """A typo in AI_PROVIDER must not silently fall back to the mock coach."""
    if values["ai_provider"] not in AI_PROVIDERS:
        raise SettingsError(
            f"AI_PROVIDER must be one of {', '.join(AI_PROVIDERS)}, got {values['ai_provider']!r}"
        )
    if not values["ai_timeout_s"] > 0:
        raise SettingsError(f"AI_TIMEOUT_S must be above 0, got {values['ai_timeout_s']!r}")
    if values["ai_max_tokens"] < 1:
        raise SettingsError(f"AI_MAX_TOKENS must be at least 1, got {values['ai_max_tokens']!r}")


def load_settings(environ: dict | None = None, **overrides) -> Settings:
    """Build settings from ``environ`` (default: ``os.environ`` plus ``.env``).

    Raises SettingsError naming the variable when a value is malformed or when production
    lacks ``SECRET_KEY`` or ``DATABASE_URL``.
    """
    env = dict(os.environ if environ is None else environ)
    if environ is None:
        _load_dotenv(env)
    mode = (env.get("SDC_ENV") or "development").strip().lower()
    if mode not in {"development", "production", "test"}:
        raise SettingsError(f"SDC_ENV must be development, production or test, got {mode!r}")
    instance_dir = Path(env.get("SDC_INSTANCE_DIR") or DEFAULT_INSTANCE_DIR)

    secret_key = env.get("SECRET_KEY") or ""
    if not secret_key:
        if mode == "production":
            raise SettingsError("SECRET_KEY is required in production")
        secret_key = _embedded_secret(instance_dir)

    database_url = env.get("DATABASE_URL") or ""
    if not database_url:
        if mode == "production":
            raise SettingsError("DATABASE_URL is required in production")
        instance_dir.mkdir(parents=True, exist_ok=True)
        database_url = f"sqlite:///{instance_dir / 'sdc.db'}"
    database_url = normalise_database_url(database_url)

    origins = tuple(
        o.strip() for o in (env.get("CORS_ALLOWED_ORIGINS") or "").split(",") if o.strip()
    )
    values = dict(
        env=mode,
        secret_key=secret_key,
        instance_dir=instance_dir,
        database_url=database_url,
        redis_url=env.get("REDIS_URL") or None,
        huey_sqlite_path=Path(env.get("HUEY_SQLITE_PATH") or instance_dir / "huey.db"),
        huey_immediate=_bool(env.get("HUEY_IMMEDIATE"), False),
        session_cookie_secure=_bool(env.get("SESSION_COOKIE_SECURE"), mode == "production"),
        max_content_length=_int(env, "MAX_CONTENT_LENGTH", 2 * 1024 * 1024),
        login_max_failures=_int(env, "LOGIN_MAX_FAILURES", 5),
        login_lockout_minutes=_int(env, "LOGIN_LOCKOUT_MINUTES", 15),
        login_hard_stop_failures=_int(env, "LOGIN_HARD_STOP_FAILURES", 100),
        session_idle_minutes=_int(env, "SESSION_IDLE_MINUTES", 480),
        session_absolute_hours=_int(env, "SESSION_ABSOLUTE_HOURS", 168),
        admin_require_2fa=_bool(env.get("ADMIN_REQUIRE_2FA"), True),
        ratelimit_default=env.get("RATELIMIT_DEFAULT") or "600 per minute",
        ratelimit_runs=env.get("RATELIMIT_RUNS") or "30 per minute",
        ratelimit_grades=env.get("RATELIMIT_GRADES") or "20 per minute",
        ratelimit_enabled=_bool(env.get("RATELIMIT_ENABLED"), True),
        proxy_fix_hops=_int(env, "PROXY_FIX_HOPS", 0),
        cors_allowed_origins=origins,
        request_telemetry_sample_rate=_float(env, "REQUEST_TELEMETRY_SAMPLE_RATE", 1.0),
        telemetry_retention_days=_int(env, "TELEMETRY_RETENTION_DAYS", 30),
        audit_retention_days=_int(env, "AUDIT_RETENTION_DAYS", 365),
        ops_synchronous_commit=_bool(env.get("OPS_SYNCHRONOUS_COMMIT"), False),
        run_timeout_s=_int(env, "RUN_TIMEOUT_S", 300),
        run_max_attempts=_int(env, "RUN_MAX_ATTEMPTS", 3),
        runs_per_minute=_int(env, "RUNS_PER_MINUTE", 10),
        runs_concurrent=_int(env, "RUNS_CONCURRENT", 3),
        ai_provider=(env.get("AI_PROVIDER") or "mock").strip().lower(),
        ai_base_url=env.get("AI_BASE_URL") or None,
        ai_api_key=env.get("AI_API_KEY") or None,
        ai_model=env.get("AI_MODEL") or None,
        ai_temperature=_float(env, "AI_TEMPERATURE", 0.2),
        ai_max_tokens=_int(env, "AI_MAX_TOKENS", 800),
        ai_timeout_s=_float(env, "AI_TIMEOUT_S", 20.0),
    )
    _check_ai(values)
    known = {f.name for f in fields(Settings)}
    for key, value in overrides.items():
        if key not in known:
            raise SettingsError(f"unknown setting override {key!r}")
        values[key] = value
    return Settings(**values)
