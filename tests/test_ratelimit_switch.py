"""RATELIMIT_ENABLED=0 in the environment switches rate limiting off: the load test (bench/load.py)
sends all its traffic from 127.0.0.1 and would otherwise measure 429s."""

from __future__ import annotations

import pytest

from planner import create_app
from planner.core.extensions import db


def token_attempts(database_url: str, instance: str, count: int) -> list[bool]:
    """Whether each of `count` failed API logins was refused as too many (429)."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "test-secret",
                      "LOGIN_RATE_LIMIT": "1 per minute"}, instance_path=instance)
    client = app.test_client()
    refused = [client.post("/api/v1/auth/token", json={"email": "nobody@example.com",
                                                        "password": "not-the-password"}
                           ).status_code == 429 for _ in range(count)]
    with app.app_context():
        db.engine.dispose()
    return refused


@pytest.mark.parametrize(("switch", "refused"), [
    ("1", [False, True, True]),
    ("0", [False, False, False]),
])
def test_ratelimit_enabled_follows_the_environment(database_url, tmp_path, monkeypatch,
                                                    switch, refused):
    monkeypatch.setenv("RATELIMIT_ENABLED", switch)
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert token_attempts(database_url, str(tmp_path), 3) == refused


def test_rate_limits_are_on_by_default(database_url, tmp_path, monkeypatch):
    monkeypatch.delenv("RATELIMIT_ENABLED", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert token_attempts(database_url, str(tmp_path), 2) == [False, True]
