"""Language and timezone choice, and locale-aware formatting of instants in a given timezone."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime as babel_format_datetime
from babel.dates import get_timezone_gmt
from flask import current_app, g, has_request_context, request, session
from flask_babel import format_percent, get_locale
from flask_login import current_user

SESSION_LOCALE_KEY = "locale"


def _signed_in_user() -> Any:
    """The API token's user, else the session's, else None."""
    user = g.get("api_user") or current_user
    return user if user is not None and user.is_authenticated else None


def select_locale() -> str:
    """The signed-in user's choice, else this browser's choice, else Accept-Language."""
    languages = list(current_app.config["LANGUAGES"])
    if not has_request_context():
        return str(current_app.config["BABEL_DEFAULT_LOCALE"])
    user = _signed_in_user()
    if user is not None and user.locale in languages:
        return user.locale
    chosen = session.get(SESSION_LOCALE_KEY)
    if chosen in languages:
        return str(chosen)
    # Chinese in any variant, and languages we do not offer, fall back to the default (zh_CN).
    best = request.accept_languages.best_match([lang.replace("_", "-") for lang in languages])
    return best.replace("-", "_") if best else str(current_app.config["BABEL_DEFAULT_LOCALE"])


def select_timezone() -> str:
    user = _signed_in_user() if has_request_context() else None
    return user.timezone if user is not None else current_app.config["BABEL_DEFAULT_TIMEZONE"]


def format_instant(instant: datetime | None, timezone: str, fmt: str = "medium") -> str:
    """Format a UTC instant as local time in `timezone` for the current locale, with the zone."""
    if instant is None:
        return ""
    zone = ZoneInfo(timezone)
    text = babel_format_datetime(instant, fmt, tzinfo=zone, locale=get_locale())
    return f"{text} {zone_label(instant, timezone)}"


def zone_label(instant: datetime, timezone: str) -> str:
    """The offset in force at `instant`, like "GMT+08:00": abbreviations are ambiguous ("CST" is
    China Standard Time and US Central Time), an offset is not."""
    return get_timezone_gmt(instant.astimezone(ZoneInfo(timezone)), "long", locale=get_locale())


def format_share(value: float | None) -> str:
    """A rate as a percentage in the reader's locale; a dash when there is nothing to divide."""
    return "—" if value is None else format_percent(value, "#,##0.#%")
