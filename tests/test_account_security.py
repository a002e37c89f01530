"""Trust in accounts: sessions that end everywhere, named revocable API tokens, login limits per
account (also under parallel guessing), weak passwords refused, personal answers never cached."""

from __future__ import annotations

import http.client
import json
import threading
from datetime import datetime, timedelta
from urllib.parse import urlencode, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from planner.accounts import services as accounts
from planner.accounts.models import ApiToken, User
from planner.accounts.passwords import verify_password
from planner.core.extensions import db
from planner.core.timeutil import utcnow
from planner.events import services as events
from planner.events.models import EventStatus
from planner.registrations import services as registrations
from tests.conftest import PASSWORD, bearer, login, serving

NEW_PASSWORD = "quiet lantern orchard"
EN = {"Accept-Language": "en"}
ACCOUNT_LIMITED = "Too many login attempts for this account."


def copy_of_session(client: FlaskClient, app: Flask) -> FlaskClient:
    """Another browser holding the same session cookie (copied, or stolen)."""
    other = app.test_client()
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    other.set_cookie(cookie.key, cookie.value)
    return other


def signed_in(client: FlaskClient) -> bool:
    return client.get("/profile").status_code == 200


# --- sessions ---------------------------------------------------------------------------------

def test_logout_ends_every_copy_of_the_session(app, client, make_user):
    user = make_user()
    login(client, user)
    copy = copy_of_session(client, app)
    assert signed_in(copy)
    client.post("/logout")
    assert not signed_in(client)
    assert not signed_in(copy)
    login(client, user)  # a new login works as before
    assert signed_in(client) and not signed_in(copy)


