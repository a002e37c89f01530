"""Jinja globals and filters: local time, rates, languages."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, current_app, request
from flask_babel import format_date, format_decimal, get_locale

from planner.core.i18n import format_instant, format_share


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.filters["localtime"] = format_instant
    app.jinja_env.globals.update(
        format_decimal=format_decimal,
        format_date=format_date,
        share=format_share,
        timedelta=timedelta,
        current_locale=lambda: str(get_locale()),
        languages=lambda: current_app.config["LANGUAGES"],
        current_path=lambda: request.full_path.rstrip("?"),
    )
