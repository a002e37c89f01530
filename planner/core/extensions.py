"""Flask extensions, created unbound and attached in create_app() with init_app()."""

from collections.abc import Callable
from typing import TYPE_CHECKING

from flask import current_app
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from planner.core.db import Base

db = SQLAlchemy(model_class=Base)

# The base of every model. At run time it is db.Model, which Flask-SQLAlchemy makes from Base
# (the same registry and metadata, plus its own mixins); a type checker cannot follow a class
# made at run time, so to it a model is what it is underneath: a typed SQLAlchemy 2.0 model.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address)


def configured_limit(key: str) -> Callable[[], str]:
    """A rate limit read from the app's config (e.g. "10 per minute") each time it is checked."""
    return lambda: current_app.config[key]


# One budget per client address for the public invite and referral links together: they are
# handed out in chat groups, so they are what a scraper or a flood finds first. Counted in
# Redis when REDIS_URL is set, so it holds across app servers.
invite_link_limit = limiter.shared_limit(configured_limit("INVITE_RATE_LIMIT"),
                                         scope="invite-links")
