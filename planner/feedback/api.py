"""JSON API for feedback (shared/API.md, "People, messages and content")."""

from __future__ import annotations

from typing import TypedDict

from flask import Response, jsonify
from flask_babel import lazy_gettext as _l

from planner.api import api_user, operation, parse_json
from planner.feedback import services
from planner.feedback.forms import FeatureForm, FeedbackForm
from planner.feedback.models import Feedback


class AuthorOut(TypedDict):
    user_id: int
    display_name: str


class FeedbackOut(TypedDict):
    id: int
    event_id: int
    rating: int
    comment: str
    may_quote: bool
    featured: bool
    author: AuthorOut
    created_at: str
    updated_at: str


class SummaryOut(TypedDict):
    count: int
    average: float | None
    distribution: dict[str, int]
    items: list[FeedbackOut]


def feedback_json(feedback: Feedback) -> FeedbackOut:
    return {"id": feedback.id, "event_id": feedback.event_id, "rating": feedback.rating,
            "comment": feedback.comment, "may_quote": feedback.may_quote,
            "featured": feedback.is_featured,
            "author": {"user_id": feedback.user_id,
                       "display_name": feedback.user.display_name},
            "created_at": feedback.created_at.isoformat(),
            "updated_at": feedback.updated_at.isoformat()}


def summary_json(summary: services.Summary) -> SummaryOut:
    return {"count": summary.count, "average": summary.average,
            "distribution": {str(rating): n for rating, n in summary.distribution.items()},
            "items": [feedback_json(item) for item in summary.items]}


@operation("/events/<id:event_id>/feedback", "POST",
           _l("Rate a meetup 1–5, with an optional comment (members checked in there, from "
              "its start until 14 days after its end); giving it again edits it"),
           form=FeedbackForm, response=FeedbackOut, status=201, also=(200,),
           errors=(403, 404, 409, 422),
           reasons={403: _l("not_checked_in: the member was not checked in at this meetup"),
                    409: _l("feedback_not_open: the meetup has not started yet; "
                            "feedback_closed: more than 14 days after its end, or cancelled")})
def give(event_id: int) -> tuple[Response, int]:
    form = parse_json(FeedbackForm)
    feedback, created = services.give(api_user(), event_id, form.given())
    return jsonify(feedback_json(feedback)), 201 if created else 200


@operation("/events/<id:event_id>/feedback", "GET",
           _l("A meetup's feedback: count, average, distribution and every item (leads)"),
           response=SummaryOut, errors=(403,))
def read(event_id: int) -> Response:
    _event, summary = services.summary(api_user(), event_id)
    return jsonify(summary_json(summary))


@operation("/feedback/<id:feedback_id>/featured", "PUT",
           _l("Feature a comment as a testimonial on the branch page, or take it down "
              "(leads; only a comment its author lets us quote)"),
           form=FeatureForm, response=FeedbackOut, errors=(403, 409, 422),
           reasons={409: _l("no_consent: the author did not let us quote the comment, or "
                            "there is no comment")})
def feature(feedback_id: int) -> Response:
    form = parse_json(FeatureForm)
    return jsonify(feedback_json(services.set_featured(api_user(), feedback_id,
                                                       bool(form.featured.data))))
