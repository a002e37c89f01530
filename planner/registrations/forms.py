"""RSVP forms, shared by the HTML pages and the JSON API."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, IntegerField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional, Regexp

from planner.core.forms import AppForm

GUESTS = [Optional(), NumberRange(min=0, max=20, message=_l("Between 0 and 20 guests."))]


class RsvpForm(AppForm):
    guests = IntegerField(_l("Guests you bring"), default=0, validators=GUESTS)
    invite = StringField(_l("Invite code"), validators=[
        Optional(), Length(max=64), Regexp(r"^[A-Za-z0-9_-]+$")])
    submit = SubmitField(_l("RSVP"))


class ReviewForm(AppForm):
    approve = BooleanField(_l("Approve"))
    message = StringField(_l("Message to the member (optional)"),
                          validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Save decision"))


class CapacityForm(AppForm):
    capacity = IntegerField(_l("Seats"), validators=[
        DataRequired(message=_l("Capacity must be at least 1.")),
        NumberRange(min=1, max=100000, message=_l("Capacity must be between 1 and 100,000."))])
    submit = SubmitField(_l("Change seats"))


class AddAttendeeForm(AppForm):
    email = EmailField(_l("Member's email"), validators=[DataRequired(), Email(), Length(max=254)])
    guests = IntegerField(_l("Guests"), default=0, validators=GUESTS)
    submit = SubmitField(_l("Add"))