def test_password_change_ends_other_sessions_and_tokens_but_not_this_one(app, client,
                                                                          make_user):
    user = make_user()
    login(client, user)
    elsewhere = copy_of_session(client, app)
    token = bearer(client, user)
    changed = client.post("/profile/password", data={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert changed.status_code == 302
    assert signed_in(client)
    assert not signed_in(elsewhere)
    assert client.get("/api/v1/me", headers=token).status_code == 401
    db.session.refresh(user)
    assert verify_password(user.password_hash, NEW_PASSWORD)


def test_a_refused_password_change_ends_nothing(app, client, make_user):
    user = make_user()
    login(client, user)
    elsewhere = copy_of_session(client, app)
    token = bearer(client, user)
    for data in ({"current_password": "not my password", "new_password": NEW_PASSWORD,
                  "confirm": NEW_PASSWORD},
                 {"current_password": PASSWORD, "new_password": "password123",
                  "confirm": "password123"}):
        assert client.post("/profile/password", data=data).status_code == 422
    assert signed_in(elsewhere)
    assert client.get("/api/v1/me", headers=token).status_code == 200


# --- named API tokens ---------------------------------------------------------------------------

def named_token(client: FlaskClient, user: User, name: str | None = None) -> dict[str, str]:
    body = {"email": user.email, "password": PASSWORD} | ({"name": name} if name else {})
    response = client.post("/api/v1/auth/token", json=body)
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json['token']}"}


def secret_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def token_row(headers: dict[str, str]) -> ApiToken:
    db.session.rollback()  # read what the requests committed
    token = accounts.api_token_for(secret_of(headers))
    assert token is not None
    return token


def test_tokens_are_listed_by_name_without_their_secret(client, make_user):
    user = make_user()
    phone = named_token(client, user, "  My phone ")
    bot = named_token(client, user)
    listed = client.get("/api/v1/me/tokens", headers=phone)
    assert listed.status_code == 200
    assert [(t["name"], t["current"]) for t in listed.json] == [("API token", False),
                                                                ("My phone", True)]
    assert all(set(t) == {"id", "name", "created_at", "last_used_at", "current"}
               for t in listed.json)
    for secret in (secret_of(phone), secret_of(bot)):
        assert secret not in listed.text
    by_name = {t["name"]: t for t in listed.json}
    assert by_name["My phone"]["last_used_at"] is not None  # this very request used it
    assert by_name["API token"]["last_used_at"] is None
    assert client.get("/api/v1/me/tokens", headers=bot).json[0]["current"] is True


def test_a_tokens_last_use_is_written_at_most_once_a_minute(client, make_user):
    token = named_token(client, make_user())
    assert token_row(token).last_used_at is None
    client.get("/api/v1/me", headers=token)  # a read: its view may not write, the stamp may
    first_use = token_row(token).last_used_at
    assert first_use is not None
    recently = utcnow() - timedelta(seconds=30)
    token_row(token).last_used_at = recently
    db.session.commit()
    client.get("/api/v1/me", headers=token)
    assert token_row(token).last_used_at == recently
    token_row(token).last_used_at = recently - timedelta(minutes=1)
    db.session.commit()
    client.get("/api/v1/me", headers=token)
    assert token_row(token).last_used_at > recently


def test_revoking_one_token_leaves_the_others(client, make_user):
    user, other = make_user(), make_user()
    keep, drop = named_token(client, user, "keep"), named_token(client, user, "drop")
    theirs = named_token(client, other, "theirs")
    drop_id, their_id = token_row(drop).id, token_row(theirs).id
    assert client.delete(f"/api/v1/me/tokens/{drop_id}", headers=keep).status_code == 204
    assert client.get("/api/v1/me", headers=drop).status_code == 401
    assert client.get("/api/v1/me", headers=keep).status_code == 200
    assert [t["name"] for t in client.get("/api/v1/me/tokens", headers=keep).json] == ["keep"]
    assert client.delete(f"/api/v1/me/tokens/{drop_id}", headers=keep).status_code == 404
    refused = client.delete(f"/api/v1/me/tokens/{their_id}", headers=keep)
    assert refused.status_code == 404 and refused.json["error"]["code"] == "not_found"
    assert client.get("/api/v1/me", headers=theirs).status_code == 200
    assert client.delete(f"/api/v1/me/tokens/{2**63 + 1}", headers=keep).status_code == 404
    assert client.delete(f"/api/v1/me/tokens/{their_id}").status_code == 401


def test_a_token_name_must_be_printable(client, make_user):
    user = make_user()
    response = client.post("/api/v1/auth/token", json={"email": user.email, "password": PASSWORD,
                                                        "name": "bot\x00"})
    assert response.status_code == 422 and "name" in response.json["error"]["fields"]
    assert client.post("/api/v1/auth/token", json={"email": user.email, "password": PASSWORD,
                                                   "name": "x" * 81}).status_code == 422


def test_the_profile_lists_tokens_and_revokes_one(client, make_user):
    user, other = make_user(), make_user()
    theirs = named_token(client, other, "theirs")
    login(client, user)
    made = client.post("/profile/api-token", data={"name": "Chat-group bot"})
    assert made.status_code == 200
    secret = made.text.split('<pre class="token"><code>')[1].split("</code>")[0]
    client.post("/profile/api-token", data={"name": "Door phone"})
    page = client.get("/profile").text
    assert "Chat-group bot" in page and "Door phone" in page
    assert secret not in page  # shown once, when made
    bot_id = token_row({"Authorization": f"Bearer {secret}"}).id
    assert f'action="/profile/api-tokens/{bot_id}/revoke"' in page
    revoked = client.post(f"/profile/api-tokens/{bot_id}/revoke")
    assert revoked.status_code == 302
    page = client.get("/profile").text
    assert "Chat-group bot" not in page and "Door phone" in page
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}
                      ).status_code == 401
    their_id = token_row(theirs).id
    assert client.post(f"/profile/api-tokens/{their_id}/revoke").status_code == 404
    assert client.get("/api/v1/me", headers=theirs).status_code == 200


