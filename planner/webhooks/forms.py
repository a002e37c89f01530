"""The webhook registration form, read from the JSON API's body."""

from __future__ import annotations

import json
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, ValidationError
from wtforms.validators import DataRequired, Length

from planner.webhooks.services import EVENT_NAMES


def _names(value: Any) -> list[str] | None:
    """The JSON array of event names the API was sent (the kernel hands lists on as JSON)."""
    try:
        names = json.loads(value or "")
    except ValueError:
        return None
    if isinstance(names, list) and all(isinstance(name, str) for name in names):
        return names
    return None


def _known_events(_form: FlaskForm, field: StringField) -> None:
    names = _names(field.data)
    if not names or any(name not in EVENT_NAMES for name in names):
        raise ValidationError(_l("Choose one or more of: %(names)s.", names=", ".join(EVENT_NAMES)))


class WebhookForm(FlaskForm):
    url = StringField(_l("Address (https://…)"), validators=[
        DataRequired(message=_l("Give the address to post to.")), Length(max=2000)])
    events = StringField(_l("Events"), validators=[
        DataRequired(message=_l("Choose the events to send.")), _known_events])

    def event_names(self) -> list[str]:
        return _names(self.events.data) or []
