"""JSON API for invite links and funnels (see shared/API.md)."""

from __future__ import annotations

from typing import TypedDict

from flask import Response, jsonify
from flask_babel import lazy_gettext as _l

from branches.services import get_branch
from planner.api import api_user, created, operation, parse_json, parse_query
from planner.core.unit_of_work import writes_during_read
from planner.events.services import get_event
from planner.funnel import services
from planner.funnel.forms import InviteLinkForm, RangeForm
from planner.funnel.models import InviteLink
from planner.funnel.report import STAGES, Figures, Funnel
from planner.funnel.views import invite_url


class InviteLinkOut(TypedDict):
    id: int
    code: str
    url: str
    label: str
    channel: str
    event_id: int | None
    revoked_at: str | None


class StageOut(TypedDict):
    name: str
    count: int | None


class ChannelOut(TypedDict):
    channel: str
    reached: int | None
    registered: int
    attended: int
    returned: int


class GuestsOut(TypedDict):
    registered: int
    attended: int


class FunnelOut(TypedDict):
    stages: list[StageOut]
    by_channel: list[ChannelOut]
    guests: GuestsOut
    no_show_rate: float | None
    first_timer_share: float | None


def link_json(link: InviteLink) -> InviteLinkOut:
    return {"id": link.id, "code": link.code, "url": invite_url(link), "label": link.label,
            "channel": link.channel.value, "event_id": link.event_id,
            "revoked_at": link.revoked_at.isoformat() if link.revoked_at else None}


def _channel_json(channel: str, figures: Figures) -> ChannelOut:
    return {"channel": channel, "reached": figures.reached, "registered": figures.registered,
            "attended": figures.attended, "returned": figures.returned}


def funnel_json(result: Funnel) -> FunnelOut:
    overall = result.overall
    return {"stages": [{"name": name, "count": overall.stage(name)} for name in STAGES],
            "by_channel": [_channel_json(channel, figures)
                           for channel, figures in result.by_channel],
            "guests": {"registered": overall.guests_registered,
                       "attended": overall.guests_attended},
            "no_show_rate": overall.no_show_rate,
            "first_timer_share": overall.first_timer_share}


@operation("/events/<id:event_id>/invite-links", "POST",
           _l("Create an invite link for a meetup (leads of its branch)"), form=InviteLinkForm,
           response=InviteLinkOut, status=201, errors=(403, 404, 422))
def create_link(event_id: int) -> tuple[Response, int]:
    event = get_event(event_id)
    form = parse_json(InviteLinkForm)
    link = services.create_link(api_user(), event.branch, form.label.data, form.channel.data,
                                event)
    return created(link_json(link))


@operation("/invite-links/<id:link_id>/revoke", "POST",
           _l("Withdraw an invite link: it stops counting and crediting (leads)"),
           response=InviteLinkOut, errors=(403, 404))
def revoke_link(link_id: int) -> Response:
    return jsonify(link_json(services.revoke_link(api_user(), link_id)))


@operation("/events/<id:event_id>/funnel", "GET",
           _l("A meetup's funnel: reached, registered, attended, returned, by channel (leads)"),
           response=FunnelOut, errors=(403, 404))
def event_funnel(event_id: int) -> Response:
    return jsonify(funnel_json(services.meetup_funnel(api_user(), get_event(event_id))))


@operation("/branches/<slug>/funnel", "GET",
           _l("A branch's funnel over meetups starting from one date to another (leads)"),
           query=RangeForm, response=FunnelOut, errors=(403, 404, 422))
@writes_during_read
def branch_funnel(slug: str) -> Response:
    branch = get_branch(slug)
    start, end = parse_query(RangeForm).dates(branch.timezone)
    return jsonify(funnel_json(services.branch_funnel(api_user(), branch, start, end)))


@operation("/network/funnel", "GET",
           _l("The whole network's funnel over meetups starting from one date to another "
              "(admins)"),
           query=RangeForm, response=FunnelOut, errors=(403, 422))
@writes_during_read
def network_funnel() -> Response:
    start, end = parse_query(RangeForm).dates()
    return jsonify(funnel_json(services.network_funnel(api_user(), start, end)))
