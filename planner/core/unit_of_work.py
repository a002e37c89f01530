"""One unit of work per request, command or worker iteration: the edge commits, services flush.

A request that changes something (POST, PUT, PATCH, DELETE) is committed once, after its view
returned, unless it failed: an error handler rolls the whole unit back. A safe request (GET,
HEAD, OPTIONS) never commits; the rare read that must also write (counting an invite link's
visit, refreshing cached figures) says so with `@writes_during_read`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import Flask, Response, current_app, g, request
from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import ORMExecuteState, Session

from planner.core.db import release, roll_back
from planner.core.domain_events import run_committed
from planner.core.errors import answer_database_error
from planner.core.extensions import db

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FLUSHED = "juhui.wrote"  # the session has sent changes to the database in this transaction
P = ParamSpec("P")
R = TypeVar("R")


def commit() -> None:
    """Commit the unit of work, then run what was waiting for the commit (sending mail)."""
    db.session.commit()
    run_committed(db.session)


@contextmanager
def unit_of_work() -> Iterator[None]:
    """An explicit unit of work: for CLI commands, worker iterations and writes during a read."""
    try:
        yield
        commit()
    except BaseException:
        roll_back(db.session)  # a failed commit too: the session is ready for the next unit
        raise


def writes_during_read(view: Callable[P, R]) -> Callable[P, R]:
    """Mark a view whose GET keeps what it writes (a visit counted, figures refreshed)."""
    @wraps(view)
    def marked(*args: P.args, **kwargs: P.kwargs) -> R:
        g.writes_during_read = True
        return view(*args, **kwargs)
    return marked


class ReadWrote(RuntimeError):
    """A read-only request changed the database: either a bug, or a missing @writes_during_read."""


def _end_request(response: Response) -> Response:
    read_only = request.method in SAFE_METHODS and not g.get("writes_during_read")
    if read_only or response.status_code >= 500:
        wrote = _has_written()
        roll_back(db.session)
        if wrote and read_only and response.status_code < 400:
            _report_read_that_wrote()
        return response
    try:
        commit()
    except SQLAlchemyError as error:
        return answer_database_error(error)
    return response


def _release_session(_error: BaseException | None) -> None:
    release(db.session)


def _has_written() -> bool:
    session = db.session()
    return bool(session.info.get(FLUSHED) or session.new or session.dirty or session.deleted)


def _report_read_that_wrote() -> None:
    message = f"{request.method} {request.path} wrote to the database; it was rolled back"
    if current_app.testing or current_app.debug:
        raise ReadWrote(message)
    current_app.logger.error(message)


def _note_flush(session: Session, _context: object) -> None:
    session.info[FLUSHED] = True


def _note_statement(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[FLUSHED] = True


def _forget_flush(session: Session, *_: object) -> None:
    session.info.pop(FLUSHED, None)


def init_app(app: Flask) -> None:
    for name, listener in (("after_flush", _note_flush), ("do_orm_execute", _note_statement),
                           ("after_commit", _forget_flush), ("after_rollback", _forget_flush)):
        if not event.contains(db.session, name, listener):
            event.listen(db.session, name, listener)
    # Registered last, so it runs first among the after-request hooks (Flask runs them in
    # reverse): headers and mail delivery then see the committed state.
    app.after_request(_end_request)
    # Runs before Flask-SQLAlchemy's own teardown (registered earlier), whose remove() would
    # raise out of Flask over a connection that died after the commit; it finds nothing left.
    app.teardown_appcontext(_release_session)
