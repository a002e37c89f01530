"""Forms of the calendar settings on the profile page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField


class CalendarSettingsForm(FlaskForm):
    include_branches = BooleanField(_l("Also list every meetup of the branches I belong to"))


class RotateTokenForm(FlaskForm):
    """Only the CSRF token: rotating takes no input."""
