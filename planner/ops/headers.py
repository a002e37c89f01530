"""Security headers on every response, `personal` answers that no cache may keep, and trust in
the reverse proxy's headers (PROXY_FIX)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import Flask, Response, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

P = ParamSpec("P")
R = TypeVar("R")

# Scripts and styles only from our own files (static/js, static/css): no inline code runs, so an
# injected <script> or onclick= is inert. img-src allows data: for small inline images.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "frame-ancestors 'none'",
    "form-action 'self'",
    "base-uri 'self'",
    "object-src 'none'",
])

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Content-Type-Options": "nosniff",
}

# A member's own page or data: no shared cache (a proxy, a CDN) may serve it to someone else, and
# no browser may keep it on disk for the next person at a shared computer.
PERSONAL_CACHE_CONTROL = "private, no-store"

# Only sent over HTTPS: a browser ignores it over plain HTTP, and a local http:// run stays usable.
STRICT_TRANSPORT_SECURITY = "max-age=31536000"


def init_app(app: Flask) -> None:
    if app.config["PROXY_FIX"]:
        # One proxy hop (nginx): client address, scheme and host come from its X-Forwarded-*
        # headers, so rate limits key on the real client and HSTS sees https.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]
    app.after_request(add_security_headers)
    app.after_request(keep_personal_answers_private)


def personal(view: Callable[P, R]) -> Callable[P, R]:
    """Mark a view whose answer is about the member asking (their profile, tickets, tokens):
    it is sent with Cache-Control: private, no-store, errors and redirects it gives included.
    Personal calendar feeds are not marked: calendar apps must cache them (ETag)."""
    @wraps(view)
    def marked(*args: P.args, **kwargs: P.kwargs) -> R:
        g.personal_answer = True
        return view(*args, **kwargs)
    marked.personal = True  # type: ignore[attr-defined]
    return marked


def keep_personal_answers_private(response: Response) -> Response:
    if g.get("personal_answer"):
        response.headers["Cache-Control"] = PERSONAL_CACHE_CONTROL
    return response


def add_security_headers(response: Response) -> Response:
    """setdefault: a view that needs a different policy for its page may set its own."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
    return response
