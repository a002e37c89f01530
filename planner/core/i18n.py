"""Language and timezone choice, and locale-aware formatting of instants in a given timezone."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime as babel_format_datetime
from flask import current_app, g, has_request_context, request, session
from flask_babel import format_percent, get_locale
from flask_login import current_user

SESSION_LOCALE_KEY = "locale"


def _signed_in_user() -> Any:
    """The API token's user, else the session's, else None."""
    user = g.get("api_user") or current_user
    return user if user is not None and user.is_authenticated else None


@functools.cache
def parsed_locale(name: str) -> Locale:
    """Babel's Locale for a language code, parsed once per process: parsing normalises the
    name against every locale Babel knows, which cost a door scan more than its SQL did."""
    return Locale.parse(name)


def selected_locale() -> Locale:
    """What Flask-Babel asks for each request: the chosen language, already parsed."""
    return parsed_locale(select_locale())


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


# Short local forms without seconds: "12月9日 周三 18:00", "Wed 9 Dec, 18:00". "full" is for the
# one place a page states the date (the meetup, the ticket); "short" for table cells.
PATTERNS = {
    "zh": {"full": "y年M月d日 EEEE HH:mm", "medium": "M月d日 EEE HH:mm", "short": "M月d日 HH:mm",
           "time": "HH:mm"},
    "en": {"full": "EEEE d MMMM y, HH:mm", "medium": "EEE d MMM, HH:mm", "short": "d MMM, HH:mm",
           "time": "HH:mm"},
}
WITH_YEAR = {"zh": "y年", "en": " y"}  # added to medium and short outside the current year


def _pattern(style: str, local: datetime, now: datetime) -> str:
    language = "zh" if str(get_locale()).startswith("zh") else "en"
    pattern = PATTERNS[language][style]
    if style in ("medium", "short") and local.year != now.year:
        year = WITH_YEAR[language]
        pattern = year + pattern if language == "zh" else pattern.replace(",", year + ",", 1)
    return pattern


def _wall_clock(instant: datetime, timezone: str, style: str) -> str:
    zone = ZoneInfo(timezone)
    local = instant.astimezone(zone)
    return babel_format_datetime(local, _pattern(style, local, datetime.now(zone)), tzinfo=zone,
                                 locale=get_locale())


def _zone_note(instant: datetime, timezone: str) -> str:
    """" (UTC+1)" where the zone is not the viewer's own (a member abroad, a branch in another
    zone), else nothing."""
    viewer = ZoneInfo(select_timezone())
    if instant.astimezone(viewer).utcoffset() == instant.astimezone(ZoneInfo(timezone)).utcoffset():
        return ""
    return f" ({zone_label(instant, timezone)})"


def format_instant(instant: datetime | None, timezone: str, style: str = "medium") -> str:
    """A UTC instant as the wall time in `timezone`, for the current locale."""
    if instant is None:
        return ""
    return _wall_clock(instant, timezone, style) + _zone_note(instant, timezone)


def format_span(starts_at: datetime, ends_at: datetime, timezone: str, style: str = "medium",
                *, name_zone: bool = False) -> str:
    """A meetup's time with the zone named at most once: "12月9日 周三 18:00–21:00", or both
    days when it runs past midnight. `name_zone`: always name it (a mail has no viewer's zone)."""
    zone = ZoneInfo(timezone)
    same_day = starts_at.astimezone(zone).date() == ends_at.astimezone(zone).date()
    start = _wall_clock(starts_at, timezone, style)
    end = _wall_clock(ends_at, timezone, "time" if same_day else style)
    note = f" ({zone_label(ends_at, timezone)})" if name_zone else _zone_note(ends_at, timezone)
    return (f"{start}–{end}" if same_day else f"{start} – {end}") + note


def zone_label(instant: datetime, timezone: str) -> str:
    """The offset in force at `instant`, like "UTC+8" or "UTC+5:30": abbreviations are
    ambiguous ("CST" is China Standard Time and US Central Time), an offset is not."""
    offset = instant.astimezone(ZoneInfo(timezone)).utcoffset() or timedelta()
    minutes = int(offset.total_seconds() // 60)
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{'+' if minutes >= 0 else '−'}{hours}" + (f":{rest:02}" if rest else "")


def format_share(value: float | None) -> str:
    """A rate as a percentage in the reader's locale; a dash when there is nothing to divide."""
    return "—" if value is None else format_percent(value, "#,##0.#%")
