"""Forms of the calendar settings on the profile page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField

from planner.core.forms import AppForm


class CalendarSettingsForm(AppForm):
    include_branches = BooleanField(_l("Also list every meetup of the branches I belong to"))


class RotateTokenForm(AppForm):
    """Only the CSRF token: rotating takes no input."""
