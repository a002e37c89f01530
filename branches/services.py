"""Branch rules: creating branches, finding them, memberships and roles, venues.

Services take plain arguments and the acting user, check permissions through
branches.permissions, flush (the edge commits the unit of work), publish domain events
(branches.events) and raise domain errors. They never touch the request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from geopy.geocoders.base import Geocoder
from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from branches import permissions
from branches.events import MemberJoined
from branches.geography import (
    AmbiguousPlace,
    Place,
    UnknownPlace,
    bounding_box,
    distance_km,
    make_geocoder,
    place_from_coordinates,
    region_name,
    resolve_place,
)
from branches.models import (
    AuditAction,
    AuditEntry,
    Branch,
    JoinPolicy,
    Membership,
    MembershipStatus,
    Role,
    Topic,
    Venue,
    twin_key,
)
from planner.accounts.models import User
from planner.accounts.services import get_user
from planner.core.domain_events import publish
from planner.core.errors import Conflict, InvalidInput, NotAllowed, NotFound
from planner.core.extensions import db
from planner.core.timeutil import is_timezone
from planner.pictures import services as pictures
from planner.pictures.models import Picture

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
# Search radii tried in turn for "nearest": small boxes first so the SQL prefilter stays cheap.
NEAREST_RADII_KM = (50.0, 250.0, 1000.0, 5000.0, 20040.0)
# The no-show policy looks back at most this many of a member's past meetups.
NO_SHOW_WINDOW_MAX = 50

class BannedFromBranch(NotAllowed):
    code = "banned"
    default_message = _l("You were removed from this branch and cannot rejoin.")


@dataclass(frozen=True)
class BranchInput:
    name: str
    city: str
    country: str | None = None
    slug: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    timezone: str | None = None
    join_policy: JoinPolicy = JoinPolicy.OPEN
    description: str = ""
    locale: str = "zh_CN"


@dataclass(frozen=True)
class VenueInput:
    name: str
    address: str
    capacity: int
    latitude: float | None = None
    longitude: float | None = None
    notes: str = ""


@dataclass(frozen=True)
class BranchSummary:
    branch: Branch
    member_count: int
    distance_km: float | None = None


# --- geocoding -------------------------------------------------------------------------------

def configured_geocoder() -> Geocoder:
    """The geocoder chosen by the GEOCODER setting, built once per app."""
    cache = current_app.extensions.setdefault("juhui_geocoder", {})
    if "geocoder" not in cache:
        cache["geocoder"] = make_geocoder(
            current_app.config["GEOCODER"], api_key=current_app.config["GEOCODER_API_KEY"],
            user_agent=current_app.config["GEOCODER_USER_AGENT"])
    return cache["geocoder"]


def locate(query: str, country: str | None = None, field: str = "city") -> Place:
    """Resolve a typed place to coordinates, or raise InvalidInput naming `field`."""
    try:
        return resolve_place(query, country, configured_geocoder())
    except UnknownPlace:
        raise InvalidInput(
            _l("We could not find this city. Check the spelling or enter coordinates."),
            fields={field: [str(_l("Unknown city: enter coordinates instead."))]},
        ) from None
    except AmbiguousPlace as ambiguous:
        raise InvalidInput(
            _l("Several places have this name. Pick one, or give the country."),
            fields={field: [str(_l("Several places have this name."))]},
            candidates=[_place_json(p) for p in ambiguous.candidates],
        ) from None


def point_of(place: str | None, latitude: float | None,
             longitude: float | None) -> tuple[float, float] | None:
    """Where a search measures from: given coordinates, else the named place (resolved
    offline, InvalidInput naming `place` when unknown), else None."""
    if latitude is not None and longitude is not None:
        return latitude, longitude
    if place:
        found = locate(place, field="place")
        return found.latitude, found.longitude
    return None


def _place_json(place: Place) -> dict[str, Any]:
    return {"name": place.name, "country": place.country, "latitude": place.latitude,
            "longitude": place.longitude, "timezone": place.timezone,
            "population": place.population,
            "region": region_name(place, get_locale().language if get_locale() else "en")}


# --- branches --------------------------------------------------------------------------------

def get_branch(slug: str) -> Branch:
    branch = db.session.scalar(select(Branch).where(Branch.slug == slug))
    if branch is None:
        raise NotFound(_l("No such branch."))
    return branch


def _member_counts() -> Any:
    return (select(Membership.branch_id, func.count().label("member_count"))
            .where(Membership.status == MembershipStatus.ACTIVE)
            .group_by(Membership.branch_id).subquery())


def _with_member_counts(query: Select[Any]) -> tuple[Select[Any], Any]:
    """Add each branch's active member count as a second column (one aggregate, no N+1)."""
    counts = _member_counts()
    count = func.coalesce(counts.c.member_count, 0)
    return query.add_columns(count).outerjoin(counts, counts.c.branch_id == Branch.id), count


