"""Calendar feeds: which meetups each feed lists, their validators, and personal feed tokens.

A feed lists published meetups that ended at most PAST_WINDOW ago, and cancelled ones for
CANCELLED_KEPT_FOR after the cancellation (then they drop out, which removes them from
subscribed calendars). Drafts never appear. Validators (ETag, Last-Modified) come from the
feeds' kept rows (calendar_feeds, bumped by every write that changes a feed: see
planner.calendars.validators), so answering 304 reads no meetup at all: one query for a
branch feed (the branch with its row), two for a member's (the member by token, then their
rows with their RSVPs' count and last change).
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
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload

from branches.models import Branch, Membership, MembershipStatus
from planner.accounts.models import User
from planner.calendars import (
    ics,
    validators,  # noqa: F401  (keeps the rows in step)
)
from planner.calendars.ics import FeedEntry
from planner.calendars.models import CalendarFeed
from planner.core.errors import NotFound
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

def branch_feed(branch: Branch, now: datetime, entries: Entries | None = None) -> bytes:
    """The branch's public feed, in the branch's language."""
    return ics.calendar_ics((entries or (lambda: branch_entries(branch, now)))(), branch.locale,
                            name=lambda: _("%(branch)s · Juhui", branch=branch.name))


def personal_feed(user: User, now: datetime, entries: Entries | None = None) -> bytes:
    """The member's own feed, in the member's language."""
    return ics.calendar_ics((entries or (lambda: personal_entries(user, now)))(),
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


def _shifted(moment: datetime | None, delta: timedelta) -> datetime | None:
    return moment + delta if moment is not None else None


FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)  # valid_until of a feed the clock never changes


def branch_and_feed(slug: str) -> tuple[Branch, CalendarFeed | None]:
    """The branch and its feed's kept validator, in one query."""
    row = db.session.execute(
        select(Branch, CalendarFeed).outerjoin(CalendarFeed, CalendarFeed.branch_id == Branch.id)
        .where(Branch.slug == slug)).first()
    if row is None:
        raise NotFound(_l("No such branch."))
    return row[0], row[1]


Entries = Callable[[], list[FeedEntry]]


def _next_change(entries: list[FeedEntry]) -> datetime:
    """When the feed of `entries` next changes by time alone: its first meetup leaving the
    window, or its first cancelled one leaving the feed."""
    moments = [entry.event.ends_at + PAST_WINDOW for entry in entries]
    moments += [entry.event.updated_at + CANCELLED_KEPT_FOR for entry in entries
                if entry.event.status is EventStatus.CANCELLED]
    return min(moments, default=FAR_FUTURE)


def _current(feed: CalendarFeed | None, key: Any, owner_id: int, entries: Entries,
             now: datetime, since: datetime) -> CalendarFeed:
    """The kept validator, refreshed (in the request's unit of work) when a write bumped it or
    the clock passed the moment its feed changes by time. A bump that lands meanwhile wins: the
    refresh only writes over the version it read."""
    if feed is not None and feed.valid_until is not None and now < feed.valid_until:
        return feed
    until = _next_change(entries())  # the listing a 200 after the write needs anyway
    if feed is None:
        db.session.execute(_upsert().values(
            {key.key: owner_id, "version": 1, "changed_at": since, "valid_until": until})
            .on_conflict_do_nothing())
        return CalendarFeed(**{key.key: owner_id}, version=1, changed_at=since,
                            valid_until=until)
    changed = feed.changed_at
    if feed.valid_until is not None:  # the clock passed it: what was shown left the feed then
        changed = max(changed, feed.valid_until)
    db.session.execute(update(CalendarFeed).where(
        CalendarFeed.id == feed.id, CalendarFeed.version == feed.version)
        .values(valid_until=until, changed_at=changed))
    return CalendarFeed(**{key.key: owner_id}, version=feed.version, changed_at=changed,
                        valid_until=until)


