"""Juhui (聚会): the offline event and city-branch planner."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask

if TYPE_CHECKING:
    from planner.core.domain_events import EventBus

ROOT = Path(__file__).resolve().parent.parent


def create_app(overrides: dict[str, Any] | None = None, instance_path: str | None = None) -> Flask:
    """The application factory: config, extensions, blueprints, error handlers, commands."""
    from planner.core import inputs
    from planner.core.config import load_config
    from planner.core.json_provider import IsoJSONProvider
    from planner.core.uploads import AppRequest

    app = Flask(
        __name__,
        instance_path=instance_path,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(load_config(app.instance_path, overrides))
    app.json = IsoJSONProvider(app)
    app.request_class = AppRequest

    _init_extensions(app)
    inputs.init_app(app)  # the `id` converter, before any route uses it
    _register_blueprints(app)

    from branches import permissions
    from planner import feedback, notifications, ops, webhooks
    from planner.cli import register_commands
    from planner.core import domain_events, unit_of_work
    from planner.core.errors import register_error_handlers
    from planner.core.extensions import db
    from planner.core.templating import register_template_helpers

    _subscribe_areas(domain_events.init_app(app, db.session))
    _connect_areas(app)
    register_error_handlers(app)
    register_template_helpers(app)
    register_commands(app)
    notifications.init_app(app)
    feedback.init_app(app)
    webhooks.init_app(app)
    ops.init_app(app)
    permissions.init_app(app)
    unit_of_work.init_app(app)
    return app


def _init_extensions(app: Flask) -> None:
    from flask_babel import lazy_gettext

    from planner.accounts.auth import load_user
    from planner.core.extensions import babel, csrf, db, limiter, login_manager, migrate
    from planner.core.i18n import select_timezone, selected_locale

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=selected_locale, timezone_selector=select_timezone)
    login_manager.init_app(app)
    login_manager.user_loader(load_user)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = lazy_gettext("Please log in to see this page.")
    login_manager.login_message_category = "info"


def _subscribe_areas(bus: EventBus) -> None:
    from planner.funnel import subscribers as funnel
    from planner.notifications import subscribers as notifications
    from planner.registrations import subscribers as registrations
    from planner.webhooks import subscribers as webhooks

    funnel.subscribe(bus)
    notifications.subscribe(bus)
    registrations.subscribe(bus)
    webhooks.subscribe(bus)


def _connect_areas(app: Flask) -> None:
    """Hand a lower area the figures it shows of a higher one's (the meetup JSON counts seats
    with the RSVP area's counter)."""
    from planner.events.seats import count_seats_with
    from planner.registrations.services import seats_of

    count_seats_with(app, seats_of)


def _register_blueprints(app: Flask) -> None:
    # Importing the API modules registers their routes on the API blueprint.
    import branches.api  # noqa: F401
    import planner.accounts.api
    import planner.api.openapi
    import planner.checkin.api
    import planner.engagement.api
    import planner.events.api
    import planner.feedback.api
    import planner.funnel.api
    import planner.messages.api
    import planner.notifications.api
    import planner.registrations.api
    import planner.ties.api
    import planner.webhooks.api  # noqa: F401
    from branches.views import bp as branches_bp
    from planner.accounts.views import bp as accounts_bp
    from planner.api import bp as api_bp
    from planner.calendars.views import bp as calendars_bp
    from planner.checkin.views import bp as checkin_bp
    from planner.engagement.views import bp as engagement_bp
    from planner.events.views import bp as events_bp
    from planner.feedback.views import bp as feedback_bp
    from planner.funnel.views import bp as funnel_bp
    from planner.main import bp as main_bp
    from planner.messages.views import bp as messages_bp
    from planner.notifications.views import bp as notifications_bp
    from planner.pictures.views import bp as pictures_bp
    from planner.registrations.views import bp as registrations_bp
    from planner.ties.views import bp as ties_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(branches_bp)
    app.register_blueprint(events_bp)
    app.register_blueprint(calendars_bp)
    app.register_blueprint(registrations_bp)
    app.register_blueprint(checkin_bp)
    app.register_blueprint(feedback_bp)
    app.register_blueprint(funnel_bp)
    app.register_blueprint(engagement_bp)
    app.register_blueprint(ties_bp)
    app.register_blueprint(pictures_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(messages_bp)
    app.register_blueprint(api_bp)