def branch_listing(search: str = "", limit: int | None = None) -> list[BranchSummary]:
    """Branches with their member counts, biggest first, optionally filtered by a search."""
    query, count = _with_member_counts(select(Branch))
    if search.strip():
        pattern = f"%{_escape_like(search.strip())}%"
        query = query.where(or_(Branch.name.ilike(pattern, escape="\\"),
                                Branch.city.ilike(pattern, escape="\\"),
                                Branch.slug.ilike(pattern, escape="\\")))
    query = query.order_by(count.desc(), Branch.name)
    rows = db.session.execute(query.limit(limit)).all()
    return [BranchSummary(branch, count) for branch, count in rows]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def member_count(branch: Branch) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Membership).where(
            Membership.branch_id == branch.id, Membership.status == MembershipStatus.ACTIVE)) or 0


def nearest_branches(latitude: float, longitude: float, limit: int = 10,
                     radius_km: float | None = None) -> list[BranchSummary]:
    """Branches nearest to a point by geodesic distance.

    A bounding box in SQL keeps the candidate set small; the radius grows until enough
    branches are found (or the whole globe is covered).
    """
    radii = [r for r in NEAREST_RADII_KM if radius_km is None or r < radius_km]
    radii.append(radius_km or NEAREST_RADII_KM[-1])
    found: list[BranchSummary] = []
    for radius in radii:
        found = _branches_within(latitude, longitude, radius)
        if len(found) >= limit:
            break
    return found[:limit]


def _branches_within(latitude: float, longitude: float, radius: float) -> list[BranchSummary]:
    box = bounding_box(latitude, longitude, radius)
    lon_test = (or_(Branch.longitude >= box.min_lon, Branch.longitude <= box.max_lon)
                if box.wraps else Branch.longitude.between(box.min_lon, box.max_lon))
    query, _count = _with_member_counts(select(Branch))
    query = query.where(
        Branch.latitude.between(box.min_lat, box.max_lat), lon_test)
    summaries = []
    for branch, count in db.session.execute(query).all():
        distance = distance_km(latitude, longitude, branch.latitude, branch.longitude)
        if distance <= radius:
            summaries.append(BranchSummary(branch, count, distance))
    return sorted(summaries, key=lambda s: (s.distance_km, s.branch.name))


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:64].strip("-")


def _unique_slug(base: str) -> str:
    base = slugify(base) or "branch"
    taken = set(db.session.scalars(select(Branch.slug).where(Branch.slug.like(f"{base}%"))))
    candidate, number = base, 2
    while candidate in taken:
        candidate, number = f"{base}-{number}", number + 1
    return candidate


def _typed_coordinates(latitude: float | None, longitude: float | None) -> bool:
    """Whether both coordinates were typed; refuses one without the other or out of range."""
    if latitude is None and longitude is None:
        return False
    if latitude is None or longitude is None:
        raise InvalidInput(fields={"longitude" if longitude is None else "latitude": [
            str(_l("Give both latitude and longitude, or neither."))]})
    if not -90 <= latitude <= 90:
        raise InvalidInput(fields={"latitude": [str(_l("Latitude must be between -90 and 90."))]})
    if not -180 <= longitude <= 180:
        raise InvalidInput(fields={"longitude": [
            str(_l("Longitude must be between -180 and 180."))]})
    return True


def _placed(data: BranchInput) -> Place:
    """Where the branch is: typed coordinates win; otherwise the city is resolved."""
    if _typed_coordinates(data.latitude, data.longitude):
        return place_from_coordinates(data.latitude, data.longitude)  # type: ignore[arg-type]
    return locate(data.city, data.country)


