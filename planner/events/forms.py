"""Meetup, repeat, cancel and venue-hold forms, shared by the HTML pages and the JSON API."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    FloatField,
    FormField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    URLField,
)
from wtforms.validators import (
    DataRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from branches.models import Branch
from planner.core.forms import AppForm, DayField, DaysField, IdChoiceField, InstantField, SubForm
from planner.events.models import BookingStatus, EventStatus
from planner.events.recurrence import Frequency, RepeatRule
from planner.events.services import EventInput, HoldInput, span_problem

BUFFER = [Optional(), NumberRange(min=0, max=1440)]
STATUS_CHOICES = [SelectChoice(EventStatus.DRAFT.value, _l("Draft (only leads see it)")),
                  SelectChoice(EventStatus.PUBLISHED.value, _l("Published"))]
FREQUENCY_CHOICES = [SelectChoice("", _l("Does not repeat")),
                     SelectChoice(Frequency.WEEKLY.value, _l("Every week")),
                     SelectChoice(Frequency.BIWEEKLY.value, _l("Every two weeks")),
                     SelectChoice(Frequency.MONTHLY.value,
                                  _l("Every month on the same weekday"))]
SCOPE_CHOICES = [SelectChoice("this", _l("Only this meetup")),
                 SelectChoice("following", _l("This and the following meetups of the series"))]


class RepeatForm(SubForm):
    # In JSON, "repeat": "weekly" is {"freq": "weekly"}: validated like it, never ignored.
    json_shorthand = "freq"

    freq = SelectField(_l("Repeat"), choices=FREQUENCY_CHOICES, default="")
    count = IntegerField(_l("Number of meetups"), validators=[
        Optional(), NumberRange(min=1, max=52)])
    until = DayField(_l("Until (date)"), validators=[Optional()])

    def to_rule(self) -> RepeatRule | None:
        if not self.freq.data:
            return None
        return RepeatRule(Frequency(self.freq.data), count=self.count.data,
                          until=self.until.data)


class EventForm(AppForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=120)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=20000)],
                                description=_l("Markdown: **bold**, lists, links."))
    starts_at = InstantField(_l("Starts"), validators=[DataRequired()],
                             description=_l("In the branch's local time."))
    ends_at = InstantField(_l("Ends"), validators=[DataRequired()])
    venue_id = IdChoiceField(_l("Venue"))
    online_url = URLField(_l("Online link"), validators=[
        Optional(), Length(max=500),
        Regexp(r"^https?://\S+$", message=_l("Use an http:// or https:// link."))],
        description=_l("For hybrid or online meetups."))
    capacity = IntegerField(_l("Capacity"), validators=[Optional(), NumberRange(min=1,
                                                                               max=100000)],
                            description=_l("Leave empty to use the venue's capacity."))
    rsvp_opens_at = InstantField(_l("RSVPs open"), validators=[Optional()])
    rsvp_closes_at = InstantField(_l("RSVPs close"), validators=[Optional()])
    max_guests = IntegerField(_l("Guests per RSVP"), default=0, validators=[
        Optional(), NumberRange(min=0, max=20)], description=_l("0 means members come alone."))
    requires_approval = BooleanField(_l("Leads approve every RSVP"))
    walk_ins_over_capacity = BooleanField(_l("Door staff may let walk-ins in when it is full"))
    status = SelectField(_l("Status"), choices=STATUS_CHOICES,
                         default=EventStatus.PUBLISHED.value)
    # Names from the branch's topics; the service says which one the branch lacks.
    tags = SelectMultipleField(_l("Topics"), choices=[], validate_choice=False,
                               widget=ListWidget(prefix_label=False),
                               option_widget=CheckboxInput())
    setup_minutes = IntegerField(_l("Setup (minutes before)"), default=0, validators=BUFFER)
    teardown_minutes = IntegerField(_l("Teardown (minutes after)"), default=0,
                                    validators=BUFFER)
    repeat = FormField(RepeatForm, label=_l("Repeat"))
    skip_dates = DaysField(_l("Skip these dates"), description=_l(
        "Comma-separated dates (YYYY-MM-DD) of the series to leave out."))
    scope = RadioField(_l("Apply to"), choices=SCOPE_CHOICES, default="this")
    submit = SubmitField(_l("Save meetup"))

    def __init__(self, *args: Any, branch: Branch | None = None, **kwargs: Any) -> None:
        """`branch` gives the venue choices; without one (documentation), only the empty choice
        is offered."""
        super().__init__(*args, **kwargs)
        self.branch = branch
        venues = branch.venues if branch is not None else []
        self.venue_id.choices = [SelectChoice("", _l("No venue (online only)"))] + [
            SelectChoice(str(v.id), f"{v.name} ({v.capacity})") for v in venues]
        self.tags.choices = [SelectChoice(t.name, t.name) for t in branch.topics] if branch else []

    def validate_ends_at(self, field: InstantField) -> None:
        """A start after the end is shown with the other fields' errors, not after them."""
        starts, ends = self.starts_at.data, field.data
        if self.branch is None or starts is None or ends is None:
            return
        if problem := span_problem(starts, ends, self.branch.timezone):
            raise ValidationError(problem)

    def to_input(self) -> EventInput:
        return EventInput(
            title=self.title.data, description=self.description.data or "",
            starts_local=self.starts_at.data,  # type: ignore[arg-type]
            ends_local=self.ends_at.data,  # type: ignore[arg-type]
            venue_id=self.venue_id.data, online_url=self.online_url.data or None,
            capacity=self.capacity.data, status=EventStatus(self.status.data),
            rsvp_opens_local=self.rsvp_opens_at.data,
            rsvp_closes_local=self.rsvp_closes_at.data,
            setup_minutes=self.setup_minutes.data or 0,
            teardown_minutes=self.teardown_minutes.data or 0,
            max_guests=self.max_guests.data or 0,
            requires_approval=bool(self.requires_approval.data),
            walk_ins_over_capacity=bool(self.walk_ins_over_capacity.data),
            tags=tuple(self.tags.data or ()))

    def fill(self, data: EventInput) -> None:
        """Show an existing meetup in the form."""
        values = {"title": data.title, "description": data.description,
                  "starts_at": data.starts_local, "ends_at": data.ends_local,
                  "venue_id": data.venue_id, "online_url": data.online_url,
                  "capacity": data.capacity, "rsvp_opens_at": data.rsvp_opens_local,
                  "rsvp_closes_at": data.rsvp_closes_local, "status": data.status.value,
                  "setup_minutes": data.setup_minutes, "teardown_minutes": data.teardown_minutes,
                  "max_guests": data.max_guests, "requires_approval": data.requires_approval,
                  "walk_ins_over_capacity": data.walk_ins_over_capacity, "tags": list(data.tags)}
        for name, value in values.items():
            self[name].data = value

    def skipped(self) -> list[date]:
        return list(self.skip_dates.data or [])


