"""Engagement forms: the segment filter, the bulk action on selected members, the health range."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, SelectChoice, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from planner.core.forms import AppForm, row_id
from planner.engagement.segments import SEGMENT_LABELS
from planner.funnel.forms import RangeForm

QUIET_MONTHS = 3
NUDGE, REMOVE = "nudge", "remove"


class SegmentForm(AppForm):
    """?segment= on the engagement page; empty shows everyone."""

    segment = SelectField(_l("Segment"), default="", choices=[
        SelectChoice("", _l("Everyone")),
        *(SelectChoice(segment.value, label) for segment, label in SEGMENT_LABELS.items())])


class BulkActionForm(AppForm):
    members = SelectMultipleField(_l("Members"), coerce=row_id, validate_choice=False,
                                  validators=[DataRequired(_l("Select at least one member."))])
    action = SelectField(_l("Action"), choices=[
        SelectChoice(NUDGE, _l("Send a nudge by email")),
        SelectChoice(REMOVE, _l("Remove from the branch"))])
    reason = StringField(_l("Reason (for removal)"), validators=[Optional(), Length(max=500)])


class HealthForm(RangeForm):
    """?from=&to= (meetups in range) and ?months= (quiet after this many months)."""

    months = IntegerField(_l("Quiet after (months)"), default=QUIET_MONTHS,
                          validators=[Optional(), NumberRange(min=1, max=60)])

    def quiet_months(self) -> int:
        return self.months.data or QUIET_MONTHS
