"""Domain errors raised by services, and how the edges (HTML and JSON) present them."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from flask import Flask, Response, current_app, g, jsonify, make_response, render_template, request
from flask_babel import lazy_gettext as _l
from flask_limiter import RateLimitExceeded
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from planner.core.db import roll_back
from planner.core.extensions import db, login_manager

# The database cannot be reached or cannot serve right now (server down, connection lost, pool
# exhausted, lock timeout): the client may retry, so these answer 503 and not 500.
DATABASE_UNAVAILABLE = (OperationalError, DisconnectionError, PoolTimeoutError)


def database_unavailable(error: SQLAlchemyError) -> bool:
    """Also any driver error SQLAlchemy read as a lost connection: SQLite's "closed database"
    comes as a ProgrammingError."""
    return isinstance(error, DATABASE_UNAVAILABLE) or (
        isinstance(error, DBAPIError) and error.connection_invalidated)


class DomainError(Exception):
    """A rule was broken. `code` is stable for API clients; `message` is for people."""

    status = 400
    code = "bad_request"
    default_message = _l("The request could not be processed.")

    def __init__(self, message: str | None = None, fields: dict[str, list[str]] | None = None,
                 **extra: Any) -> None:
        self.message = str(message or self.default_message)
        self.fields = fields or {}
        self.extra = extra
        super().__init__(self.message)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields:
            body["fields"] = self.fields
        body.update(self.extra)
        return {"error": body}


class InvalidInput(DomainError):
    status = 422
    code = "invalid_input"
    default_message = _l("Some fields are not valid.")


class NotAllowed(DomainError):
    status = 403
    code = "forbidden"
    default_message = _l("You are not allowed to do this.")


class NotFound(DomainError):
    status = 404
    code = "not_found"
    default_message = _l("Not found.")


class Conflict(DomainError):
    status = 409
    code = "conflict"
    default_message = _l("This conflicts with existing data.")


HTTP_MESSAGES = {
    400: _l("The request was malformed."),
    401: _l("Please log in first."),
    403: _l("You are not allowed to do this."),
    404: _l("The page you asked for does not exist."),
    405: _l("This method is not allowed here."),
    409: _l("This conflicts with existing data."),
    413: _l("The upload is too large."),
    422: _l("Some fields are not valid."),
    429: _l("Too many requests. Please wait a moment and try again."),
    500: _l("Something went wrong on our side. Nothing was saved; please try again."),
    503: _l("The service is unavailable for a moment. Nothing was saved; please try again "
            "shortly."),
}


class HttpError(DomainError):
    """An HTTP-level failure (404 route, 429 rate limit, 500) in the same shape as domain errors."""

    def __init__(self, status: int, message: str | None = None) -> None:
        super().__init__(message or HTTP_MESSAGES.get(status, HTTP_MESSAGES[400]))
        self.status = status
        self.code = HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def present(error: DomainError) -> tuple[Response | str, int]:
    """Answer with a JSON error for API clients and a friendly page for people."""
    if wants_json():
        return jsonify(error.to_json()), error.status
    page = render_template("errors/error.html", status=error.status, message=error.message)
    return page, error.status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def handle_domain_error(error: DomainError) -> tuple[Response | str, int]:
        roll_back(db.session)
        return present(error)

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException) -> BaseResponse | tuple[Response | str, int]:
        if (error.code or 500) < 400:
            return error.get_response()
        return present(HttpError(error.code or 500, _own_message(error)))

    app.register_error_handler(SQLAlchemyError, answer_database_error)

    @app.errorhandler(500)
    def handle_server_error(error: Exception) -> tuple[Response | str, int]:
        roll_back(db.session)
        return present(HttpError(500))


def _own_message(error: HTTPException) -> str | None:
    """A rate limit that says what was limited (too many logins for one account) is answered
    with its own message; every other HTTP error with the status's."""
    if isinstance(error, RateLimitExceeded) and error.limit.error_message:
        return error.description
    return None


def answer_database_error(error: SQLAlchemyError) -> Response:
    """Roll the unit of work back and answer 503 with Retry-After when the database is
    unavailable (the client may retry), else 500; raised in a view or by the edge's commit."""
    roll_back(db.session)
    if not database_unavailable(error):
        current_app.logger.exception("database error, transaction rolled back")
        return make_response(present(HttpError(500)))
    # The signed-in user is forgotten for this answer: their row cannot be read now, and the
    # page and the locale choice would otherwise try to load it.
    g._login_user = login_manager.anonymous_user()
    g.pop("api_user", None)
    current_app.logger.error("database unavailable, transaction rolled back: %s: %s",
                             type(error).__name__, str(error).partition("\n")[0])
    response = make_response(present(HttpError(503)))
    response.headers["Retry-After"] = str(current_app.config["DATABASE_RETRY_AFTER"])
    return response
