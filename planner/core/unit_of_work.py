"""One unit of work per request, command or worker iteration: the edge commits, services flush.

A request that changes something (POST, PUT, PATCH, DELETE) is committed once, after its view
returned, unless it failed: an error handler rolls the whole unit back. A safe request (GET,
HEAD, OPTIONS) never commits; the rare read that must also write (counting an invite link's
visit) says so with an explicit `unit_of_work()` of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, Response, current_app, make_response, request
from sqlalchemy.exc import SQLAlchemyError

from planner.core.domain_events import run_committed
from planner.errors import DATABASE_UNAVAILABLE, HttpError, present
from planner.extensions import db

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def commit() -> None:
    """Commit the unit of work, then run what was waiting for the commit (sending mail)."""
    db.session.commit()
    run_committed(db.session)


@contextmanager
def unit_of_work() -> Iterator[None]:
    """An explicit unit of work: for CLI commands, worker iterations and writes during a read."""
    try:
        yield
    except BaseException:
        db.session.rollback()
        raise
    commit()


def _end_request(response: Response) -> Response:
    if request.method in SAFE_METHODS or response.status_code >= 500:
        db.session.rollback()
        return response
    try:
        commit()
    except SQLAlchemyError as error:
        db.session.rollback()
        current_app.logger.exception("the request's commit failed; nothing was saved")
        return make_response(present(HttpError(
            503 if isinstance(error, DATABASE_UNAVAILABLE) else 500)))
    return response


def init_app(app: Flask) -> None:
    # Registered last, so it runs first among the after-request hooks (Flask runs them in
    # reverse): headers and mail delivery then see the committed state.
    app.after_request(_end_request)
