"""Email notifications: queued in the outbox with the change they report, sent after commit."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Deliver queued mail after each request and add the send-mail/send-reminders commands."""
    from planner.notifications import commands, delivery

    delivery.init_app(app)
    commands.register_commands(app)
