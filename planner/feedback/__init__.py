"""Feedback after a meetup: the members checked in rate it 1–5 and may comment (from its start
until FEEDBACK_DAYS after its end); leads see the figures and feature comments whose authors
agreed, as testimonials on the branch page and the meetup series' pages."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Tell the mail worker whether a feedback request still makes sense (the mail area sits
    below this one and cannot ask it itself)."""
    from planner.feedback.services import request_unwanted
    from planner.notifications.premises import ask_feedback_requests

    ask_feedback_requests(app, request_unwanted)
