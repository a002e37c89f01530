"""The forms a lead writes a message with (the compose pages and the JSON API)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectChoice, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from planner.core.forms import AppForm
from planner.engagement.segments import SEGMENT_LABELS, Segment
from planner.messages.services import (
    BODY_LENGTH,
    MEETUP_AUDIENCE_LABELS,
    MEMBERS,
    SUBJECT_LENGTH,
)


class MessageForm(AppForm):
    subject = StringField(_l("Subject"), validators=[
        DataRequired(message=_l("Give the message a subject.")), Length(max=SUBJECT_LENGTH)])
    body = TextAreaField(_l("Message"), description=_l(
        "Markdown: **bold**, *italic*, [a link](https://…), lists with -. The greeting, the "
        "meetup and an unsubscribe link are added in each member's language."), validators=[
        DataRequired(message=_l("Write the message.")), Length(max=BODY_LENGTH)])


class MeetupMessageForm(MessageForm):
    to = SelectMultipleField(
        _l("To"),
        choices=[SelectChoice(name, label) for name, label in MEETUP_AUDIENCE_LABELS.items()],
        validators=[DataRequired(message=_l("Choose who the message is for."))])

    def audience(self) -> list[str]:
        return list(self.to.data or [])


class BranchMessageForm(MessageForm):
    to = SelectField(
        _l("To"), choices=[SelectChoice(MEMBERS, _l("Every member of the branch"))]
        + [SelectChoice(segment.value, SEGMENT_LABELS[segment]) for segment in Segment],
        validators=[DataRequired(message=_l("Choose who the message is for."))])

    def audience(self) -> str:
        return str(self.to.data)
