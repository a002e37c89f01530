"""Request ids and structured logs.

Every request gets an id: the caller's X-Request-ID when it looks sane (so one id follows a
request through nginx and the app), else a random one. It is sent back in X-Request-ID and is
the `request_id` attribute of every log record made while the request runs. Each request ends
with one access line on the `planner.access` logger. LOG_FORMAT=json writes one JSON object per
line (for a log collector); anything else writes readable text.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, has_request_context, request, request_started
from flask.logging import default_handler

REQUEST_ID_HEADER = "X-Request-ID"
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
NO_REQUEST = "-"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"

access_logger = logging.getLogger("planner.access")


def init_app(app: Flask) -> None:
    _add_request_id_to_records()
    _configure_handlers(app)
    request_started.connect(_start_request, app)
    app.after_request(_finish_request)


def current_request_id() -> str:
    """The id of the request being served, made on first use; "-" outside a request."""
    if not has_request_context():
        return NO_REQUEST
    if "request_id" not in g:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming if SANE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
    return g.request_id


def _add_request_id_to_records() -> None:
    """Stamp the id on every record when it is made.

    A record factory rather than a logging.Filter: a filter only runs for the handler or logger
    it is attached to, while the factory reaches every record, whichever handler writes it
    (ours, gunicorn's, a test's caplog)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "adds_request_id", False):
        return

    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = current_request_id()
        return record

    make_record.adds_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(make_record)


def _configure_handlers(app: Flask) -> None:
    """Our level on the app's loggers; our handler on the root logger unless something (gunicorn
    --log-config, a test runner) has set logging up already."""
    logging.getLogger("planner").setLevel(app.config["LOG_LEVEL"])
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(make_formatter(app.config["LOG_FORMAT"]))
    root.addHandler(handler)
    app.logger.removeHandler(default_handler)  # or the app's records would be written twice


def make_formatter(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)


class JsonFormatter(logging.Formatter):
    """One JSON object per line; the access line's fields are top-level keys."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", NO_REQUEST),
        }
        entry.update(getattr(record, "access", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def _start_request(_sender: Flask, **_extra: Any) -> None:
    g.request_started_at = time.perf_counter()
    current_request_id()


def _finish_request(response: Response) -> Response:
    request_id = current_request_id()
    response.headers[REQUEST_ID_HEADER] = request_id
    started = g.get("request_started_at", time.perf_counter())
    access = {"method": request.method, "path": request.path, "status": response.status_code,
              "duration_ms": round((time.perf_counter() - started) * 1000, 1)}
    access_logger.info("%(method)s %(path)s %(status)d %(duration_ms).1fms", access,
                       extra={"access": access})
    return response
