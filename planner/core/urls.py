"""Absolute links for what leaves the site (mail, calendar files, posters, API links).

They are built from the configured PUBLIC_URL only, never from the request's Host header: a
request sent with `Host: attacker.example` must not put the attacker's address in a member's
mail next to their ticket code."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app

DEVELOPMENT_URL = "http://127.0.0.1:5000"


def site_root() -> str:
    """The site's address as members reach it (PUBLIC_URL), without a trailing slash."""
    return (current_app.config.get("PUBLIC_URL") or DEVELOPMENT_URL).rstrip("/")


def public_url(endpoint: str, **values: Any) -> str:
    """url_for(..., _external=True), but on PUBLIC_URL whatever Host the request named."""
    parts = urlsplit(site_root())
    adapter = current_app.url_map.bind(parts.netloc, script_name=parts.path or "/",
                                       url_scheme=parts.scheme or "http")
    return adapter.build(endpoint, values, force_external=True)


def check_public_url(app: Flask) -> None:
    """PUBLIC_URL is required in production; a development or test run falls back to localhost."""
    if app.config.get("PUBLIC_URL"):
        return
    if not (app.debug or app.testing):
        app.logger.warning("PUBLIC_URL is not set: links in mail, calendar files and the API "
                           "will point to %s. Set it to the address members reach the site at.",
                           DEVELOPMENT_URL)
    app.config["PUBLIC_URL"] = DEVELOPMENT_URL