class CancelForm(AppForm):
    message = TextAreaField(_l("Message to members"), validators=[DataRequired(),
                                                                  Length(max=1000)])
    scope = RadioField(_l("Which meetups to cancel"), choices=SCOPE_CHOICES, default="this")
    submit = SubmitField(_l("Cancel meetup"))


class HoldForm(AppForm):
    starts_at = InstantField(_l("From"), validators=[DataRequired()])
    ends_at = InstantField(_l("Until"), validators=[DataRequired()])
    status = SelectField(_l("Status"), default=BookingStatus.TENTATIVE.value, choices=[
        SelectChoice(BookingStatus.TENTATIVE.value, _l("Tentative")),
        SelectChoice(BookingStatus.CONFIRMED.value, _l("Confirmed"))])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=200)])
    setup_minutes = IntegerField(_l("Setup (minutes before)"), default=0, validators=BUFFER)
    teardown_minutes = IntegerField(_l("Teardown (minutes after)"), default=0,
                                    validators=BUFFER)
    submit = SubmitField(_l("Hold the venue"))

    def to_input(self) -> HoldInput:
        return HoldInput(
            starts_local=self.starts_at.data,  # type: ignore[arg-type]
            ends_local=self.ends_at.data,  # type: ignore[arg-type]
            status=BookingStatus(self.status.data), note=self.note.data or "",
            setup_minutes=self.setup_minutes.data or 0,
            teardown_minutes=self.teardown_minutes.data or 0)


class ConfirmHoldForm(AppForm):
    status = SelectField(_l("Status"), validators=[DataRequired()], choices=[
        SelectChoice(BookingStatus.CONFIRMED.value, _l("Confirmed"))])
    submit = SubmitField(_l("Confirm"))


class EventSearchForm(AppForm):
    """Query parameters for listing meetups (API) and the near-me page."""

    class Meta:
        csrf = False

    branch = StringField(_l("Branch"), validators=[Optional(), Length(max=64)])
    place = StringField(_l("Place"), validators=[Optional(), Length(max=80)])
    near = StringField(_l("Near (lat,lon)"), validators=[
        Optional(), Regexp(r"^-?\d+(\.\d+)?,-?\d+(\.\d+)?$")])
    lat = FloatField(_l("Latitude"), validators=[Optional(), NumberRange(min=-90, max=90)])
    lon = FloatField(_l("Longitude"), validators=[Optional(), NumberRange(min=-180, max=180)])
    radius_km = IntegerField(_l("Within (km)"), default=50,
                             validators=[Optional(), NumberRange(min=1, max=2000)])
    start = InstantField(_l("From"), name="from", validators=[Optional()])
    end = InstantField(_l("To"), name="to", validators=[Optional()])
    q = StringField(_l("Words"), validators=[Optional(), Length(max=100)],
                    description=_l("In the title or the description; Chinese too."))
    tag = StringField(_l("Topic"), validators=[Optional(), Length(max=40)])

    def searches(self) -> bool:
        return bool((self.q.data or "").strip() or (self.tag.data or "").strip())

    def point(self) -> tuple[float, float] | None:
        """The point to measure from, given as near=lat,lon or as lat and lon."""
        if self.near.data:
            latitude, longitude = (float(part) for part in self.near.data.split(","))
            return latitude, longitude
        if self.lat.data is not None and self.lon.data is not None:
            return self.lat.data, self.lon.data
        return None
