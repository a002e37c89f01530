"""Webhooks for chat-group bots: a lead registers an HTTPS endpoint and the events it wants;
subscribers write a delivery row in the change's transaction, and the worker (`send-mail`) posts
it after the commit, signed as Standard Webhooks do, retried with back-off for a day."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Deliver webhooks in the mail worker's passes (`flask send-mail [--loop]`) and right
    after the request that queued them."""
    from planner.notifications.commands import also_deliver
    from planner.webhooks import delivery

    also_deliver(app, delivery.worker_pass)
    delivery.init_app(app)
