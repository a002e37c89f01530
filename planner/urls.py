"""Absolute links for what leaves the site (mail, calendar files), inside a request or not."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app, has_request_context, request, url_for


def site_root() -> str:
    """The site's address as members reach it: this request's, else PUBLIC_URL (commands)."""
    if has_request_context():
        return request.url_root.rstrip("/")
    return current_app.config.get("PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/")


def public_url(endpoint: str, **values: Any) -> str:
    """url_for(..., _external=True) that also works outside a request, built from PUBLIC_URL."""
    if has_request_context() or current_app.config.get("SERVER_NAME"):
        return url_for(endpoint, _external=True, **values)
    parts = urlsplit(site_root())
    adapter = current_app.url_map.bind(parts.netloc, script_name=parts.path or "/",
                                       url_scheme=parts.scheme or "http")
    return adapter.build(endpoint, values, force_external=True)
