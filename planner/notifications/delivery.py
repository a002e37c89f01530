"""Sending the outbox: the transport named by MAIL_URL, the worker's pass over due messages, and
delivery right after a request whose transaction queued mail.

MAIL_URL (README, "Configuration"):
    (empty)                                 each message is written as an .eml file to
                                            <instance folder>/outbox/, so no mail server is needed
    smtp://user:password@host:25            plain SMTP (port 25 unless given)
    smtp+starttls://user:password@host:587  SMTP upgraded with STARTTLS (port 587 unless given)
    smtps://user:password@host:465          SMTP over TLS (port 465 unless given)
User and password are percent-decoded. Query parameters: `from` (the sender, default
"Juhui <noreply@localhost>") and `timeout` (seconds, default 20).

Delivery is at least once towards the mail server and at most once per row: a message is
claimed (leased) in one short transaction, sent with no transaction open, then marked sent in
its own commit, so a crash never re-sends a message that is marked sent, and no lock is held
while a slow server answers. As it is claimed, a message whose premise no longer holds (the
meetup was cancelled since, the RSVP changed: premises.py) is dropped with the reason instead;
one that holds is rendered then, from the state of that moment (rendering.py), and what it says
is kept on the row.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import smtplib
import ssl
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from functools import partial
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from flask import Flask, Response, current_app
from sqlalchemy import event, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from planner.core.extensions import db
from planner.core.timeutil import utcnow
from planner.core.unit_of_work import unit_of_work
from planner.notifications.models import OutboxMessage, OutboxStatus
from planner.notifications.premises import DropReason, broken_premise
from planner.notifications.rendering import Rendered, render

logger = logging.getLogger(__name__)

DEFAULT_SENDER = "Juhui <noreply@localhost>"
DEFAULT_TIMEOUT = 20.0
SMTP_SCHEMES = {"smtp": ("plain", 25), "smtp+starttls": ("starttls", 587), "smtps": ("tls", 465)}
MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=1)
# A claimed message is not picked again for this long: longer than any send can take.
CLAIM_LEASE = timedelta(minutes=10)
ATTACHMENT_NAME = "meetup.ics"


# --- transports ----------------------------------------------------------------------------

class Transport(Protocol):
    sender: str

    def send(self, message: EmailMessage) -> None: ...

    def close(self) -> None: ...


@dataclass
class FileTransport:
    """Writes each message to `directory` as <Message-ID>.eml; sending again overwrites it."""

    directory: Path
    sender: str = DEFAULT_SENDER

    def send(self, message: EmailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{_file_stem(message['Message-ID'])}.eml"
        partial_file = path.with_suffix(".part")
        partial_file.write_bytes(bytes(message))
        os.replace(partial_file, path)  # readers never see half a message

    def close(self) -> None:
        pass


@dataclass
class SmtpTransport:
    """One connection for a pass, opened on the first message; a failure closes it, so the
    next message starts on a fresh one."""

    host: str
    port: int
    security: str = "plain"  # "plain", "starttls" or "tls"
    username: str = ""
    password: str = field(default="", repr=False)
    timeout: float = DEFAULT_TIMEOUT
    sender: str = DEFAULT_SENDER
    _connection: smtplib.SMTP | None = field(default=None, init=False, repr=False)

    def send(self, message: EmailMessage) -> None:
        connection = self._connection or self._connect()
        try:
            connection.send_message(message)
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.quit()
        except (smtplib.SMTPException, OSError):
            connection.close()

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        if self.security == "tls":
            connection: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port,
                                                         timeout=self.timeout, context=context)
        else:
            connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.security == "starttls":
                connection.starttls(context=context)
            if self.username:
                connection.login(self.username, self.password)
        except Exception:
            connection.close()
            raise
        self._connection = connection
        return connection


def mail_transport(config: Mapping[str, Any], instance_path: str | os.PathLike[str]) -> Transport:
    """The transport MAIL_URL names; without one, files in the instance folder's outbox."""
    url = config.get("MAIL_URL") or ""
    if not url:
        return FileTransport(Path(instance_path) / "outbox")
    parts = urlsplit(url)
    if parts.scheme not in SMTP_SCHEMES:
        raise ValueError(f"MAIL_URL: unknown scheme {parts.scheme!r} "
                         f"(use {', '.join(sorted(SMTP_SCHEMES))} or leave it empty)")
    if not parts.hostname:
        raise ValueError("MAIL_URL: no host")
    security, default_port = SMTP_SCHEMES[parts.scheme]
    query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
    return SmtpTransport(
        host=parts.hostname, port=parts.port or default_port, security=security,
        username=unquote(parts.username or ""), password=unquote(parts.password or ""),
        timeout=float(query.get("timeout", DEFAULT_TIMEOUT)),
        sender=query.get("from", DEFAULT_SENDER))


