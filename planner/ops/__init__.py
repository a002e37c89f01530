"""Running in production: health probes, request ids and structured logs, security headers."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Wire the operational concerns into the app; called once by create_app()."""
    from planner.core.urls import check_public_url
    from planner.ops import headers, logs
    from planner.ops.health import bp

    headers.init_app(app)
    logs.init_app(app)
    check_public_url(app)  # after the log handlers, so the warning is logged in LOG_FORMAT
    app.register_blueprint(bp)
