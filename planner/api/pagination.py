"""Pagination of every list endpoint: `limit` (default 50, at most 200) and an opaque `cursor`.

The body stays a JSON array. When more follows, `Link: <…>; rel="next"` (RFC 8288) carries the
absolute URL of the next page, and `X-Total-Count` the length of the whole list. The cursor
names the last item of the page by its id, signed for this endpoint, so a forged, altered or
foreign cursor is refused with 400; the next page starts right after that item in the list's
own order, so walking the pages gives every item once, in order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any, TypeVar

from flask import Response, current_app, jsonify, request
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from wtforms import IntegerField, StringField
from wtforms.validators import Length, NumberRange, Optional

from planner.api import parse_query
from planner.core.errors import DomainError
from planner.core.forms import AppForm
from planner.core.urls import public_url

DEFAULT_LIMIT, MAX_LIMIT = 50, 200


ItemT = TypeVar("ItemT")


class BadCursor(DomainError):
    status = 400
    code = "bad_cursor"
    default_message = _l("The cursor is not valid for this list; start again without it.")


class PageForm(AppForm):
    """?limit=&cursor= of a list endpoint."""

    limit = IntegerField(_l("Items per page"), default=DEFAULT_LIMIT,
                         validators=[Optional(), NumberRange(min=1, max=MAX_LIMIT)])
    cursor = StringField(_l("Cursor from the previous page's Link header"),
                         validators=[Optional(), Length(max=200)])


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key or "",
                             salt=f"juhui.api.cursor.{request.endpoint}")


def _start(ids: Sequence[int], cursor: str) -> int:
    """Where the page after the cursor's item begins."""
    try:
        last_id = _signer().loads(cursor)
    except BadSignature:
        raise BadCursor() from None
    if not isinstance(last_id, int) or last_id not in ids:
        raise BadCursor()
    return ids.index(last_id) + 1


def _next_url(cursor: str) -> str:
    args = request.args.to_dict(flat=False) | {"cursor": [cursor]}
    return public_url(request.endpoint or "", **(request.view_args or {}), **args)


def each(render: Callable[[ItemT], Any]) -> Callable[[Sequence[ItemT]], list[Any]]:
    """A page renderer from a renderer of one item."""
    return lambda page: [render(item) for item in page]


def paginated(items: Sequence[ItemT], render_page: Callable[[Sequence[ItemT]], list[Any]],
              ident: Callable[[ItemT], int] = attrgetter("id")) -> Response:
    """One page of `items` (already in the list's order; `ident` gives each one's id) as the
    JSON array `render_page` makes of the page's items together (so a page can count, say, its
    seats in one query), with the Link and X-Total-Count headers."""
    form = parse_query(PageForm)
    limit = form.limit.data or DEFAULT_LIMIT
    ids = [ident(item) for item in items]
    start = _start(ids, form.cursor.data) if form.cursor.data else 0
    page = items[start:start + limit]
    response = jsonify(render_page(page))
    response.headers["X-Total-Count"] = str(len(items))
    if start + limit < len(items):
        response.headers["Link"] = f'<{_next_url(_signer().dumps(ident(page[-1])))}>; rel="next"'
    return response