def current_transport() -> Transport:
    return mail_transport(current_app.config, current_app.instance_path)


def _file_stem(message_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", message_id.strip("<>"))


# --- messages ------------------------------------------------------------------------------

def build_email(row: OutboxMessage, rendered: Rendered, sender: str) -> EmailMessage:
    """The email for an outbox row as rendered: UTF-8 text, and the meetup as text/calendar if
    it has one. Its Message-ID is derived from the row, so a repeated send can be recognised."""
    message = EmailMessage()
    message["Subject"] = rendered.subject
    message["From"] = sender
    message["To"] = rendered.to_address
    message["Date"] = format_datetime(row.created_at)
    message["Message-ID"] = _message_id(row, sender)
    message["Auto-Submitted"] = "auto-generated"
    if rendered.unsubscribe_url:
        # RFC 8058: a mail client's "unsubscribe" button POSTs List-Unsubscribe=One-Click to
        # the link, which needs no login (its token is signed and names member and category).
        message["List-Unsubscribe"] = f"<{rendered.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(rendered.body)
    if rendered.html:
        message.add_alternative(rendered.html, subtype="html")
    if rendered.ics:
        message.add_attachment(rendered.ics.decode("utf-8"), subtype="calendar",
                               filename=ATTACHMENT_NAME)
    return message


def _message_id(row: OutboxMessage, sender: str) -> str:
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    digest = hashlib.sha256(row.dedupe_key.encode()).hexdigest()[:16]
    return f"<juhui.{row.id}.{digest}@{domain}>"


# --- the worker's pass ---------------------------------------------------------------------

@dataclass
class Delivered:
    """What a pass did with the messages it took."""

    sent: int = 0
    # This attempt failed, or the message could not be rendered: retried later unless it was
    # the last.
    failed: int = 0
    # Not sent, by why: their premise no longer held (premises.py).
    dropped: Counter[DropReason] = field(default_factory=Counter)
    server_trouble: bool = False  # the server is down or refuses us: the rest waits

    @property
    def taken(self) -> int:
        return self.sent + self.failed + self.dropped.total()

    def __iadd__(self, other: Delivered) -> Delivered:
        self.sent, self.failed = self.sent + other.sent, self.failed + other.failed
        self.dropped += other.dropped
        self.server_trouble = self.server_trouble or other.server_trouble
        return self

    def note(self, attempt: Attempt) -> None:
        if attempt.error is None:
            self.sent += 1
            return
        self.failed += 1
        self.server_trouble = not _rejected_only_this_message(attempt.error)


@dataclass(frozen=True)
class Claimed:
    row_id: int
    message: EmailMessage


@dataclass(frozen=True)
class Dropped:
    reason: DropReason


@dataclass(frozen=True)
class Unrendered:
    """Rendering raised (a template's bug): recorded as a failed attempt, the pass goes on."""


@dataclass(frozen=True)
class Attempt:
    row_id: int
    error: Exception | None = None  # None: the server accepted the message


def deliver_due(limit: int = 100, ids: Collection[int] | None = None) -> Delivered:
    """Take up to `limit` due messages (only those in `ids` if given), one at a time: drop each
    whose premise no longer holds, send the others. Call it with no changes of your own
    pending: it commits them with the first message it takes."""
    transport = current_transport()
    delivered = Delivered()
    try:
        while delivered.taken < limit and not delivered.server_trouble:
            # Two units of work around each send, none open during it: the lease is committed
            # before (no other worker takes the message while the mail server answers, and no
            # lock is held meanwhile), the outcome right after (what is marked sent is never
            # taken again; a crash in between re-sends that one message after its lease).
            with unit_of_work():
                taken = _take_next(transport.sender, ids)
            if taken is None:
                break
            if isinstance(taken, Dropped):
                delivered.dropped[taken.reason] += 1
                continue
            if isinstance(taken, Unrendered):
                delivered.failed += 1
                continue
            attempt = _send(transport, taken)
            with unit_of_work():
                _record(attempt)
            delivered.note(attempt)
    finally:
        transport.close()
    return delivered


def _take_next(sender: str,
               ids: Collection[int] | None) -> Claimed | Dropped | Unrendered | None:
    """Lease the next due message if its premise holds, rendered as of now, else drop it.
    PostgreSQL skips rows another worker holds; SQLite lets one writer in at a time anyway."""
    now = utcnow()
    query = (select(OutboxMessage)
             .where(OutboxMessage.status == OutboxStatus.PENDING,
                    OutboxMessage.next_attempt_at <= now)
             .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
             .limit(1).with_for_update(skip_locked=True))
    if ids is not None:
        query = query.where(OutboxMessage.id.in_(list(ids)))
    row = db.session.scalar(query)
    if row is None:
        return None
    if reason := broken_premise(row, now):
        row.status, row.dropped_reason, row.dropped_at = OutboxStatus.DROPPED, reason, now
        logger.info("Mail %s (%s) dropped: %s", row.id, row.kind, reason)
        return Dropped(reason)
    try:
        rendered = render(row)
    except SQLAlchemyError:
        raise  # the database's trouble, not this message's: the pass ends, nothing is kept
    except Exception as error:
        _record_failure(row, error)  # otherwise it would head every pass and block the rest
        return Unrendered()
    row.to_address, row.subject, row.body, row.ics = (
        rendered.to_address, rendered.subject, rendered.body, rendered.ics)
    row.next_attempt_at = now + CLAIM_LEASE
    return Claimed(row.id, build_email(row, rendered, sender))


def _send(transport: Transport, claimed: Claimed) -> Attempt:
    try:
        transport.send(claimed.message)
    except Exception as error:
        return Attempt(claimed.row_id, error)
    return Attempt(claimed.row_id)


def _record(attempt: Attempt) -> None:
    row = db.session.get(OutboxMessage, attempt.row_id, with_for_update=True)
    if row is None:
        return
    if attempt.error is None:
        row.status, row.sent_at, row.last_error = OutboxStatus.SENT, utcnow(), ""
    else:
        _record_failure(row, attempt.error)


def _record_failure(row: OutboxMessage, error: Exception) -> None:
    row.attempts += 1
    row.last_error = f"{type(error).__name__}: {error}"[:500]
    if row.attempts >= MAX_ATTEMPTS or _refused_for_good(error):
        row.status = OutboxStatus.FAILED
    else:
        row.next_attempt_at = utcnow() + retry_delay(row.attempts)
    logger.warning("Mail %s (%s) not sent, attempt %d: %s", row.id, row.kind, row.attempts,
                   row.last_error)


def retry_delay(attempts: int) -> timedelta:
    """1 minute after the first failure, then 2, 4, 8 … and never more than an hour."""
    return min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_WAIT)


