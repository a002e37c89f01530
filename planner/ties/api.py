"""JSON API: my card, and who is at a meetup (shared/API.md, "Ties between people")."""

from __future__ import annotations

from typing import TypedDict

from flask import Response, jsonify
from flask_babel import lazy_gettext as _l

from planner.api import api_user, operation, parse_json
from planner.api.pagination import each, paginated
from planner.core.unit_of_work import writes_during_read
from planner.events.services import get_event
from planner.ops.headers import personal
from planner.ties import services
from planner.ties.forms import CardForm
from planner.ties.models import MemberCard, Visibility


class CardOut(TypedDict):
    headline: str
    offer: str
    seek: str
    tags: list[str]
    visibility: Visibility


class MyCardOut(CardOut):
    connect_code: str


class PersonHereOut(TypedDict):
    user_id: int
    display_name: str
    checked_in: bool
    card: CardOut | None  # null unless its owner shows it


def card_json(card: MemberCard) -> CardOut:
    return {"headline": card.headline, "offer": card.offer, "seek": card.seek,
            "tags": list(card.tags), "visibility": card.visibility}


def my_card_json(card: MemberCard) -> MyCardOut:
    return {**card_json(card), "connect_code": card.connect_code}


@operation("/me/card", "GET", _l("My member card (hidden until I choose who may see it)"),
           response=MyCardOut)
@personal
@writes_during_read
def get_card() -> Response:
    return jsonify(my_card_json(services.own_card(api_user())))


@operation("/me/card", "PUT", _l("Replace my member card and who may see it"), form=CardForm,
           response=MyCardOut, errors=(422,))
@personal
def put_card() -> Response:
    form = parse_json(CardForm)
    return jsonify(my_card_json(services.save_card(api_user(), form.to_input())))


@operation("/events/<id:event_id>/attendees", "GET",
           _l("Who is at a meetup, with the cards they show (its attendees, from its start "
              "until 14 days after; its leads)"), response=list[PersonHereOut], errors=(403, 404),
           paginated=True)
@personal
def attendees(event_id: int) -> Response:
    people = services.who_is_here(api_user(), get_event(event_id))
    return paginated(people, each(person_json), ident=lambda person: person.user.id)


def person_json(person: services.Attendee) -> PersonHereOut:
    return {"user_id": person.user.id, "display_name": person.user.display_name,
            "checked_in": person.checked_in,
            "card": card_json(person.card) if person.card else None}
