"""Probes for a load balancer or orchestrator.

/healthz says the process answers (liveness: restart it when this fails) and touches nothing
else. /readyz says the backing services answer (readiness: send no traffic while it fails), and
names each failed check. Neither needs a login; neither is rate limited or CSRF-checked.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable

import redis
from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from planner.core.extensions import csrf, db, limiter

bp = Blueprint("ops", __name__)
csrf.exempt(bp)
limiter.exempt(bp)

# A probe must answer quickly even when Redis is unreachable.
REDIS_TIMEOUT_SECONDS = 1
PROBE_CLIENTS = "juhui.readyz_redis"  # {Redis URL: client}


@bp.get("/healthz")
def healthz() -> Response:
    return _no_store(jsonify(status="ok"))


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    checks = {"database": _passes(_ping_database, SQLAlchemyError)}
    if current_app.config["REDIS_URL"]:
        checks["redis"] = _passes(_ping_redis, redis.RedisError)
    failed = [name for name, ok in checks.items() if not ok]
    body = {"status": "unavailable" if failed else "ok", "failed": failed,
            "checks": {name: "ok" if ok else "failed" for name, ok in checks.items()}}
    return _no_store(jsonify(body)), 503 if failed else 200


def _passes(check: Callable[[], None], expected: type[Exception]) -> bool:
    """Run one check; the reason of a failure goes to the log, not to the public answer."""
    try:
        check()
    except expected as error:
        current_app.logger.warning("readiness check %s failed: %s: %s", check.__name__,
                                   type(error).__name__, str(error).partition("\n")[0])
        return False
    return True


def _ping_database() -> None:
    # Its own pooled connection, not the request's session: no transaction is left open.
    with db.engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def probe_client() -> redis.Redis:
    """The probe's Redis client, one per app: its pool keeps the connection, so a probe every
    few seconds does not open (and the server accept) a new one each time. Named, so an
    operator can tell it apart in CLIENT LIST."""
    url = current_app.config["REDIS_URL"]
    kept: dict[str, redis.Redis] = current_app.extensions.setdefault(PROBE_CLIENTS, {})
    if url not in kept:
        kept[url] = redis.Redis.from_url(
            url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            socket_timeout=REDIS_TIMEOUT_SECONDS, health_check_interval=30,
            client_name=f"juhui-readyz-{os.getpid()}-{secrets.token_hex(4)}")
    return kept[url]


def _ping_redis() -> None:
    probe_client().ping()


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response