def _rejected_only_this_message(error: Exception) -> bool:
    return isinstance(error, smtplib.SMTPRecipientsRefused | smtplib.SMTPDataError)


def _refused_for_good(error: Exception) -> bool:
    """Every recipient refused with a permanent (5xx) code: retrying cannot help."""
    if not isinstance(error, smtplib.SMTPRecipientsRefused):
        return False
    return all(code >= 500 for code, _reason in error.recipients.values())


# --- delivery right after the request ------------------------------------------------------

FLUSHED_IDS = "outbox_flushed_ids"
COMMITTED_IDS = "outbox_committed_ids"


def init_app(app: Flask) -> None:
    """Send the mail a request queued once its response is out (MAIL_DELIVER_AFTER_REQUEST,
    default on). What cannot be sent then stays queued for `flask send-mail`."""
    app.config.setdefault("MAIL_DELIVER_AFTER_REQUEST", True)
    _watch_sessions()
    if _deliver_after_response not in app.after_request_funcs.get(None, []):
        app.after_request(_deliver_after_response)


def _watch_sessions() -> None:
    """Note the ids of outbox rows each database session commits (all sessions of `db`)."""
    for name, listener in (("after_flush", _note_flushed), ("after_commit", _note_committed),
                           ("after_rollback", _forget_flushed)):
        if not event.contains(db.session, name, listener):
            event.listen(db.session, name, listener)


def _note_flushed(session: Session, _flush_context: object) -> None:
    ids = {obj.id for obj in session.new if isinstance(obj, OutboxMessage)}
    if ids:
        session.info.setdefault(FLUSHED_IDS, set()).update(ids)


def _note_committed(session: Session) -> None:
    ids = session.info.pop(FLUSHED_IDS, None)
    if ids:
        session.info.setdefault(COMMITTED_IDS, set()).update(ids)


def _forget_flushed(session: Session) -> None:
    session.info.pop(FLUSHED_IDS, None)


def _deliver_after_response(response: Response) -> Response:
    ids = db.session.info.pop(COMMITTED_IDS, None)
    if ids and current_app.config["MAIL_DELIVER_AFTER_REQUEST"]:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        response.call_on_close(partial(deliver_quietly, app, frozenset(ids)))
    return response


def deliver_quietly(app: Flask, ids: Collection[int]) -> None:
    """Send these messages now; any failure is logged and leaves them queued."""
    with app.app_context():
        try:
            deliver_due(limit=len(ids), ids=ids)
        except Exception:
            logger.exception("Could not send mail after the request; it stays queued.")