def _upsert() -> Any:
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(CalendarFeed)


def branch_validator(branch: Branch, feed: CalendarFeed | None, now: datetime, site: str,
                     entries: Entries) -> Validator:
    """ETag and Last-Modified of the branch feed, from its kept row: no meetup is read unless
    a write or the clock changed the feed since the row was last brought up to date (then
    `entries`, the feed's listing, is read: once, for the body too)."""
    kept = _current(feed, CalendarFeed.branch_id, branch.id, entries, now, now)
    return _validator(
        ("branch", branch.id, branch.updated_at, branch.locale, site, kept.version,
         kept.valid_until),
        (branch.updated_at, kept.changed_at))


def personal_validator(user: User, now: datetime, site: str, entries: Entries) -> Validator:
    """ETag and Last-Modified of the member's feed, from one query: the member's kept row (and
    those of the branches the feed follows) with the count and last change of their RSVPs."""
    rsvps = (select(func.count(Registration.id).label("count"),
                    func.sum(Registration.id).label("total"),
                    func.max(Registration.updated_at).label("changed"))
             .where(Registration.user_id == user.id).subquery())
    followed = select(Membership.branch_id).where(Membership.user_id == user.id,
                                                  Membership.status == MembershipStatus.ACTIVE)
    mine = CalendarFeed.user_id == user.id
    feeds = (or_(mine, CalendarFeed.branch_id.in_(followed)) if user.calendar_includes_branches
             else mine)
    rows = db.session.execute(
        select(rsvps.c.count, rsvps.c.total, rsvps.c.changed, CalendarFeed)
        .select_from(rsvps).outerjoin(CalendarFeed, feeds)
        .order_by(CalendarFeed.branch_id, CalendarFeed.id)).all()
    count, total, rsvp_changed = rows[0][:3]
    kept = [row[3] for row in rows if row[3] is not None]
    own = next((feed for feed in kept if feed.user_id == user.id), None)
    branches = [_branch_current(feed, now) for feed in kept if feed.branch_id is not None]
    if own is not None and any(feed.version != seen for feed, seen in branches):
        own = _expired(own)  # a followed branch's feed changed: so may the first to leave
    own = _current(own, CalendarFeed.user_id, user.id, entries, now, now)
    return _validator(
        ("personal", user.id, user.calendar_token, user.locale, user.updated_at,
         user.calendar_includes_branches, site, count, total, rsvp_changed, own.version,
         own.valid_until, *((feed.branch_id, feed.version, feed.valid_until)
                            for feed, _seen in branches)),
        (user.updated_at, rsvp_changed, own.changed_at,
         *(feed.changed_at for feed, _seen in branches)))


def _branch_current(feed: CalendarFeed, now: datetime) -> tuple[CalendarFeed, int]:
    """A followed branch's row brought up to date, with the version it had (a refresh of a
    row whose clock ran out keeps the version; a bumped one is told by valid_until None)."""
    seen = feed.version if feed.valid_until is not None else -1
    assert feed.branch_id is not None
    branch_id = feed.branch_id

    def listed() -> list[FeedEntry]:
        query = select(Event).where(Event.branch_id == branch_id, _listed(now))
        return [FeedEntry(event) for event in db.session.scalars(_with_places(query))]

    return _current(feed, CalendarFeed.branch_id, branch_id, listed, now, now), seen


def _expired(feed: CalendarFeed) -> CalendarFeed:
    """A copy of the row as if just bumped, so that it is brought up to date."""
    return CalendarFeed(id=feed.id, user_id=feed.user_id, version=feed.version,
                        changed_at=feed.changed_at, valid_until=None)


def event_validator(event: Event, site: str) -> Validator:
    venue_at = event.venue.updated_at if event.venue else None
    return _validator(
        ("event", event.id, event.sequence, event.updated_at, venue_at,
         event.branch.updated_at, event.branch.locale, site),
        (event.updated_at, venue_at, event.branch.updated_at))
