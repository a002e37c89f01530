"""The webhook registration form, read from the JSON API's body."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length

from planner.core.forms import AppForm
from planner.webhooks.services import EVENT_NAMES


class WebhookForm(AppForm):
    url = StringField(_l("Address (https://…)"), validators=[
        DataRequired(message=_l("Give the address to post to.")), Length(max=2000)])
    events = SelectMultipleField(_l("Events"), choices=list(EVENT_NAMES), validators=[
        DataRequired(message=_l("Choose the events to send."))])

    def event_names(self) -> list[str]:
        return list(self.events.data or [])
