"""A real SMTP server for the tests (aiosmtpd on 127.0.0.1): what arrives is kept; the `smtp`
fixture (tests/conftest.py) points MAIL_URL at it."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from email import policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

ACCEPTED = "250 Message accepted for delivery"


def free_port() -> int:
    """A port nothing listens on (the OS just handed it out and it was closed again)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """An aiosmtpd handler: keeps what arrives, unless told to answer otherwise."""

    def __init__(self) -> None:
        self.received: list[EmailMessage] = []
        self.data_reply = ACCEPTED
        self.refused_recipients: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused_recipients:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_reply == ACCEPTED:
            self.received.append(email.message_from_bytes(envelope.content,
                                                          policy=policy.default))
        return self.data_reply


@contextmanager
def smtp_inbox(app) -> Iterator[Inbox]:
    """A real SMTP server on a free local port; MAIL_URL points at it."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config["MAIL_URL"] = f"smtp://127.0.0.1:{controller.port}?from=juhui%40example.org"
    try:
        yield inbox
    finally:
        controller.stop()