def create_branch(actor: Any, data: BranchInput) -> Branch:
    if not permissions.can_create_branch(actor):
        raise NotAllowed(_l("Only network admins create branches."))
    place = _placed(data)
    timezone = data.timezone or place.timezone
    if not is_timezone(timezone):
        raise InvalidInput(fields={"timezone": [str(_l("Unknown timezone."))]})
    if data.slug and not SLUG_PATTERN.match(data.slug):
        raise InvalidInput(fields={"slug": [str(_l(
            "Use lowercase letters, digits and hyphens."))]})
    slug = data.slug or _unique_slug(place.name or data.city)
    name, city, country = _spaced(data.name), _spaced(data.city), (
        data.country or place.country).upper()
    _refuse_twin(name, city, country)
    branch = Branch(slug=slug, name=name, city=city, country=country, timezone=timezone,
                    latitude=data.latitude if data.latitude is not None else place.latitude,
                    longitude=data.longitude if data.longitude is not None else place.longitude,
                    join_policy=data.join_policy, description=data.description,
                    locale=data.locale)
    try:
        with db.session.begin_nested():
            db.session.add(branch)
    except IntegrityError:  # a concurrent request won: say which rule it broke
        _refuse_twin(name, city, country)
        message = _l("A branch with this address (slug) already exists.")
        raise Conflict(message, fields={"slug": [str(message)]}) from None
    return branch


def _spaced(text: str) -> str:
    """Spaces collapsed: "Suzhou  Chapter " and "Suzhou Chapter" are one name."""
    return " ".join(text.split())


def _refuse_twin(name: str, city: str, country: str, *, other_than: Branch | None = None) -> None:
    """One branch per name in a city (case and spacing ignored), as the unique constraint
    uq_branches_name_city also insists."""
    query = select(Branch.id).where(Branch.name_key == twin_key(name),
                                    Branch.city_key == twin_key(city),
                                    Branch.country == country)
    if other_than is not None:
        query = query.where(Branch.id != other_than.id)
    if db.session.scalar(query.limit(1)) is not None:
        raise InvalidInput(fields={"name": [str(_l(
            "%(city)s already has a branch called %(name)s.", city=city, name=name))]})


@dataclass(frozen=True)
class BranchSettings:
    name: str
    description: str
    join_policy: JoinPolicy
    locale: str
    no_show_limit: int | None = None  # None: the no-show policy is off
    no_show_window: int = 5


def _check_no_show_policy(settings: BranchSettings) -> None:
    limit, window = settings.no_show_limit, settings.no_show_window
    if not 1 <= window <= NO_SHOW_WINDOW_MAX:
        raise InvalidInput(fields={"no_show_window": [str(_l(
            "Count between 1 and %(max)d past meetups.", max=NO_SHOW_WINDOW_MAX))]})
    if limit is not None and not 1 <= limit <= window:
        raise InvalidInput(fields={"no_show_limit": [str(_l(
            "Between 1 and the number of meetups counted (%(window)d), or empty for off.",
            window=window))]})


def update_branch(actor: Any, branch: Branch, settings: BranchSettings) -> Branch:
    require_manager(actor, branch)
    _check_no_show_policy(settings)
    _refuse_twin(_spaced(settings.name), branch.city, branch.country, other_than=branch)
    branch.name, branch.description = _spaced(settings.name), settings.description
    branch.join_policy, branch.locale = settings.join_policy, settings.locale
    branch.no_show_limit, branch.no_show_window = settings.no_show_limit, settings.no_show_window
    db.session.flush()
    return branch


def set_cover(actor: Any, branch: Branch, picture: Picture | None) -> None:
    """The picture at the top of the branch page (None takes it away)."""
    require_manager(actor, branch)
    replaced, branch.cover_digest = branch.cover_digest, picture.digest if picture else None
    if replaced != branch.cover_digest:
        pictures.forget_if_unused(replaced)


def require_manager(actor: Any, branch: Branch) -> None:
    if not permissions.can_manage_branch(actor, branch):
        raise NotAllowed(_l("Only leads of this branch can do this."))


# --- memberships -----------------------------------------------------------------------------

def membership_of(user: Any, branch: Branch) -> Membership | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(select(Membership).where(
        Membership.branch_id == branch.id, Membership.user_id == user.id))


def _audit(branch: Branch, action: AuditAction, actor: Any, subject_id: int | None,
           detail: str = "") -> None:
    db.session.add(AuditEntry(branch_id=branch.id, action=action, detail=detail[:500],
                              actor_id=getattr(actor, "id", None), subject_id=subject_id))


