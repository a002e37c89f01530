"""JSON API for branches, nearest, memberships and venues (see shared/API.md)."""

from __future__ import annotations

from typing import TypedDict

from flask import Response, jsonify
from flask_babel import lazy_gettext as _l

from branches import services
from branches.forms import (
    BranchForm,
    BranchSearchForm,
    BranchSettingsForm,
    NearestForm,
    RemoveMemberForm,
    ReviewForm,
    RoleForm,
    TopicForm,
    VenueForm,
)
from branches.models import AuditEntry, Branch, JoinPolicy, Membership, Role, Topic, Venue
from planner.api import api_user, created, operation, parse_json, parse_query
from planner.api.pagination import each, paginated
from planner.core.attribution import last_invite_code
from planner.core.errors import InvalidInput
from planner.core.uploads import takes_uploads
from planner.core.urls import public_url
from planner.pictures import services as pictures
from planner.pictures.forms import CoverOut, PictureForm, cover_json, uploaded_picture


class BranchOut(TypedDict):
    slug: str
    name: str
    city: str
    country: str
    timezone: str
    latitude: float
    longitude: float
    member_count: int
    join_policy: JoinPolicy
    url: str
    cover_url: str | None  # null without a cover picture


class TopicOut(TypedDict):
    id: int
    name: str


class BranchSettingsOut(TypedDict):
    name: str
    description: str
    join_policy: JoinPolicy
    locale: str
    no_show_limit: int | None
    no_show_window: int


class NearestBranchOut(BranchOut):
    distance_km: float


class MembershipOut(TypedDict):
    branch: str
    user_id: int
    display_name: str
    role: Role
    status: str
    ban_reason: str | None


class AuditEntryOut(TypedDict):
    action: str
    actor_id: int | None
    subject_id: int | None
    detail: str
    created_at: str


class VenueOut(TypedDict):
    id: int
    branch: str
    name: str
    address: str
    capacity: int
    latitude: float
    longitude: float
    coordinates_approximate: bool
    notes: str


def branch_json(branch: Branch, member_count: int) -> BranchOut:
    return {"slug": branch.slug, "name": branch.name, "city": branch.city,
            "country": branch.country, "timezone": branch.timezone,
            "latitude": branch.latitude, "longitude": branch.longitude,
            "member_count": member_count, "join_policy": branch.join_policy,
            "url": public_url("branches.show", slug=branch.slug),
            "cover_url": pictures.url(branch.cover_digest, external=True)
            if branch.cover_digest else None}


def settings_json(branch: Branch) -> BranchSettingsOut:
    return {"name": branch.name, "description": branch.description,
            "join_policy": branch.join_policy, "locale": branch.locale,
            "no_show_limit": branch.no_show_limit, "no_show_window": branch.no_show_window}


def membership_json(membership: Membership) -> MembershipOut:
    return {"branch": membership.branch.slug, "user_id": membership.user_id,
            "display_name": membership.user.display_name, "role": membership.role,
            "status": membership.status.value, "ban_reason": membership.ban_reason}


def audit_json(entry: AuditEntry) -> AuditEntryOut:
    return {"action": entry.action.value, "actor_id": entry.actor_id,
            "subject_id": entry.subject_id, "detail": entry.detail,
            "created_at": entry.created_at.isoformat()}


def venue_json(venue: Venue) -> VenueOut:
    return {"id": venue.id, "branch": venue.branch.slug, "name": venue.name,
            "address": venue.address, "capacity": venue.capacity, "latitude": venue.latitude,
            "longitude": venue.longitude,
            "coordinates_approximate": venue.coordinates_approximate, "notes": venue.notes}


@operation("/branches", "GET", _l("List and search branches"), query=BranchSearchForm,
           response=list[BranchOut], auth=False, errors=(422,), paginated=True)
def list_branches() -> Response:
    search = parse_query(BranchSearchForm).q.data or ""
    return paginated(services.branch_listing(search),
                     each(lambda s: branch_json(s.branch, s.member_count)),
                     ident=lambda s: s.branch.id)


