"""What every request must be before any view reads it (shared/API.md, "Lists, errors and
types"): ids within the database's range, text without NUL bytes or lone surrogates, JSON no
deeper than 32 levels. Refusals are clean answers, never a 5xx.

The rules on single fields (visible text, dates between 2000 and 2100, JSON types) are in
planner.core.forms; this module guards the request as a whole.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Any

from flask import Flask, request
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict
from werkzeug.routing import IntegerConverter, Map

from planner.core.errors import DomainError, InvalidInput, wants_json

# Ids are PostgreSQL `integer`s (SQLite's are wider, but the house runs on both).
MAX_ID = 2**31 - 1
MAX_JSON_DEPTH = 32

# NUL and the other C0 controls but tab, newline and carriage return (no database column, XML
# export or mail header takes them), and surrogates: a decoded string holds one only when it
# was sent alone, as half of a pair ("\ud800" in JSON), which no encoding can store.
UNREADABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
# Letters that render as nothing: Hangul fillers and the blank Braille pattern.
BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
# A JSON string (with its escapes) or one bracket: the tokens that decide the nesting depth.
JSON_NESTING = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


class TooDeep(DomainError):
    status = 400
    code = "too_deep"
    default_message = _l("The JSON body is nested too deeply (at most %(depth)d levels).",
                         depth=MAX_JSON_DEPTH)


class Malformed(DomainError):
    status = 400
    code = "bad_request"


UNREADABLE_MESSAGE = _l("Remove the control characters (such as NUL) or broken characters "
                        "from this text.")


def digits_up_to(limit: int) -> str:
    """A regular expression of the numbers 1 to `limit`, without leading zeros."""
    text = str(limit)
    options = [rf"[1-9]\d{{0,{len(text) - 2}}}"] if len(text) > 1 else []
    for position, digit in enumerate(text):
        low, rest = (1 if position == 0 else 0), len(text) - position - 1
        if int(digit) - 1 >= low:
            options.append(f"{text[:position]}[{low}-{int(digit) - 1}]"
                           + (rf"\d{{{rest}}}" if rest else ""))
    return "(?:" + "|".join([*options, text]) + ")"


class IdConverter(IntegerConverter):
    """`<id:event_id>`: a row id, 1 to MAX_ID. Anything else does not match the route, so it is
    404 like an id that does not exist, and never reaches the database, which would fail on
    an integer it cannot hold. The range is in the pattern itself: a value the pattern took
    but the converter then refused would make Werkzeug answer 405 when the same path has a
    rule for another method."""

    regex = digits_up_to(MAX_ID)

    def __init__(self, url_map: Map) -> None:
        super().__init__(url_map, min=1, max=MAX_ID)


def is_unreadable(text: str) -> bool:
    return UNREADABLE.search(text) is not None


def is_visible(char: str) -> bool:
    """A letter, digit, punctuation mark or symbol; not a space, a control, a format character
    (zero-width, bidi controls) or a combining mark alone."""
    return unicodedata.category(char)[0] in "LNPS" and char not in BLANK_LETTERS


def has_visible_character(text: str) -> bool:
    return any(is_visible(char) for char in text)


def json_depth_exceeds(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the JSON text opens more than `limit` arrays and objects inside each other,
    counted over its tokens (brackets inside strings do not count) without parsing or
    recursing, so that a body nested 50,000 deep is refused before the parser sees it."""
    depth = 0
    for token in JSON_NESTING.finditer(body):
        bracket = token.group()
        if bracket in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif bracket in (b"]", b"}"):
            depth -= 1
    return False


def _strings(value: Any, name: str) -> Iterator[tuple[str, str]]:
    """Every string in a parsed JSON value (keys too), with the name of the top-level field it
    is in; iterative, as the depth is checked but the width is not."""
    stack = [(value, name)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            yield where, item
        elif isinstance(item, dict):
            for key, inner in item.items():
                inner_name = f"{where}-{key}" if where else str(key)
                yield inner_name, str(key)
                stack.append((inner, inner_name))
        elif isinstance(item, list):
            stack.extend((inner, where) for inner in item)


def _unreadable_fields(pairs: Iterator[tuple[str, str]]) -> dict[str, list[str]]:
    return {name: [str(UNREADABLE_MESSAGE)] for name, text in pairs if is_unreadable(text)}


def _multidict_pairs(values: MultiDict[str, str]) -> Iterator[tuple[str, str]]:
    for key, value in values.items(multi=True):
        yield key, key
        yield key, value


def _refuse(fields: dict[str, list[str]]) -> None:
    if not fields:
        return
    if wants_json() or request.is_json:
        raise InvalidInput(fields=fields)
    raise Malformed(_l("The address or the form contains control characters (such as NUL) "
                       "or broken characters."), fields=fields)


def _check_json_body() -> None:
    if json_depth_exceeds(request.get_data(cache=True)):
        raise TooDeep()
    body = request.get_json(silent=True)
    if body is not None:
        _refuse(_unreadable_fields(_strings(body, "")))


def guard_request() -> None:
    """Refuse a request whose path, query, JSON body or API form holds what no field may
    hold. Page forms are left to their WTForms forms, which show the error next to the
    field."""
    _refuse({"path": [str(UNREADABLE_MESSAGE)]} if is_unreadable(request.path) else {})
    _refuse(_unreadable_fields(_multidict_pairs(request.args)))
    if request.is_json:
        _check_json_body()
    elif request.path.startswith("/api/"):
        _refuse(_unreadable_fields(_multidict_pairs(request.form)))


def init_app(app: Flask) -> None:
    """The `id` converter (before any route is added) and the request guard, which runs before
    every view, so before the per-account login limit too (it parses the body when its view is
    called; Python's parser fails on 50,000 levels with a RecursionError)."""
    app.url_map.converters["id"] = IdConverter
    app.before_request(guard_request)