def join_branch(user: Any, branch: Branch, invite_code: str | None = None) -> Membership:
    """Join an open branch, or ask to join one that needs approval. Repeating is harmless.
    `invite_code` names the invite link that brought them, if the edge knows one."""
    if not permissions.can_join(user):
        raise NotAllowed(_l("Log in to join a branch."))
    membership = _locked_membership(branch, user.id)
    if membership is not None:
        if membership.status is MembershipStatus.BANNED:
            raise BannedFromBranch()
        return membership
    pending = branch.join_policy is JoinPolicy.APPROVAL
    membership = Membership(branch_id=branch.id, user_id=user.id, role=Role.MEMBER,
                            status=MembershipStatus.PENDING if pending else MembershipStatus.ACTIVE)
    try:
        with db.session.begin_nested():
            db.session.add(membership)
    except IntegrityError:  # a concurrent join of the same person won the race
        return _membership_or_404(branch, user.id)
    _audit(branch, AuditAction.REQUESTED if pending else AuditAction.JOINED, user, user.id)
    publish(db.session, MemberJoined(membership_id=membership.id, branch_id=branch.id,
                                     user_id=user.id, invite_code=invite_code))
    return membership


def leave_branch(user: Any, branch: Branch) -> None:
    membership = membership_of(user, branch)
    if membership is None or membership.status is MembershipStatus.BANNED:
        raise NotFound(_l("You are not a member of this branch."))
    db.session.delete(membership)
    _audit(branch, AuditAction.LEFT, user, user.id)
    db.session.flush()


def _locked_membership(branch: Branch, user_id: int) -> Membership | None:
    return db.session.scalar(select(Membership).where(
        Membership.branch_id == branch.id, Membership.user_id == user_id).with_for_update())


def _membership_or_404(branch: Branch, user_id: int) -> Membership:
    membership = _locked_membership(branch, user_id)
    if membership is None:
        raise NotFound(_l("This person is not a member of this branch."))
    return membership


def review_join_request(actor: Any, branch: Branch, user_id: int, *, approve: bool,
                        message: str = "") -> Membership | None:
    require_manager(actor, branch)
    membership = _membership_or_404(branch, user_id)
    if membership.status is not MembershipStatus.PENDING:
        raise Conflict(_l("There is no pending request from this person."))
    if approve:
        membership.status = MembershipStatus.ACTIVE
        _audit(branch, AuditAction.APPROVED, actor, user_id, message)
    else:
        db.session.delete(membership)
        _audit(branch, AuditAction.DECLINED, actor, user_id, message)
    db.session.flush()
    return membership if approve else None


def set_role(actor: Any, branch: Branch, user_id: int, role: Role) -> Membership:
    """Leads make members staff or back; only admins appoint or demote leads.

    An admin appointing a lead who is not yet a member makes them one.
    """
    require_manager(actor, branch)
    membership = _locked_membership(branch, user_id)
    touches_lead = role is Role.LEAD or (membership is not None and membership.role is Role.LEAD)
    if touches_lead and not permissions.can_appoint_lead(actor, branch):
        raise NotAllowed(_l("Only network admins appoint or demote leads."))
    if membership is None:
        if role is not Role.LEAD:
            raise NotFound(_l("This person is not a member of this branch."))
        get_user(user_id)
        membership = Membership(branch_id=branch.id, user_id=user_id)
        db.session.add(membership)
    if membership.status is MembershipStatus.BANNED:
        raise Conflict(_l("This person is banned from the branch; lift the ban first."))
    old_role = membership.role
    membership.role, membership.status = role, MembershipStatus.ACTIVE
    _audit(branch, AuditAction.ROLE_CHANGED, actor, user_id, f"{old_role or '-'} → {role}")
    db.session.flush()
    return membership


def remove_member(actor: Any, branch: Branch, user_id: int, reason: str, *,
                  ban: bool = False) -> None:
    """Remove a member with a reason; a ban also keeps them from rejoining."""
    require_manager(actor, branch)
    if not reason.strip():
        raise InvalidInput(fields={"reason": [str(_l("Give a reason."))]})
    membership = _membership_or_404(branch, user_id)
    if membership.role is Role.LEAD and not permissions.can_appoint_lead(actor, branch):
        raise NotAllowed(_l("Only network admins remove a lead."))
    if ban:
        membership.status, membership.ban_reason = MembershipStatus.BANNED, reason.strip()
        membership.role = Role.MEMBER
    else:
        db.session.delete(membership)
    _audit(branch, AuditAction.BANNED if ban else AuditAction.REMOVED, actor, user_id,
           reason.strip())
    db.session.flush()


def lift_ban(actor: Any, branch: Branch, user_id: int) -> None:
    require_manager(actor, branch)
    membership = _membership_or_404(branch, user_id)
    if membership.status is not MembershipStatus.BANNED:
        raise Conflict(_l("This person is not banned."))
    db.session.delete(membership)
    _audit(branch, AuditAction.UNBANNED, actor, user_id)
    db.session.flush()


