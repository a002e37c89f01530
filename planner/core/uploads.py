"""Requests that carry a file may be bigger than the site's usual limit: the view says how big.

The limit has to be known before anything reads the body (the CSRF check reads the form before
the view runs), so the request asks the view it was routed to."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Request, current_app

View = TypeVar("View", bound=Callable[..., Any])


class AppRequest(Request):
    @property
    def max_content_length(self) -> int | None:
        view = current_app.view_functions.get(self.endpoint or "")
        limit_key = getattr(view, "upload_limit", None)
        if limit_key is None or self._max_content_length is not None:
            return super().max_content_length
        return int(current_app.config[limit_key])

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value


def takes_uploads(limit_key: str) -> Callable[[View], View]:
    """Let this view's requests be as big as the config key says (apply below the route)."""

    def mark(view: View) -> View:
        view.upload_limit = limit_key  # type: ignore[attr-defined]  # read by AppRequest
        return view

    return mark
