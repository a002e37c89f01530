"""Branch, membership and venue forms, shared by the HTML pages and the JSON API."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    FloatField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from branches.models import AuditAction, AuditEntry, JoinPolicy, Role
from branches.services import NO_SHOW_WINDOW_MAX, BranchInput, BranchSettings, VenueInput
from planner.accounts.forms import LANGUAGE_CHOICES
from planner.core.forms import AppForm

LATITUDE = [Optional(), NumberRange(min=-90, max=90)]
LONGITUDE = [Optional(), NumberRange(min=-180, max=180)]
JOIN_POLICY_CHOICES = [SelectChoice(JoinPolicy.OPEN.value, _l("Open: anyone can join")),
                       SelectChoice(JoinPolicy.APPROVAL.value,
                                    _l("Approval: leads approve each request"))]
AUDIT_LABELS = {
    AuditAction.JOINED: _l("joined"), AuditAction.REQUESTED: _l("asked to join"),
    AuditAction.APPROVED: _l("request approved"), AuditAction.DECLINED: _l("request declined"),
    AuditAction.LEFT: _l("left"), AuditAction.ROLE_CHANGED: _l("role changed"),
    AuditAction.REMOVED: _l("removed"), AuditAction.BANNED: _l("banned"),
    AuditAction.UNBANNED: _l("ban lifted"),
}
ROLE_CHOICES = [SelectChoice(Role.MEMBER.value, _l("Member")),
                SelectChoice(Role.STAFF.value, _l("Staff (door check-in)")),
                SelectChoice(Role.LEAD.value, _l("Lead"))]



def role_label(role: Role) -> str:
    return next(str(choice.label) for choice in ROLE_CHOICES if choice.value == role.value)


def audit_label(action: AuditAction) -> str:
    return str(AUDIT_LABELS[action])


def audit_detail(entry: AuditEntry) -> str:
    """A role change is kept as role values ("member → staff"); people read the role names."""
    if entry.action is not AuditAction.ROLE_CHANGED:
        return entry.detail
    return " → ".join(_role_name(value) for value in entry.detail.split(" → "))


def _role_name(value: str) -> str:
    try:
        return role_label(Role(value))
    except ValueError:  # "-": there was no role before
        return value


class BranchForm(AppForm):
    name = StringField(_l("Branch name"), validators=[DataRequired(), Length(max=80)])
    city = StringField(_l("City"), validators=[DataRequired(), Length(max=80)],
                       description=_l("In Chinese or English, e.g. 成都 or Chengdu."))
    country = StringField(_l("Country code"), validators=[
        Optional(), Regexp(r"^[A-Za-z]{2}$", message=_l("Two letters, e.g. CN."))])
    slug = StringField(_l("Web address (slug)"), validators=[
        Optional(), Length(max=64),
        Regexp(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$",
               message=_l("Use lowercase letters, digits and hyphens."))])
    latitude = FloatField(_l("Latitude"), validators=LATITUDE)
    longitude = FloatField(_l("Longitude"), validators=LONGITUDE)
    timezone = StringField(_l("Timezone"), validators=[Optional(), Length(max=64)],
                           description=_l("IANA name such as Asia/Shanghai; found from the city "
                                          "when empty."))
    join_policy = SelectField(_l("Who can join"), choices=JOIN_POLICY_CHOICES,
                              default=JoinPolicy.OPEN.value)
    locale = SelectField(_l("Branch language"), choices=LANGUAGE_CHOICES, default="zh_CN")
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    candidate = RadioField(_l("Which place do you mean?"), validate_choice=False, validators=[
        Optional(), Regexp(r"^-?\d{1,2}(\.\d+)?,-?\d{1,3}(\.\d+)?$")])
    submit = SubmitField(_l("Create branch"))

    def to_input(self) -> BranchInput:
        latitude, longitude = self.latitude.data, self.longitude.data
        if self.candidate.data:  # the person picked one of several places with this name
            latitude, longitude = (float(part) for part in self.candidate.data.split(","))
        return BranchInput(
            name=self.name.data, city=self.city.data.strip(),
            country=(self.country.data or "").upper() or None, slug=self.slug.data or None,
            latitude=latitude, longitude=longitude, timezone=self.timezone.data or None,
            join_policy=JoinPolicy(self.join_policy.data),
            description=self.description.data or "", locale=self.locale.data)


class BranchSettingsForm(AppForm):
    name = StringField(_l("Branch name"), validators=[DataRequired(), Length(max=80)])
    join_policy = SelectField(_l("Who can join"), choices=JOIN_POLICY_CHOICES)
    locale = SelectField(_l("Branch language"), choices=LANGUAGE_CHOICES)
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    no_show_limit = IntegerField(_l("No-shows before RSVPs need approval"), validators=[
        Optional(), NumberRange(min=1, max=NO_SHOW_WINDOW_MAX)],
        description=_l("Leave empty to switch the no-show rule off."))
    no_show_window = IntegerField(_l("Counted among the member's last meetups"), default=5,
                                  validators=[DataRequired(),
                                              NumberRange(min=1, max=NO_SHOW_WINDOW_MAX)])
    submit = SubmitField(_l("Save"))

    def to_settings(self) -> BranchSettings:
        return BranchSettings(
            name=self.name.data, description=self.description.data or "",
            join_policy=JoinPolicy(self.join_policy.data), locale=self.locale.data,
            no_show_limit=self.no_show_limit.data, no_show_window=self.no_show_window.data)


class BranchSearchForm(AppForm):
    class Meta:
        csrf = False

    q = StringField(_l("Search branches"), validators=[Optional(), Length(max=80)])


class NearestForm(AppForm):
    """Where to measure from: a typed place, or coordinates (e.g. from the browser)."""

    class Meta:
        csrf = False

    place = StringField(_l("Place"), validators=[Optional(), Length(max=80)],
                        description=_l("A city, e.g. 杭州 or Hangzhou."))
    lat = FloatField(_l("Latitude"), validators=[Optional(), NumberRange(min=-90, max=90)])
    lon = FloatField(_l("Longitude"), validators=[Optional(), NumberRange(min=-180, max=180)])
    limit = IntegerField(_l("How many"), default=10,
                         validators=[Optional(), NumberRange(min=1, max=100)])


class RoleForm(AppForm):
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, validators=[DataRequired()])
    submit = SubmitField(_l("Change role"))


class RemoveMemberForm(AppForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])
    ban = BooleanField(_l("Ban: they cannot rejoin"))
    submit = SubmitField(_l("Remove"))


class ReviewForm(AppForm):
    message = StringField(_l("Message (optional)"), validators=[Optional(), Length(max=500)])
    approve = SubmitField(_l("Approve"))
    decline = SubmitField(_l("Decline"))


class ActionForm(AppForm):
    """A button-only form: it carries the CSRF token for join, leave and similar actions."""

    submit = SubmitField()


class TopicForm(AppForm):
    name = StringField(_l("Topic"), validators=[DataRequired(), Length(max=40)],
                       description=_l("What some meetups are about, e.g. 读书 or hiking."))
    submit = SubmitField(_l("Add topic"))


class VenueForm(AppForm):
    name = StringField(_l("Venue name"), validators=[DataRequired(), Length(max=80)])
    address = StringField(_l("Address"), validators=[DataRequired(), Length(max=200)])
    capacity = IntegerField(_l("Capacity"), validators=[
        DataRequired(message=_l("Capacity must be at least 1.")),
        NumberRange(min=1, max=100000, message=_l("Capacity must be between 1 and 100,000."))])
    latitude = FloatField(_l("Latitude"), validators=LATITUDE,
                          description=_l("Leave empty to use the city centre (approximate)."))
    longitude = FloatField(_l("Longitude"), validators=LONGITUDE)
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=5000)])
    submit = SubmitField(_l("Save venue"))

    def to_input(self) -> VenueInput:
        return VenueInput(name=self.name.data, address=self.address.data,
                          capacity=self.capacity.data, latitude=self.latitude.data,
                          longitude=self.longitude.data, notes=self.notes.data or "")


class AppointLeadForm(AppForm):
    email = StringField(_l("Email of the new lead"), validators=[DataRequired(), Length(max=254)])
    submit = SubmitField(_l("Appoint lead"))
