"""Feedback forms, shared by the member's page and the JSON API."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, IntegerField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange

from planner.core.forms import AppForm
from planner.feedback.models import COMMENT_LENGTH, RATINGS
from planner.feedback.services import FeedbackInput


class FeedbackForm(AppForm):
    rating = IntegerField(_l("Rating"), validators=[
        InputRequired(message=_l("Choose a rating from 1 to 5.")),
        NumberRange(min=RATINGS.start, max=RATINGS.stop - 1,
                    message=_l("Choose a rating from 1 to 5."))],
        description=_l("1 (poor) to 5 (great)"))
    comment = TextAreaField(_l("Comment"), validators=[Length(max=COMMENT_LENGTH)],
                            description=_l("Optional: what you liked, what could be better."))
    may_quote = BooleanField(_l("The hosts may quote my comment on the branch's public pages, "
                                "with my name."))
    submit = SubmitField(_l("Send feedback"))

    def given(self) -> FeedbackInput:
        return FeedbackInput(rating=self.rating.data, comment=self.comment.data or "",
                             may_quote=bool(self.may_quote.data))


class FeatureForm(AppForm):
    featured = BooleanField(_l("Featured"), validators=[InputRequired()], description=_l(
        "true to show the comment as a testimonial on the branch page, false to take it down"))
