"""Sign-up, login, logout, profile and password rules through the HTML pages."""

from __future__ import annotations

from sqlalchemy import func, select

from planner.accounts.models import User
from planner.core.extensions import db
from tests.conftest import PASSWORD, login

SIGNUP = {"email": "Mei@Example.com", "password": "long enough pw", "display_name": "Mei",
          "phone": "+86 138 0000 1234", "locale": "en", "timezone": "Asia/Shanghai"}


def user_count() -> int:
    return db.session.scalar(select(func.count()).select_from(User)) or 0


def test_sign_up_logs_in_and_hashes_with_argon2(client):
    response = client.post("/signup", data=SIGNUP)
    assert response.status_code == 302
    user = db.session.scalar(select(User))
    assert user.email == "mei@example.com"
    assert user.password_hash.startswith("$argon2id$")
    assert "long enough pw" not in user.password_hash
    assert "Mei" in client.get("/profile").text


def test_sign_up_errors_name_the_field_and_save_nothing(client, make_user):
    make_user(email="taken@example.com")
    cases = {
        "email": [{"email": ""}, {"email": "not-an-email"}, {"email": "taken@example.com"},
                  {"email": "a" * 250 + "@x.com"}],
        "password": [{"password": "short"}, {"password": ""}, {"password": "password123"},
                     {"password": "mei@example.com"}],
        "display_name": [{"display_name": ""}, {"display_name": "x" * 81}],
        "phone": [{"phone": "call me"}],
        "timezone": [{"timezone": "Mars/Olympus"}],
        "locale": [{"locale": "fr"}],
    }
    before = user_count()
    for field, variants in cases.items():
        for variant in variants:
            response = client.post("/signup", data=SIGNUP | variant)
            assert response.status_code == 200, variant
            assert f'id="{field}-error"' in response.text, variant
    assert user_count() == before


def test_login_logout_and_wrong_password(client, make_user):
    user = make_user("Wu", email="wu@example.com")
    wrong = client.post("/login", data={"email": "wu@example.com", "password": "nope nope"})
    assert "Wrong email or password." in wrong.text
    unknown = client.post("/login", data={"email": "who@example.com", "password": "nope nope"})
    assert "Wrong email or password." in unknown.text
    login(client, user)
    assert client.get("/profile").status_code == 200
    client.post("/logout")
    assert client.get("/profile").status_code == 302


def test_login_next_only_follows_local_paths(client, make_user):
    user = make_user(email="n@example.com")
    data = {"email": user.email, "password": PASSWORD}
    response = client.post("/login?next=https://evil.example/x", data=data)
    assert response.headers["Location"] == "/"
    client.post("/logout")
    response = client.post("/login?next=//evil.example", data=data)
    assert response.headers["Location"] == "/"
    client.post("/logout")
    response = client.post("/login?next=/branches", data=data)
    assert response.headers["Location"] == "/branches"


def test_profile_edit(client, make_user):
    user = make_user("Old", email="p@example.com")
    login(client, user)
    response = client.post("/profile", data={"display_name": "New Name", "phone": "13800001234",
                                             "locale": "zh_CN", "timezone": "Europe/London"})
    assert response.status_code == 302
    db.session.refresh(user)
    assert (user.display_name, user.phone, user.locale, user.timezone) == (
        "New Name", "13800001234", "zh_CN", "Europe/London")
    bad = client.post("/profile", data={"display_name": "", "locale": "zh_CN",
                                        "timezone": "Europe/London"})
    assert 'id="display_name-error"' in bad.text
    db.session.refresh(user)
    assert user.display_name == "New Name"


def test_change_password(client, make_user):
    user = make_user(email="pw@example.com")
    login(client, user)
    wrong = client.post("/profile/password", data={
        "current_password": "wrong", "new_password": "brand new pw", "confirm": "brand new pw"})
    assert wrong.status_code == 422
    ok = client.post("/profile/password", data={
        "current_password": PASSWORD, "new_password": "brand new pw", "confirm": "brand new pw"})
    assert ok.status_code == 302
    client.post("/logout")
    assert client.post("/login", data={"email": user.email,
                                       "password": "brand new pw"}).status_code == 302


def test_profile_requires_login(client):
    response = client.get("/profile")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