@operation("/branches", "POST", _l("Create a branch (network admins)"), form=BranchForm,
           response=BranchOut, status=201, errors=(403, 409, 422))
def create_branch() -> tuple[Response, int]:
    branch = services.create_branch(api_user(), parse_json(BranchForm).to_input())
    return created(branch_json(branch, 0))


@operation("/branches/nearest", "GET", _l("Branches nearest to a point"), query=NearestForm,
           response=list[NearestBranchOut], auth=False, errors=(422,))
def nearest_branches() -> Response:
    form = parse_query(NearestForm)
    point = services.point_of(form.place.data, form.lat.data, form.lon.data)
    if point is None:
        message = str(_l("Give lat and lon, or a place."))
        raise InvalidInput(fields={"lat": [message], "lon": [message], "place": [message]})
    summaries = services.nearest_branches(*point, form.limit.data or 10)
    return jsonify([branch_json(s.branch, s.member_count)
                    | {"distance_km": round(s.distance_km or 0.0, 3)} for s in summaries])


@operation("/branches/<slug>", "GET", _l("One branch"), response=BranchOut, auth=False,
           errors=(404,))
def get_branch(slug: str) -> Response:
    branch = services.get_branch(slug)
    return jsonify(branch_json(branch, services.member_count(branch)))


@operation("/branches/<slug>/settings", "GET", _l("A branch's settings (leads)"),
           response=BranchSettingsOut, errors=(403, 404))
def get_settings(slug: str) -> Response:
    branch = services.get_branch(slug)
    services.require_manager(api_user(), branch)
    return jsonify(settings_json(branch))


@operation("/branches/<slug>/settings", "PUT",
           _l("Replace a branch's settings, incl. the no-show rule (leads; "
              "no_show_limit null or left out switches it off)"),
           form=BranchSettingsForm, response=BranchSettingsOut, errors=(403, 404, 422))
def put_settings(slug: str) -> Response:
    branch = services.get_branch(slug)
    services.require_manager(api_user(), branch)
    settings = parse_json(BranchSettingsForm).to_settings()
    return jsonify(settings_json(services.update_branch(api_user(), branch, settings)))


@operation("/branches/<slug>/cover", "PUT",
           _l("Set the branch's cover picture (leads): multipart field `file`, a JPEG, PNG or "
              "WebP of at most 10 MB"), form=PictureForm, response=CoverOut,
           errors=(403, 404, 422))
@takes_uploads("PICTURE_UPLOAD_MAX_CONTENT_LENGTH")
def put_cover(slug: str) -> Response:
    branch = services.get_branch(slug)
    services.require_manager(api_user(), branch)
    picture = uploaded_picture()
    services.set_cover(api_user(), branch, picture)
    return jsonify(cover_json(picture))


@operation("/branches/<slug>/cover", "DELETE", _l("Remove the branch's cover picture (leads)"),
           status=204, errors=(403, 404))
def delete_cover(slug: str) -> tuple[str, int]:
    services.set_cover(api_user(), services.get_branch(slug), None)
    return "", 204


@operation("/branches/<slug>/topics", "GET", _l("The topics a branch's meetups are tagged with"),
           response=list[TopicOut], auth=False, errors=(404,), paginated=True)
def list_topics(slug: str) -> Response:
    return paginated(services.get_branch(slug).topics, each(topic_json))


def topic_json(topic: Topic) -> TopicOut:
    return {"id": topic.id, "name": topic.name}


@operation("/branches/<slug>/topics", "POST", _l("Add a topic to the branch's list (leads)"),
           form=TopicForm, response=TopicOut, status=201, errors=(403, 404, 422))
def add_topic(slug: str) -> tuple[Response, int]:
    branch = services.get_branch(slug)
    services.require_manager(api_user(), branch)
    form = parse_json(TopicForm)
    return created(topic_json(services.add_topic(api_user(), branch, form.name.data)))


@operation("/branches/<slug>/topics/<id:topic_id>", "DELETE",
           _l("Remove a topic from the branch's list and from its meetups (leads)"),
           status=204, errors=(403, 404))
def remove_topic(slug: str, topic_id: int) -> tuple[str, int]:
    services.remove_topic(api_user(), services.get_branch(slug), topic_id)
    return "", 204


