"""CSRF on every form, rate-limited login, secure session cookies, errors that roll back."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from planner import create_app
from tests.conftest import PASSWORD


@pytest.fixture
def csrf_client(app: Flask, make_app):
    return make_app(WTF_CSRF_ENABLED=True).test_client()


def html_post_routes(app: Flask) -> list[str]:
    rules = []
    for rule in app.url_map.iter_rules():
        if "POST" in rule.methods and not rule.rule.startswith("/api/"):
            rules.append(rule.rule)
    return rules


def test_every_html_post_route_needs_a_csrf_token(app, csrf_client, cast):
    # RFC 8058's one-click unsubscribe is posted by mail clients with no session: its signed
    # token is the proof (tests/test_mail_preferences.py), so it alone takes no CSRF token.
    routes = [rule for rule in html_post_routes(app) if rule != "/unsubscribe/<token>"]
    assert len(routes) >= 15
    for rule in routes:
        url = re.sub(r"<id:\w+>", str(cast.member.id), rule.replace("<slug>", "chengdu"))
        response = csrf_client.post(url, data={"email": "x@example.com", "password": PASSWORD})
        assert response.status_code == 400, (rule, response.status_code)


def test_forms_render_a_csrf_token(csrf_client):
    assert 'name="csrf_token"' in csrf_client.get("/signup").text
    assert 'name="csrf_token"' in csrf_client.get("/login").text


def test_api_accepts_no_cookie_session(app, csrf_client, cast):
    csrf_client.get("/login")
    response = csrf_client.get("/api/v1/me")
    assert response.status_code == 401


def test_login_is_rate_limited(app, make_app):
    client = make_app(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3/minute").test_client()
    statuses = [client.post("/login", data={"email": "a@example.com", "password": "wrong pw"},
                            headers={"Accept-Language": "en"}).status_code for _ in range(5)]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3:] == [429, 429]
    limited = client.post("/api/v1/auth/token", json={"email": "a@example.com", "password": "x"})
    assert limited.status_code in (401, 429)
    page = client.post("/login", data={"email": "a@example.com", "password": "wrong pw"},
                       headers={"Accept-Language": "en"})
    assert "Too many requests" in page.text
    assert "Retry-After" in page.headers


def test_session_cookie_is_http_only_and_same_site(client, make_user):
    user = make_user()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_secure_cookies_in_production(monkeypatch, tmp_path):
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "1")
    app = create_app({"SECRET_KEY": "x"}, instance_path=str(tmp_path))
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]


def test_database_error_rolls_back_the_whole_request(app, client, cast):
    """A failure after a write leaves nothing behind and answers a clean 500."""
    from sqlalchemy import func, select
    from sqlalchemy.exc import IntegrityError

    from branches.models import Venue
    from planner.core.extensions import db

    branch_id = cast.branch.id  # read here: inside the request the test's session stays idle
    raised: list[Exception] = []

    @app.get("/boom-after-write")
    def boom():
        db.session.add(Venue(branch_id=branch_id, name="Half", address="x", capacity=5,
                             latitude=0, longitude=0))
        db.session.flush()
        db.session.add(Venue(branch_id=branch_id, name="Half", address="x", capacity=5,
                             latitude=0, longitude=0))
        try:
            db.session.flush()  # unique (branch, name) → IntegrityError
        except Exception as error:
            raised.append(error)
            raise
        return "unreachable"

    response = client.get("/boom-after-write", headers={"Accept": "application/json"})
    assert response.status_code == 500
    assert isinstance(raised[0], IntegrityError)
    assert response.json["error"]["code"] == "internal_server_error"
    assert db.session.scalar(select(func.count()).select_from(Venue)) == 0
