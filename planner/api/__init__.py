"""The JSON API kernel: blueprint, the API user (the accounts area checks the bearer token:
planner/accounts/api.py), input parsing and the endpoint registry from which the OpenAPI
document is generated."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Blueprint, Response, g, jsonify, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict

from planner.core.errors import DomainError, InvalidInput
from planner.core.extensions import configured_limit, csrf, limiter

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


# One budget per client address for the whole API (endpoints with their own limit, such as
# /auth/token, use that instead). Counted in Redis when REDIS_URL is set, so it holds across
# app servers.
limiter.shared_limit(configured_limit("API_RATE_LIMIT"), scope="api")(bp)

FormT = TypeVar("FormT", bound=FlaskForm)
View = Callable[..., Any]


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"
    default_message = _l("A valid API token is required (Authorization: Bearer <token>).")


@dataclass(frozen=True)
class Operation:
    """What the OpenAPI generator needs to know about one endpoint."""

    rule: str
    method: str
    summary: str
    endpoint: str
    form: type[FlaskForm] | None = None
    query: type[FlaskForm] | None = None
    response: Any = None
    status: int = 200
    auth: bool = True
    errors: tuple[int, ...] = field(default_factory=tuple)
    paginated: bool = False  # takes limit/cursor, answers Link and X-Total-Count (pagination.py)


OPERATIONS: list[Operation] = []


def operation(rule: str, method: str, summary: str, *, form: type[FlaskForm] | None = None,
              query: type[FlaskForm] | None = None, response: Any = None, status: int = 200,
              auth: bool = True, errors: tuple[int, ...] = (),
              paginated: bool = False) -> Callable[[View], View]:
    """Register an API route and describe it for /api/v1/openapi.json in one place."""

    def decorate(view: View) -> View:
        endpoint = f"{view.__module__.rsplit('.', 1)[0].replace('.', '_')}_{view.__name__}"
        OPERATIONS.append(Operation(rule, method, summary, endpoint, form, query, response,
                                    status, auth, (*errors, 400, 422) if paginated else errors,
                                    paginated))
        bp.add_url_rule(rule, endpoint, view, methods=[method])
        return view

    return decorate


def api_user() -> Any:
    """The user behind the bearer token; 401 when there is none."""
    if g.get("api_user") is None:
        raise Unauthorized()
    return g.api_user


def _as_form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "y" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def _flattened(body: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested objects become WTForms FormField names: {"repeat": {"count": 4}} → repeat-count."""
    flat: dict[str, str] = {}
    for key, value in body.items():
        if isinstance(value, dict):
            flat |= _flattened(value, f"{prefix}{key}-")
        elif value is not None:
            flat[f"{prefix}{key}"] = _as_form_value(value)
    return flat


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True) if request.content_length else {}
    if not isinstance(body, dict):
        raise InvalidInput(_l("The request body must be a JSON object."))
    return body


def parse_json(form_class: type[FormT], defaults: dict[str, Any] | None = None,
               **form_kwargs: Any) -> FormT:
    """Validate the JSON body with the same WTForms form the HTML pages use.

    `defaults` fill the fields the body leaves out (PATCH semantics).
    """
    return form_from(form_class, _flattened(defaults or {}) | _flattened(_json_body()),
                     **form_kwargs)


def form_from(form_class: type[FormT], body: dict[str, Any], **form_kwargs: Any) -> FormT:
    """Validate one JSON object (e.g. an item of a batch) with a WTForms form."""
    return validated(form_class(formdata=MultiDict(_flattened(body)), meta={"csrf": False},
                                **form_kwargs))


def parse_query(form_class: type[FormT]) -> FormT:
    return validated(form_class(formdata=request.args, meta={"csrf": False}))


def validated(form: FormT) -> FormT:
    if not form.validate():
        raise InvalidInput(fields={name: [str(e) for e in errs]
                                   for name, errs in form.errors.items()})
    return form


def created(body: Any) -> tuple[Response, int]:
    return jsonify(body), 201
