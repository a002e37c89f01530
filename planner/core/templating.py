"""Jinja globals and filters: local time, rates, languages, initials avatars."""

from __future__ import annotations

import unicodedata
import zlib
from datetime import timedelta

from babel import Locale
from flask import Flask, current_app, request
from flask_babel import format_date, format_decimal, get_locale

from planner.core.i18n import format_instant, format_share, format_span
from planner.core.urls import public_url

AVATAR_COLOURS = 8  # .avatar-0 … .avatar-7 in site.css (no inline styles under the CSP)


def _is_han(text: str) -> bool:
    return any(unicodedata.name(char, "").startswith("CJK UNIFIED") for char in text)


def initials(name: str) -> str:
    """What an avatar shows: the last two characters of a Chinese name, as Chinese apps do
    ("王小明" → "小明"), else the first letters of the first two words ("Member Ma" → "MM")."""
    name = " ".join(name.split())
    if not name:
        return "?"
    if _is_han(name):
        return name.replace(" ", "")[-2:]
    return "".join(word[0] for word in name.split()[:2]).upper()


def avatar_colour(name: str) -> int:
    return zlib.crc32(name.encode()) % AVATAR_COLOURS


def masked_email(email: str | None) -> str:
    """"chen.mei@example.com" → "ch…@example.com": enough to tell two namesakes apart."""
    local, at, domain = (email or "").partition("@")
    return f"{local[:2]}…{at}{domain}" if at else ""


def current_language() -> str:
    """The LANGUAGES key in force ("zh_CN" or "en"); Babel spells zh_CN as zh_Hans_CN."""
    locale = get_locale()
    return next((code for code in current_app.config["LANGUAGES"]
                 if Locale.parse(code) == locale), str(locale))


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.filters["localtime"] = format_instant
    app.jinja_env.filters["initials"] = initials
    app.jinja_env.filters["avatar_colour"] = avatar_colour
    app.jinja_env.filters["masked_email"] = masked_email
    app.jinja_env.globals.update(
        format_decimal=format_decimal,
        format_span=format_span,
        format_date=format_date,
        share=format_share,
        timedelta=timedelta,
        current_locale=current_language,
        languages=lambda: current_app.config["LANGUAGES"],
        current_path=lambda: request.full_path.rstrip("?"),
        public_url=public_url,
    )
