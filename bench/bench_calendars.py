"""Benchmark: calendar feeds for a branch with 1,000 meetups and a member with 200 RSVPs, served
over HTTP (test client): cold (empty caches), warm (VEVENTs cached, feed rebuilt; and the same
feed again), and the 304 path. The baseline of every figure is the floor: the same feed built
by plain icalendar from objects already in memory. `make bench` runs it on SQLite and
PostgreSQL; alone: `python -m bench.bench_calendars` (BENCH_DATABASE_URL for PostgreSQL)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
from sqlalchemy import insert, select

from bench.common import (
    Figure,
    Section,
    backend_name,
    bench_app,
    database_url,
    person,
    print_sections,
    seeding,
    size,
    timed,
)
from branches.models import Branch, Venue
from branches.services import BranchInput, VenueInput, create_branch, save_venue
from planner.accounts.models import User
from planner.calendars import ics, services
from planner.core.extensions import db
from planner.core.timeutil import utcnow
from planner.events.models import Event, EventStatus
from planner.registrations.models import Registration, RegistrationStatus

EVENTS = size(1_000, 100)
RSVPS = size(200, 20)
RUNS = size(50, 10)
COLD_RUNS = size(20, 5)


@dataclass(frozen=True)
class Plain:
    """A meetup as plain data, for the floor."""

    uid: str
    title: str
    description: str
    location: str
    starts_at: datetime
    ends_at: datetime
    stamp: datetime
    sequence: int
    url: str
    geo: tuple[float, float] | None


def seed(branch: Branch, venue: Venue, member: User) -> None:
    """Meetups every 36 hours from 60 days ago on (some online only); RSVPs to 200 of them."""
    first = utcnow() - timedelta(days=60)
    now = utcnow()
    db.session.execute(insert(Event), [
        {"branch_id": branch.id, "title": f"周五桌游夜 #{n}, board games; all welcome",
         "description": "欢迎新朋友！\nBring snacks, a game; or both. " * 5,
         "starts_at": first + timedelta(hours=36 * n),
         "ends_at": first + timedelta(hours=36 * n + 2),
         "original_starts_at": first + timedelta(hours=36 * n),
         "venue_id": venue.id if n % 4 else None,
         "online_url": None if n % 4 else "https://meet.example/games",
         "status": EventStatus.PUBLISHED, "cancel_message": "", "sequence": n % 3,
         "max_guests": 0, "requires_approval": False, "created_at": now, "updated_at": now}
        for n in range(EVENTS)])
    ids = db.session.scalars(select(Event.id).where(Event.branch_id == branch.id)
                             .order_by(Event.starts_at).limit(RSVPS)).all()
    db.session.execute(insert(Registration), [
        {"event_id": event_id, "user_id": member.id,
         "status": RegistrationStatus.WAITLISTED if n % 10 == 0 else RegistrationStatus.GOING,
         "ticket_code": None if n % 10 == 0 else f"bench-{event_id}", "guests": 0,
         "queued_at": now} for n, event_id in enumerate(ids)])
    db.session.commit()


def as_plain(entries: list[ics.FeedEntry]) -> list[Plain]:
    return [Plain(f"event-{e.event.id}@bench", e.event.title, e.event.description,
                  e.event.venue.name if e.event.venue else e.event.online_url or "",
                  e.event.starts_at, e.event.ends_at, e.event.updated_at, e.event.sequence,
                  f"https://bench.example/events/{e.event.id}",
                  (e.event.venue.latitude, e.event.venue.longitude) if e.event.venue else None)
            for e in entries]


def plain_icalendar(meetups: list[Plain], timezone: str) -> bytes:
    """The floor: plain icalendar, data already in memory, no database, no HTTP, the same
    properties as our feeds."""
    zone = ZoneInfo(timezone)
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//bench//floor//EN")
    calendar.add("version", "2.0")
    years = [m.starts_at.year for m in meetups]
    calendar.add_component(icalendar.Timezone.from_tzid(
        timezone, first_date=date(min(years), 1, 1), last_date=date(max(years) + 1, 1, 1)))
    for meetup in meetups:
        event = icalendar.Event()
        event.add("uid", meetup.uid)
        event.add("dtstamp", meetup.stamp)
        event.add("last-modified", meetup.stamp)
        event.add("created", meetup.stamp)
        event.add("sequence", meetup.sequence)
        event.add("dtstart", meetup.starts_at.astimezone(zone))
        event.add("dtend", meetup.ends_at.astimezone(zone))
        event.add("summary", meetup.title)
        event.add("location", meetup.location)
        event.add("description", meetup.description)
        if meetup.geo:
            event.add("geo", meetup.geo)
        event.add("url", meetup.url)
        event.add("status", "CONFIRMED")
        event.add("transp", "OPAQUE")
        calendar.add_component(event)
    return calendar.to_ical()


def run(url: str | None) -> list[Section]:
    app = bench_app(url)
    with seeding(app):
        admin, member = person("admin@bench.example", admin=True), person("member@bench.example")
        branch = create_branch(admin, BranchInput(name="Bench", city="成都", slug="bench"))
        venue = save_venue(admin, branch, VenueInput("Hall", "1 Road", 50, 30.66, 104.06))
        seed(branch, venue, member)
        timezone = branch.timezone
        feeds = {"branch feed": ("/branches/bench/calendar.ics",
                                 as_plain(services.branch_entries(branch, utcnow()))),
                 "personal feed": (f"/calendar/{services.feed_token(member)}.ics",
                                   as_plain(services.personal_entries(member, utcnow())))}

    client = app.test_client()

    def forget_feeds() -> None:
        app.extensions.pop("calendars.feeds", None)

    def forget() -> None:
        forget_feeds()
        app.extensions.pop("calendars.vevents", None)
        ics.vtimezone.cache_clear()

    figures = []
    for name, (path, meetups) in feeds.items():
        floor = timed(lambda m=meetups: plain_icalendar(m, timezone), RUNS)
        etag = client.get(path).headers["ETag"]
        measured = {
            "cold (empty caches)": timed(lambda p=path: client.get(p), COLD_RUNS, before=forget),
            "warm VEVENT cache, feed rebuilt": timed(lambda p=path: client.get(p), RUNS,
                                                     before=forget_feeds),
            "warm, same feed again (no ETag sent)": timed(lambda p=path: client.get(p), RUNS),
            "304 (If-None-Match)": timed(
                lambda p=path, e=etag: client.get(p, headers={"If-None-Match": e}), RUNS),
        }
        figures += [Figure(f"{name} ({len(meetups)} meetups): {what}, full HTTP", samples, floor,
                           "plain icalendar, in memory") for what, samples in measured.items()]
    return [Section(f"Calendar feeds — {backend_name(app)}", figures)]


def main() -> None:
    print_sections(run(database_url()))


if __name__ == "__main__":
    main()