def memberships(branch: Branch, status: MembershipStatus | None = None) -> list[Membership]:
    query = (select(Membership).join(Membership.user).options(joinedload(Membership.user))
             .where(Membership.branch_id == branch.id).order_by(User.display_name))
    if status is not None:
        query = query.where(Membership.status == status)
    return list(db.session.scalars(query))


def leads(branch: Branch) -> list[User]:
    """Who hosts the branch's meetups, as a meetup page shows them."""
    return list(db.session.scalars(
        select(User).join(Membership, Membership.user_id == User.id)
        .where(Membership.branch_id == branch.id, Membership.role == Role.LEAD,
               Membership.status == MembershipStatus.ACTIVE)
        .order_by(Membership.created_at)))


def audit_log(actor: Any, branch: Branch, limit: int = 200) -> list[AuditEntry]:
    if not permissions.can_view_audit_log(actor, branch):
        raise NotAllowed(_l("Only leads of this branch can see its log."))
    return list(db.session.scalars(
        select(AuditEntry).options(joinedload(AuditEntry.actor), joinedload(AuditEntry.subject))
        .where(AuditEntry.branch_id == branch.id)
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()).limit(limit)))


# --- venues ----------------------------------------------------------------------------------

def get_venue(venue_id: int) -> Venue:
    venue = db.session.get(Venue, venue_id)
    if venue is None:
        raise NotFound(_l("No such venue."))
    return venue


def venues(branch: Branch) -> list[Venue]:
    return list(db.session.scalars(
        select(Venue).where(Venue.branch_id == branch.id).order_by(Venue.name)))


def _venue_position(branch: Branch, data: VenueInput) -> tuple[float, float, bool]:
    """Coordinates typed by hand, else geocoded address, else the city centre (approximate)."""
    if _typed_coordinates(data.latitude, data.longitude):
        return data.latitude, data.longitude, False  # type: ignore[return-value]
    if current_app.config["GEOCODER"] != "offline":
        try:
            place = resolve_place(f"{data.address}, {branch.city}", branch.country,
                                  configured_geocoder())
            return place.latitude, place.longitude, False
        except (UnknownPlace, AmbiguousPlace):
            pass
    return branch.latitude, branch.longitude, True


def save_venue(actor: Any, branch: Branch, data: VenueInput,
               venue: Venue | None = None) -> Venue:
    """Create a venue, or update `venue`, for the branch."""
    if not permissions.can_manage_venues(actor, branch):
        raise NotAllowed(_l("Only leads of this branch manage its venues."))
    if data.capacity < 1:
        raise InvalidInput(fields={"capacity": [str(_l("Capacity must be at least 1."))]})
    latitude, longitude, approximate = _venue_position(branch, data)
    venue = venue or Venue(branch_id=branch.id)
    if venue.branch_id != branch.id:
        raise NotFound(_l("No such venue."))
    venue.name, venue.address = data.name.strip(), data.address.strip()
    venue.capacity = data.capacity
    venue.latitude, venue.longitude = latitude, longitude
    venue.coordinates_approximate, venue.notes = approximate, data.notes
    try:
        with db.session.begin_nested():
            db.session.add(venue)
    except IntegrityError:
        message = _l("This branch already has a venue with this name.")
        raise Conflict(message, fields={"name": [str(message)]}) from None
    return venue


# --- topics ----------------------------------------------------------------------------------

MAX_TOPICS = 40  # enough for any branch's subjects, few enough to show as one row of chips


def add_topic(actor: Any, branch: Branch, name: str) -> Topic:
    """Add a subject to the branch's list; "Hiking" and " hiking " are the same one."""
    require_manager(actor, branch)
    name = _spaced(name)
    if any(topic.name_key == twin_key(name)[:40] for topic in branch.topics):
        raise InvalidInput(fields={"name": [str(_l("The branch has this topic already."))]})
    if len(branch.topics) >= MAX_TOPICS:
        raise InvalidInput(fields={"name": [str(_l("A branch has at most %(count)d topics.",
                                                   count=MAX_TOPICS))]})
    topic = Topic(branch=branch, name=name)
    db.session.add(topic)
    db.session.flush()
    return topic


def remove_topic(actor: Any, branch: Branch, topic_id: int) -> None:
    """Take a subject off the list, and off every meetup tagged with it."""
    require_manager(actor, branch)
    topic = db.session.get(Topic, topic_id)
    if topic is None or topic.branch_id != branch.id:
        raise NotFound(_l("No such topic."))
    db.session.delete(topic)
    db.session.flush()
