"""The card form (the page and PUT /api/v1/me/card)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import Length, Optional, ValidationError
from wtforms.widgets import TextInput

from planner.core.forms import AppForm
from planner.ties.models import Visibility
from planner.ties.services import MAX_TAGS, CardInput

VISIBILITY_CHOICES = [
    SelectChoice(Visibility.NONE.value, _l("Nobody (only me)")),
    SelectChoice(Visibility.ATTENDEES.value, _l("People at the meetups I go to")),
    SelectChoice(Visibility.BRANCH.value, _l("Members of my branches")),
]


class TagsField(SelectMultipleField):
    """Free tags: a JSON list of strings, or on the page one text box, comma-separated."""

    widget = TextInput()

    def _value(self) -> str:
        return ", ".join(self.data or [])

    def process_formdata(self, valuelist: list[str]) -> None:
        if len(valuelist) == 1 and "," in valuelist[0]:
            valuelist = valuelist[0].split(",")
        self.data = [value.strip() for value in valuelist if value.strip()]

    def pre_validate(self, form: object) -> None:
        if len(self.data or []) > MAX_TAGS:
            raise ValidationError(_l("At most %(count)d tags.", count=MAX_TAGS))
        if any(len(tag) > 30 for tag in self.data or []):
            raise ValidationError(_l("A tag has at most 30 characters."))


class CardForm(AppForm):
    headline = StringField(_l("What I do"), validators=[Optional(), Length(max=120)],
                           description=_l("e.g. Product designer at a game studio"))
    offer = TextAreaField(_l("What I can offer"), validators=[Optional(), Length(max=500)])
    seek = TextAreaField(_l("What I'm looking for"), validators=[Optional(), Length(max=500)])
    tags = TagsField(_l("Tags"), choices=[], validate_choice=False,
                     description=_l("Comma-separated, e.g. design, 读书, startups"))
    visibility = SelectField(_l("Who may see my card"), choices=VISIBILITY_CHOICES,
                             default=Visibility.NONE.value,
                             description=_l("Never your email or phone number."))
    submit = SubmitField(_l("Save card"))

    def to_input(self) -> CardInput:
        return CardInput(headline=self.headline.data or "", offer=self.offer.data or "",
                         seek=self.seek.data or "", tags=tuple(self.tags.data or ()),
                         visibility=Visibility(self.visibility.data))
