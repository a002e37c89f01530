"""Invite-link and funnel forms, shared by the HTML pages and the JSON API."""

from __future__ import annotations

from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from wtforms import SelectChoice, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional

from planner.core.forms import AppForm, DayField
from planner.core.timeutil import utcnow
from planner.events.localtime import utc_to_local
from planner.funnel.models import CHANNEL_LABELS, Channel

DEFAULT_DAYS = 90


class InviteLinkForm(AppForm):
    label = StringField(_l("Name (where you share it)"), validators=[
        DataRequired(message=_l("Give the link a name.")), Length(max=80)])
    channel = SelectField(_l("Channel"), coerce=Channel, default=Channel.CHAT_GROUP.value,
                          choices=[SelectChoice(channel.value, label)
                                   for channel, label in CHANNEL_LABELS.items()])
    submit = SubmitField(_l("Create link"))


class RangeForm(AppForm):
    """?from=&to= dates (inclusive); the last 90 days up to today by default."""

    start = DayField(_l("From"), name="from", validators=[Optional()])
    end = DayField(_l("To"), name="to", validators=[Optional()])

    def dates(self, timezone: str = "UTC") -> tuple[date, date]:
        """The chosen days; "today" is `timezone`'s (a branch funnel counts branch-local days)."""
        end = self.end.data or default_range(timezone)[1]
        return self.start.data or end - timedelta(days=DEFAULT_DAYS), end


def default_range(timezone: str = "UTC") -> tuple[date, date]:
    end = utc_to_local(utcnow(), timezone).date()
    return end - timedelta(days=DEFAULT_DAYS), end
