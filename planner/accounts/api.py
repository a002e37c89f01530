"""JSON API: tokens, sign-up and the current user."""

from __future__ import annotations

from typing import TypedDict

from flask import Response, jsonify
from flask_babel import lazy_gettext as _l

from planner.accounts import services
from planner.accounts.forms import LoginForm, SignUpForm
from planner.accounts.models import User
from planner.api import api_user, created, operation, parse_json
from planner.extensions import configured_limit, limiter


class UserOut(TypedDict):
    id: int
    email: str
    display_name: str
    phone: str | None
    locale: str | None
    timezone: str
    is_admin: bool


class TokenOut(TypedDict):
    token: str
    user: UserOut


def user_json(user: User) -> UserOut:
    return {"id": user.id, "email": user.email, "display_name": user.display_name,
            "phone": user.phone, "locale": user.locale, "timezone": user.timezone,
            "is_admin": user.is_admin}


@operation("/auth/token", "POST", _l("Exchange email and password for an API token"),
           form=LoginForm, response=TokenOut, status=201, auth=False, errors=(401, 422, 429))
@limiter.limit(configured_limit("LOGIN_RATE_LIMIT"))
def issue_token() -> tuple[Response, int]:
    form = parse_json(LoginForm)
    user = services.authenticate(form.email.data, form.password.data)
    return created({"token": services.issue_api_token(user), "user": user_json(user)})


@operation("/users", "POST", _l("Sign up a new member"), form=SignUpForm, response=UserOut,
           status=201, auth=False, errors=(409, 422, 429))
@limiter.limit(configured_limit("LOGIN_RATE_LIMIT"))
def sign_up() -> tuple[Response, int]:
    form = parse_json(SignUpForm)
    user = services.sign_up(form.email.data, form.password.data, form.to_profile())
    return created(user_json(user))


@operation("/me", "GET", _l("The member behind the token"), response=UserOut)
def me() -> Response:
    return jsonify(user_json(api_user()))