def test_the_token_endpoints_are_documented(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    listed = paths["/api/v1/me/tokens"]["get"]["responses"]["200"]
    schema = listed["content"]["application/json"]["schema"]
    assert schema == {"type": "array", "items": {"$ref": "#/components/schemas/ApiTokenOut"}}
    revoke = paths["/api/v1/me/tokens/{token_id}"]["delete"]
    assert set(revoke["responses"]) == {"204", "400", "401", "404", "422", "429", "503"}
    token_body = paths["/api/v1/auth/token"]["post"]["requestBody"]["content"]
    assert "name" in token_body["application/json"]["schema"]["properties"]


# --- login limits -----------------------------------------------------------------------------

def limited_app(make_app, **limits: str) -> Flask:
    """Limits on, with a per-address budget too large to matter unless a test sets it."""
    return make_app(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="1000 per minute", **limits)


def client_at(app: Flask, address: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_login_is_limited_per_account_whatever_the_address(make_app, make_user):
    user, neighbour = make_user(email="wu@example.com"), make_user()
    app = limited_app(make_app, ACCOUNT_LOGIN_RATE_LIMIT="3 per 15 minutes")
    guesses = [client_at(app, f"10.0.0.{n}").post(
        "/login", data={"email": email, "password": "not my password"}, headers=EN)
        for n, email in enumerate(["wu@example.com", " WU@example.com", "Wu@Example.COM"])]
    assert [guess.status_code for guess in guesses] == [200, 200, 200]
    # The right password from a fourth address is refused too: the guesses spent the budget.
    right = client_at(app, "10.0.0.9").post(
        "/login", data={"email": user.email, "password": PASSWORD}, headers=EN)
    assert right.status_code == 429 and ACCOUNT_LIMITED in right.text
    api = client_at(app, "10.0.0.10").post(
        "/api/v1/auth/token", json={"email": user.email, "password": PASSWORD}, headers=EN)
    assert api.status_code == 429 and ACCOUNT_LIMITED in api.json["error"]["message"]
    chinese = client_at(app, "10.0.0.11").post(
        "/login", data={"email": user.email, "password": PASSWORD},
        headers={"Accept-Language": "zh-CN"})
    assert chinese.status_code == 429 and "该账号的登录尝试过多" in chinese.text
    # Another account from the same addresses has its own budget.
    assert client_at(app, "10.0.0.9").post(
        "/login", data={"email": neighbour.email, "password": PASSWORD}).status_code == 302


def _post(url: str, path: str, body: bytes, content_type: str) -> int:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.request("POST", path, body=body, headers={"Content-Type": content_type})
        return connection.getresponse().status
    finally:
        connection.close()


def test_parallel_guesses_cannot_slip_past_the_account_limit(make_app, make_user,
                                                             monkeypatch):
    email = make_user().email  # the threads have no app context to load it in
    db.session.commit()  # reading it began a transaction: on SQLite it holds the write lock
    checked: list[str] = []

    def counted(password_hash: str, password: str) -> bool:
        checked.append(password)
        return verify_password(password_hash, password)

    monkeypatch.setattr(accounts, "verify_password", counted)
    app = limited_app(make_app, ACCOUNT_LOGIN_RATE_LIMIT="3 per 15 minutes")
    guesses = 12
    start = threading.Barrier(guesses)
    statuses: list[int] = []

    def guess(number: int, url: str) -> None:
        password = f"guess number {number}"
        start.wait()
        if number % 2:
            body = urlencode({"email": email, "password": password}).encode()
            statuses.append(_post(url, "/login", body, "application/x-www-form-urlencoded"))
        else:
            body = json.dumps({"email": email, "password": password}).encode()
            statuses.append(_post(url, "/api/v1/auth/token", body, "application/json"))

    with serving(app) as url:
        threads = [threading.Thread(target=guess, args=(n, url)) for n in range(guesses)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert len(statuses) == guesses
    assert len(checked) == 3
    assert sorted(statuses).count(429) == guesses - 3


def test_password_changes_are_limited_per_member(make_app, make_user):
    first, second = make_user(), make_user()
    app = limited_app(make_app, PASSWORD_CHANGE_RATE_LIMIT="2 per hour")
    browser, neighbour = client_at(app, "10.0.0.1"), client_at(app, "10.0.0.1")
    login(browser, first)
    login(neighbour, second)
    wrong = {"current_password": "not my password", "new_password": NEW_PASSWORD,
             "confirm": NEW_PASSWORD}
    assert [browser.post("/profile/password", data=wrong).status_code
            for _ in range(2)] == [422, 422]
    right = browser.post("/profile/password", headers=EN, data=wrong | {
        "current_password": PASSWORD})
    assert right.status_code == 429
    assert "Too many attempts to change the password." in right.text
    db.session.refresh(first)
    assert verify_password(first.password_hash, PASSWORD)
    # Per member, not per address: the other member's budget is whole.
    assert neighbour.post("/profile/password", data=wrong | {
        "current_password": PASSWORD}).status_code == 302


# --- weak passwords ---------------------------------------------------------------------------

SIGN_UP = {"email": "zhao@example.com", "display_name": "Zhao Wenjing",
           "timezone": "Asia/Shanghai", "locale": "en"}
# "zhaowenjing" alone scores 3; beside the member's own name it is a guess away.
WEAK = ["password123", "qwertyuiop", "zhaowenjing", "zhao@example.com"]


def test_weak_passwords_are_refused_at_web_sign_up(client):
    for weak in WEAK:
        page = client.post("/signup", data=SIGN_UP | {"password": weak})
        assert page.status_code == 200 and 'id="password-error"' in page.text, weak
        assert "too easy to guess" in page.text, weak
    chinese = client.post("/signup", data=SIGN_UP | {"password": WEAK[0]},
                          headers={"Accept-Language": "zh-CN"})
    assert "这个密码太容易被猜到" in chinese.text
    assert db.session.scalar(select(User)) is None
    assert client.post("/signup", data=SIGN_UP | {"password": PASSWORD}).status_code == 302


def test_weak_passwords_are_refused_by_the_api(client):
    for weak in WEAK:
        refused = client.post("/api/v1/users", json=SIGN_UP | {"password": weak})
        assert refused.status_code == 422, weak
        assert list(refused.json["error"]["fields"]) == ["password"], weak
    email_as_password = client.post("/api/v1/users", json=SIGN_UP | {
        "email": "meilanhua2026@example.com", "password": "meilanhua2026"})
    assert email_as_password.status_code == 422
    assert client.post("/api/v1/users", json=SIGN_UP | {"password": PASSWORD}).status_code == 201


def test_a_weak_new_password_is_refused_on_the_field(client, make_user):
    user = make_user("Zhao Wenjing")
    login(client, user)
    page = client.post("/profile/password", data={
        "current_password": PASSWORD, "new_password": "zhaowenjing", "confirm": "zhaowenjing"})
    assert page.status_code == 422
    assert 'id="new_password-error"' in page.text and "too easy to guess" in page.text
    db.session.refresh(user)
    assert verify_password(user.password_hash, PASSWORD)


def test_the_demo_accounts_can_log_in(client, runner):
    from planner.demo import DEMO_PASSWORD

    assert runner.invoke(args=["demo"]).exit_code == 0
    response = client.post("/login", data={"email": "admin@juhui.example",
                                           "password": DEMO_PASSWORD})
    assert response.status_code == 302


# --- personal answers -------------------------------------------------------------------------

PERSONAL = "private, no-store"


@pytest.fixture
def ticket_code(cast) -> str:
    [event] = events.schedule(cast.lead, cast.branch, events.EventInput(
        title="Dumplings", starts_local=datetime(utcnow().year + 1, 5, 1, 19),
        ends_local=datetime(utcnow().year + 1, 5, 1, 21), online_url="https://meet.example/d",
        status=EventStatus.PUBLISHED))
    code = registrations.rsvp(cast.member, event.id).ticket_code
    db.session.commit()
    assert code is not None
    return code


def test_personal_answers_are_private_and_not_stored(client, cast, ticket_code):
    login(client, cast.member)
    token = bearer(client, cast.member)
    pages = ["/profile", "/me/meetups", f"/tickets/{ticket_code}"]
    api = ["/api/v1/me", "/api/v1/me/tokens", "/api/v1/me/registrations"]
    for path in pages + api:
        response = client.get(path, headers=token if path in api else {})
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == PERSONAL, path
    # Also when the answer is a refusal or a redirect to the login page.
    assert client.get("/tickets/forged-code").headers["Cache-Control"] == PERSONAL
    client.post("/logout")
    assert client.get("/profile").headers["Cache-Control"] == PERSONAL
    # A public page may be cached; the personal feed must be, by calendar apps (ETag).
    assert "no-store" not in client.get("/branches").headers.get("Cache-Control", "")
    from planner.calendars.services import feed_token
    feed = client.get(f"/calendar/{feed_token(cast.member)}.ics")
    assert "no-store" not in feed.headers.get("Cache-Control", "") and feed.headers["ETag"]


def _is_personal_rule(rule: str) -> bool:
    return (rule == "/api/v1/me" or rule.startswith(("/api/v1/me/", "/me/", "/profile")))


def test_every_me_route_is_marked_personal(app):
    personal_rules = [rule for rule in app.url_map.iter_rules() if _is_personal_rule(rule.rule)]
    assert {"/api/v1/me", "/api/v1/me/tokens", "/me/meetups", "/profile"} <= {
        rule.rule for rule in personal_rules}
    unmarked = [rule.rule for rule in personal_rules
                if not getattr(app.view_functions[rule.endpoint], "personal", False)]
    assert unmarked == []
