"""Calendar feeds: which meetups each feed lists, their validators, and personal feed tokens.

A feed lists published meetups that ended at most PAST_WINDOW ago, and cancelled ones for
CANCELLED_KEPT_FOR after the cancellation (then they drop out, which removes them from
subscribed calendars). Drafts never appear. Validators (ETag, Last-Modified) come from one
aggregate query, so answering 304 never loads or serialises a meetup.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVarTuple

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, and_, case, false, func, or_, select
from sqlalchemy.orm import joinedload

from branches.models import Branch, Membership, MembershipStatus, Venue
from planner.accounts.models import User
from planner.calendars import ics
from planner.calendars.ics import FeedEntry
from planner.core.extensions import db
from planner.events.models import Event, EventStatus
from planner.registrations.models import Registration, RegistrationStatus

PAST_WINDOW = timedelta(days=90)
CANCELLED_KEPT_FOR = timedelta(days=30)
# RSVPs that put a meetup in the member's own feed; waitlisted ones show as tentative.
FEED_RSVPS = (RegistrationStatus.GOING, RegistrationStatus.WAITLISTED)
# Bump when the builder's output changes, so every ETag changes with it.
FORMAT_VERSION = "1"
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{20,64}")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FEED_CACHE_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class Validator:
    """What a conditional GET is compared with."""

    etag: str
    last_modified: datetime


# --- personal feed tokens --------------------------------------------------------------------

def feed_token(user: User) -> str:
    """The member's calendar token, made on first use."""
    return user.calendar_token or rotate_token(user)


def rotate_token(user: User) -> str:
    """A new token: the old feed URL stops working at once."""
    user.calendar_token = secrets.token_urlsafe(32)
    db.session.flush()
    return user.calendar_token


def user_for_token(token: str) -> User | None:
    if not TOKEN_SHAPE.fullmatch(token):
        return None
    return db.session.scalar(select(User).where(User.calendar_token == token))


def set_includes_branches(user: User, include: bool) -> None:
    user.calendar_includes_branches = include
    db.session.flush()


# --- which meetups a feed lists --------------------------------------------------------------

def _listed(now: datetime) -> ColumnElement[bool]:
    return and_(Event.ends_at >= now - PAST_WINDOW,
                or_(Event.status == EventStatus.PUBLISHED,
                    and_(Event.status == EventStatus.CANCELLED,
                         Event.updated_at >= now - CANCELLED_KEPT_FOR)))


def _of_followed_branches(user: User) -> ColumnElement[bool]:
    if not user.calendar_includes_branches:
        return false()
    followed = select(Membership.branch_id).where(Membership.user_id == user.id,
                                                  Membership.status == MembershipStatus.ACTIVE)
    return Event.branch_id.in_(followed)


Columns = TypeVarTuple("Columns")


def _with_places(query: Select[*Columns]) -> Select[*Columns]:
    return query.options(joinedload(Event.venue), joinedload(Event.branch)).order_by(
        Event.starts_at, Event.id)


def branch_entries(branch: Branch, now: datetime) -> list[FeedEntry]:
    query = select(Event).where(Event.branch_id == branch.id, _listed(now))
    return [FeedEntry(event) for event in db.session.scalars(_with_places(query))]


def personal_entries(user: User, now: datetime) -> list[FeedEntry]:
    rsvp = and_(Registration.event_id == Event.id, Registration.user_id == user.id,
                Registration.status.in_(FEED_RSVPS))
    query = (select(Event, Registration.status, Registration.updated_at)
             .outerjoin(Registration, rsvp)
             .where(_listed(now), or_(Registration.id.is_not(None), _of_followed_branches(user))))
    return [FeedEntry(event, status is RegistrationStatus.WAITLISTED, changed_at)
            for event, status, changed_at in db.session.execute(_with_places(query))]


# --- the feeds -------------------------------------------------------------------------------

def branch_feed(branch: Branch, now: datetime) -> bytes:
    """The branch's public feed, in the branch's language."""
    return ics.calendar_ics(branch_entries(branch, now), branch.locale,
                            name=lambda: _("%(branch)s · Juhui", branch=branch.name))


def personal_feed(user: User, now: datetime) -> bytes:
    """The member's own feed, in the member's language."""
    return ics.calendar_ics(personal_entries(user, now),
                            user.locale or current_app.config["BABEL_DEFAULT_LOCALE"],
                            name=lambda: _("My meetups · Juhui"))


def event_file(event: Event) -> bytes:
    return ics.event_ics(event)


def published_event(event_id: int) -> Event | None:
    """A meetup whose .ics anyone may download: published or cancelled, never a draft."""
    event = db.session.scalar(_with_places(select(Event).where(
        Event.id == event_id, Event.status != EventStatus.DRAFT)))
    return event


