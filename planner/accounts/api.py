"""JSON API: tokens, sign-up, the current user, and who the bearer token of each API request
belongs to."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

from flask import Response, g, jsonify, request
from flask_babel import lazy_gettext as _l

from planner.accounts import services
from planner.accounts.forms import SignUpForm, TokenForm
from planner.accounts.limits import account_login_limit
from planner.accounts.models import ApiToken, User
from planner.api import Unauthorized, api_user, bp, created, operation, parse_json
from planner.api.pagination import each, paginated
from planner.core.extensions import configured_limit, limiter
from planner.core.unit_of_work import commit
from planner.ops.headers import personal


@bp.before_request
def authenticate_bearer_token() -> None:
    """Find the member behind the bearer token, and stamp the token's last use.

    The stamp (at most once a minute per token) is committed here on its own, before the
    view's unit of work begins: it is bookkeeping of the authentication, not a change the view
    made, so a read stays read-only (a GET view that writes is still caught) and a request that
    fails later still counts as a use."""
    g.api_user = g.api_token_id = None
    header = request.headers.get("Authorization", "")
    if not header:
        return
    scheme, _, secret = header.partition(" ")
    token = services.api_token_for(secret.strip()) if scheme.lower() == "bearer" else None
    if token is None:
        raise Unauthorized(_l("The API token is invalid or has been revoked."))
    if services.note_token_use(token):
        commit()
    g.api_user, g.api_token_id = token.user, token.id


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


class ApiTokenOut(TypedDict):
    """A token as listed: never its secret."""

    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    current: bool  # the token this request came with


def user_json(user: User) -> UserOut:
    return {"id": user.id, "email": user.email, "display_name": user.display_name,
            "phone": user.phone, "locale": user.locale, "timezone": user.timezone,
            "is_admin": user.is_admin}


def api_token_json(token: ApiToken) -> ApiTokenOut:
    return {"id": token.id, "name": token.name, "created_at": token.created_at,
            "last_used_at": token.last_used_at, "current": token.id == g.get("api_token_id")}


@operation("/auth/token", "POST", _l("Exchange email and password for an API token"),
           form=TokenForm, response=TokenOut, status=201, auth=False, errors=(401, 422, 429))
@limiter.limit(configured_limit("LOGIN_RATE_LIMIT"))
@account_login_limit
def issue_token() -> tuple[Response, int]:
    form = parse_json(TokenForm)
    user = services.authenticate(form.email.data, form.password.data)
    token = services.issue_api_token(user, form.name.data)
    return created({"token": token, "user": user_json(user)})


@operation("/users", "POST", _l("Sign up a new member"), form=SignUpForm, response=UserOut,
           status=201, auth=False, errors=(409, 422, 429))
@limiter.limit(configured_limit("LOGIN_RATE_LIMIT"))
def sign_up() -> tuple[Response, int]:
    form = parse_json(SignUpForm)
    user = services.sign_up(form.email.data, form.password.data, form.to_profile())
    return created(user_json(user))


@operation("/me", "GET", _l("The member behind the token"), response=UserOut)
@personal
def me() -> Response:
    return jsonify(user_json(api_user()))


@operation("/me/tokens", "GET", _l("My API tokens that still work, newest first"),
           response=list[ApiTokenOut], paginated=True)
@personal
def my_tokens() -> Response:
    return paginated(services.live_api_tokens(api_user()), each(api_token_json))


@operation("/me/tokens/<id:token_id>", "DELETE", _l("Revoke one of my API tokens"),
           status=204, errors=(404,))
@personal
def revoke_token(token_id: int) -> tuple[str, int]:
    services.revoke_api_token(api_user(), token_id)
    return "", 204
