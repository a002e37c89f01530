"""The JSON API kernel: blueprint, the API user (the accounts area checks the bearer token:
planner/accounts/api.py), input parsing and the endpoint registry from which the OpenAPI
document is generated."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Blueprint, Response, g, jsonify, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict

from planner.api.strict_json import form_data
from planner.core.errors import DomainError, InvalidInput
from planner.core.extensions import configured_limit, csrf, limiter
from planner.core.forms import field_errors

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
    also: tuple[int, ...] = ()  # other success statuses, with the same body (a repeated RSVP)
    # Error codes an error status answers with and when, for the document: {409: "…"}.
    reasons: dict[int, Any] = field(default_factory=dict)


OPERATIONS: list[Operation] = []


def operation(rule: str, method: str, summary: str, *, form: type[FlaskForm] | None = None,
              query: type[FlaskForm] | None = None, response: Any = None, status: int = 200,
              auth: bool = True, errors: tuple[int, ...] = (), paginated: bool = False,
              also: tuple[int, ...] = (),
              reasons: dict[int, Any] | None = None) -> Callable[[View], View]:
    """Register an API route and describe it for /api/v1/openapi.json in one place. `errors`
    are the statuses particular to it; those every operation can answer are added by the
    generator (openapi.EVERY_OPERATION). `reasons` tell, per error status, which error codes
    it answers with and when (shown in the status' description)."""

    def decorate(view: View) -> View:
        endpoint = f"{view.__module__.rsplit('.', 1)[0].replace('.', '_')}_{view.__name__}"
        OPERATIONS.append(Operation(rule, method, summary, endpoint, form=form, query=query,
                                    response=response, status=status, auth=auth, errors=errors,
                                    paginated=paginated, also=also, reasons=reasons or {}))
        bp.add_url_rule(rule, endpoint, view, methods=[method])
        return view

    return decorate


def api_user() -> Any:
    """The user behind the bearer token; 401 when there is none."""
    if g.get("api_user") is None:
        raise Unauthorized()
    return g.api_user


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
    given = {key: value for key, value in _json_body().items() if value is not None}
    return form_from(form_class, (defaults or {}) | given, **form_kwargs)


def form_from(form_class: type[FormT], body: dict[str, Any], **form_kwargs: Any) -> FormT:
    """Validate one JSON object (e.g. an item of a batch) with a WTForms form, each field
    getting the JSON type the OpenAPI document gives it (strict_json)."""
    form = form_class(formdata=None, meta={"csrf": False}, **form_kwargs)
    wrong_types: dict[str, list[str]] = {}
    form.process(formdata=MultiDict(form_data(form, body, wrong_types)))
    return validated(form, wrong_types)


def parse_query(form_class: type[FormT]) -> FormT:
    return validated(form_class(formdata=request.args, meta={"csrf": False}))


def validated(form: FormT, wrong_types: dict[str, list[str]] | None = None) -> FormT:
    """The form, or 422 naming every field that is not valid (a field of the wrong JSON type
    by that, not by the "required" its absence then causes)."""
    valid = form.validate()
    if wrong_types or not valid:
        raise InvalidInput(fields=field_errors(form) | (wrong_types or {}))
    return form


def created(body: Any) -> tuple[Response, int]:
    return jsonify(body), 201