def cached_body(validator: Validator, build: Callable[[], bytes]) -> bytes:
    """The file's bytes, built once per ETag. The ETag stands for exactly these bytes, so a
    warm request costs the validator's aggregate query and no loading or serialising."""
    return ics.app_cache("feeds", FEED_CACHE_BYTES, weigh=len).get(validator.etag, build)


# --- validators ------------------------------------------------------------------------------

def _validator(fingerprint: Sequence[Any], moments: Sequence[datetime | None]) -> Validator:
    text = "|".join(str(part) for part in (FORMAT_VERSION, *fingerprint))
    etag = hashlib.sha256(text.encode()).hexdigest()[:32]
    last = max((m.astimezone(UTC) for m in moments if m is not None), default=EPOCH)
    return Validator(etag, last.replace(microsecond=0))


def _dropped_out(now: datetime) -> tuple[Any, Any]:
    """When a meetup last left the feed by time (not by an edit): Last-Modified must move
    forward then too, or a client that only sends If-Modified-Since would keep the old copy."""
    out_of_window = func.max(case((Event.ends_at < now - PAST_WINDOW, Event.ends_at)))
    cancel_expired = func.max(case((and_(Event.status == EventStatus.CANCELLED,
                                         Event.updated_at < now - CANCELLED_KEPT_FOR),
                                    Event.updated_at)))
    return out_of_window, cancel_expired


def _shifted(moment: datetime | None, delta: timedelta) -> datetime | None:
    return moment + delta if moment is not None else None


def _feed_aggregates(in_feed: ColumnElement[bool], now: datetime) -> list[Any]:
    out_of_window, cancel_expired = _dropped_out(now)
    return [func.count(case((in_feed, Event.id))), func.sum(case((in_feed, Event.id))),
            func.max(case((in_feed, Event.sequence))),
            func.max(case((in_feed, Venue.updated_at))),
            func.max(case((in_feed, Branch.updated_at))),
            func.max(Event.updated_at), out_of_window, cancel_expired]


def branch_validator(branch: Branch, now: datetime, site: str) -> Validator:
    """ETag and Last-Modified of the branch feed, from one aggregate query."""
    row = db.session.execute(
        select(*_feed_aggregates(_listed(now), now)).select_from(Event)
        .join(Branch, Event.branch_id == Branch.id)
        .outerjoin(Venue, Event.venue_id == Venue.id)
        .where(Event.branch_id == branch.id)).one()
    count, total, sequence, venue_at, _zone_at, changed, out_of_window, cancel_expired = row
    return _validator(
        ("branch", branch.id, branch.updated_at, branch.locale, site, count, total, sequence,
         venue_at, changed),
        (branch.updated_at, venue_at, changed, _shifted(out_of_window, PAST_WINDOW),
         _shifted(cancel_expired, CANCELLED_KEPT_FOR)))


def personal_validator(user: User, now: datetime, site: str) -> Validator:
    """ETag and Last-Modified of the member's feed, from one aggregate query."""
    mine = and_(Registration.event_id == Event.id, Registration.user_id == user.id)
    followed = _of_followed_branches(user)
    in_feed = and_(_listed(now), or_(Registration.status.in_(FEED_RSVPS), followed))
    waiting = func.sum(case((and_(in_feed, Registration.status == RegistrationStatus.WAITLISTED),
                             Event.id)))
    row = db.session.execute(
        select(*_feed_aggregates(in_feed, now), waiting, func.max(Registration.updated_at))
        .select_from(Event).join(Branch, Event.branch_id == Branch.id)
        .outerjoin(Venue, Event.venue_id == Venue.id).outerjoin(Registration, mine)
        .where(or_(Registration.id.is_not(None), followed))).one()
    (count, total, sequence, venue_at, zone_at, changed, out_of_window, cancel_expired,
     waiting_total, rsvp_changed) = row
    return _validator(
        ("personal", user.id, user.calendar_token, user.locale,
         user.calendar_includes_branches, site, count, total, sequence, venue_at, zone_at,
         changed, waiting_total, rsvp_changed),
        (venue_at, zone_at, changed, rsvp_changed, user.updated_at,
         _shifted(out_of_window, PAST_WINDOW), _shifted(cancel_expired, CANCELLED_KEPT_FOR)))


def event_validator(event: Event, site: str) -> Validator:
    venue_at = event.venue.updated_at if event.venue else None
    return _validator(
        ("event", event.id, event.sequence, event.updated_at, venue_at,
         event.branch.updated_at, event.branch.locale, site),
        (event.updated_at, venue_at, event.branch.updated_at))
