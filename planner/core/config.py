"""Configuration read from the environment (see README, "Configuration")."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any


def _sqlite_url(instance_path: str) -> str:
    return f"sqlite:///{Path(instance_path) / 'juhui.sqlite3'}"


def load_config(instance_path: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the app's config: defaults, then the environment, then explicit overrides."""
    env = os.environ
    overrides = overrides or {}
    redis_url = env.get("REDIS_URL", "")
    secret = overrides.get("SECRET_KEY") or env.get("SECRET_KEY") or _instance_secret(instance_path)
    config: dict[str, Any] = {
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": env.get("DATABASE_URL") or _sqlite_url(instance_path),
        "REDIS_URL": redis_url,
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        # A dead Redis must not hang a request: give up connecting after a second.
        "RATELIMIT_STORAGE_OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        "RATELIMIT_HEADERS_ENABLED": True,
        # Fail open (docs/deploy.md): Redis down → limits counted in each process's memory.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        # RATELIMIT_ENABLED=0 turns every limit off (load tests send all traffic from one address).
        "RATELIMIT_ENABLED": env.get("RATELIMIT_ENABLED", "1") != "0",
        "LOGIN_RATE_LIMIT": env.get("LOGIN_RATE_LIMIT", "10 per minute"),
        # Per account, whatever the address: logins by one email, password changes by one member.
        "ACCOUNT_LOGIN_RATE_LIMIT": env.get("ACCOUNT_LOGIN_RATE_LIMIT", "10 per 15 minutes"),
        "PASSWORD_CHANGE_RATE_LIMIT": env.get("PASSWORD_CHANGE_RATE_LIMIT", "5 per hour"),
        "API_RATE_LIMIT": env.get("API_RATE_LIMIT", "300 per minute"),
        "INVITE_RATE_LIMIT": env.get("INVITE_RATE_LIMIT", "60 per minute"),
        # A lead's messages to members (planner/messages): how many messages per lead, and how
        # many recipients a lead's messages may reach in 24 hours, so that a stolen lead account
        # cannot mail a whole network. The rate follows RATELIMIT_ENABLED; the cap always holds.
        "MESSAGE_RATE_LIMIT": env.get("MESSAGE_RATE_LIMIT", "5 per 10 minutes"),
        "MESSAGE_RECIPIENTS_PER_DAY": int(env.get("MESSAGE_RECIPIENTS_PER_DAY", 2000)),
        # Seconds a client is told to wait (Retry-After) when the database is unreachable.
        "DATABASE_RETRY_AFTER": int(env.get("DATABASE_RETRY_AFTER", 30)),
        "LOG_FORMAT": env.get("LOG_FORMAT", "text"),
        "LOG_LEVEL": env.get("LOG_LEVEL", "INFO"),
        # 1 behind one reverse proxy (nginx) that sets X-Forwarded-For/-Proto/-Host.
        "PROXY_FIX": env.get("PROXY_FIX", "0") == "1",
        "GEOCODER": env.get("GEOCODER", "offline"),
        "GEOCODER_API_KEY": env.get("GEOCODER_API_KEY", ""),
        "GEOCODER_USER_AGENT": env.get("GEOCODER_USER_AGENT", "juhui-planner"),
        "MAIL_URL": env.get("MAIL_URL", ""),
        # 1 lets webhooks point at plain HTTP and at loopback/private addresses (local
        # development and the tests only: in production that would reach the internal network).
        "WEBHOOK_ALLOW_PRIVATE": env.get("WEBHOOK_ALLOW_PRIVATE", "0") == "1",
        # Seconds the worker waits for a webhook's receiver before counting a failed attempt.
        "WEBHOOK_TIMEOUT": float(env.get("WEBHOOK_TIMEOUT", 5)),
        # 0: only the worker posts webhooks (production, where it runs); 1 (the default, for
        # `make run`): also right after the request that queued them, once its response is out.
        "WEBHOOK_DELIVER_AFTER_REQUEST": env.get("WEBHOOK_DELIVER_AFTER_REQUEST", "1") != "0",
        # Where members reach the site: every link in mail, calendar files and the API.
        # Required in production (a warning at start-up when unset); see planner/core/urls.py.
        "PUBLIC_URL": env.get("PUBLIC_URL", ""),
        "PASSWORD_HASH_PROFILE": "RFC_9106_LOW_MEMORY",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env.get("SESSION_COOKIE_SECURE", "0") == "1",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": env.get("SESSION_COOKIE_SECURE", "0") == "1",
        "WTF_CSRF_TIME_LIMIT": None,
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "BABEL_TRANSLATION_DIRECTORIES": str(Path(__file__).parents[1] / "translations"),
        "LANGUAGES": {"zh_CN": "简体中文", "en": "English"},
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        # Cover pictures: a phone photo of up to 10 MB (the request may carry a little more,
        # the form's other fields), and no more pixels than a 40-megapixel camera takes.
        "PICTURE_MAX_BYTES": 10 * 1024 * 1024,
        "PICTURE_UPLOAD_MAX_CONTENT_LENGTH": 10 * 1024 * 1024 + 64 * 1024,
        "PICTURE_MAX_PIXELS": int(env.get("PICTURE_MAX_PIXELS", 40_000_000)),
        # The door takes scans from this many hours before a meetup's start to this many after
        # its end; a lead's pick from the check-in list is not bound by it.
        "CHECKIN_OPENS_BEFORE": float(env.get("CHECKIN_OPENS_BEFORE", 3)),
        "CHECKIN_CLOSES_AFTER": float(env.get("CHECKIN_CLOSES_AFTER", 6)),
        # Members checked in at a meetup rate it from its start until this many days after its
        # end (planner/feedback); the feedback request mail is sent within the same days.
        "FEEDBACK_DAYS": int(env.get("FEEDBACK_DAYS", 14)),
        "EVENT_MAX_HOURS": int(env.get("EVENT_MAX_HOURS", 7 * 24)),
        # Days in a branch before a member counts as a lurker and may be nudged to come back.
        "LURKER_MIN_TENURE_DAYS": int(env.get("LURKER_MIN_TENURE_DAYS", 60)),
    }
    config.update(overrides)
    config.setdefault("SQLALCHEMY_ENGINE_OPTIONS",
                      _engine_options(config["SQLALCHEMY_DATABASE_URI"]))
    return config


def _engine_options(database_url: str) -> dict[str, Any]:
    """Check pooled connections before use, so the app recovers by itself after a database
    restart; on PostgreSQL, give up connecting after a few seconds instead of the OS's minutes."""
    options: dict[str, Any] = {"pool_pre_ping": True}
    if database_url.startswith("postgresql"):
        timeout = int(os.environ.get("DATABASE_CONNECT_TIMEOUT", 5))
        # JIT compilation costs PostgreSQL hundreds of milliseconds on the first run of a
        # report query that itself takes tens: for a web app's short queries it never pays.
        options["connect_args"] = {"connect_timeout": timeout, "options": "-c jit=off"}
    return options


def _instance_secret(instance_path: str) -> str:
    """A random secret kept in the instance folder, so sessions survive restarts of `make run`."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()