@operation("/branches/<slug>/join", "POST", _l("Join a branch (or ask to, if it needs approval)"),
           response=MembershipOut, errors=(403, 404))
def join_branch(slug: str) -> Response:
    membership = services.join_branch(api_user(), services.get_branch(slug), last_invite_code())
    return jsonify(membership_json(membership))


@operation("/branches/<slug>/leave", "POST", _l("Leave a branch"), status=204, errors=(404,))
def leave_branch(slug: str) -> tuple[str, int]:
    services.leave_branch(api_user(), services.get_branch(slug))
    return "", 204


@operation("/branches/<slug>/members", "GET", _l("Members of a branch (leads)"),
           response=list[MembershipOut], errors=(403, 404), paginated=True)
def list_members(slug: str) -> Response:
    branch = services.get_branch(slug)
    services.require_manager(api_user(), branch)
    return paginated(services.memberships(branch), each(membership_json))


@operation("/branches/<slug>/members/<id:user_id>", "PUT",
           _l("Change a member's role (leads; appointing leads: admins)"), form=RoleForm,
           response=MembershipOut, errors=(403, 404, 409, 422))
def set_role(slug: str, user_id: int) -> Response:
    role = Role(parse_json(RoleForm).role.data)
    membership = services.set_role(api_user(), services.get_branch(slug), user_id, role)
    return jsonify(membership_json(membership))


@operation("/branches/<slug>/members/<id:user_id>", "DELETE",
           _l("Remove a member with a reason, optionally banning them"), form=RemoveMemberForm,
           status=204, errors=(403, 404, 422))
def remove_member(slug: str, user_id: int) -> tuple[str, int]:
    form = parse_json(RemoveMemberForm)
    services.remove_member(api_user(), services.get_branch(slug), user_id, form.reason.data,
                           ban=form.ban.data)
    return "", 204


@operation("/branches/<slug>/members/<id:user_id>/review", "POST",
           _l("Approve or decline a join request (leads)"), form=ReviewForm,
           response=MembershipOut, errors=(403, 404, 409), also=(204,))
def review_request(slug: str, user_id: int) -> Response | tuple[str, int]:
    form = parse_json(ReviewForm)
    membership = services.review_join_request(
        api_user(), services.get_branch(slug), user_id, approve=bool(form.approve.data),
        message=form.message.data or "")
    return jsonify(membership_json(membership)) if membership else ("", 204)


@operation("/branches/<slug>/audit", "GET", _l("What happened to memberships (leads)"),
           response=list[AuditEntryOut], errors=(403, 404), paginated=True)
def audit_log(slug: str) -> Response:
    entries = services.audit_log(api_user(), services.get_branch(slug))
    return paginated(entries, each(audit_json))


@operation("/branches/<slug>/venues", "GET", _l("Venues of a branch"),
           response=list[VenueOut], auth=False, errors=(404,), paginated=True)
def list_venues(slug: str) -> Response:
    return paginated(services.venues(services.get_branch(slug)), each(venue_json))


@operation("/branches/<slug>/venues", "POST", _l("Add a venue (leads)"), form=VenueForm,
           response=VenueOut, status=201, errors=(403, 404, 409, 422))
def create_venue(slug: str) -> tuple[Response, int]:
    branch = services.get_branch(slug)
    venue = services.save_venue(api_user(), branch, parse_json(VenueForm).to_input())
    return created(venue_json(venue))


@operation("/venues/<id:venue_id>", "GET", _l("One venue"), response=VenueOut, auth=False,
           errors=(404,))
def get_venue(venue_id: int) -> Response:
    return jsonify(venue_json(services.get_venue(venue_id)))


@operation("/venues/<id:venue_id>", "PUT", _l("Update a venue (leads)"), form=VenueForm,
           response=VenueOut, errors=(403, 404, 409, 422))
def update_venue(venue_id: int) -> Response:
    venue = services.get_venue(venue_id)
    saved = services.save_venue(api_user(), venue.branch, parse_json(VenueForm).to_input(),
                                venue)
    return jsonify(venue_json(saved))
