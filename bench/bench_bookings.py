"""Benchmark: booking a venue that already has 10,000 bookings (baseline: the same booking at an
empty venue), and listing a month of meetups for a branch with 5,000 of them (baselines: the bare
query for those rows; the service call under the full HTTP page). `make bench` runs it on SQLite
and PostgreSQL; alone: `python -m bench.bench_bookings` (BENCH_DATABASE_URL for PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bench.common import (
    Figure,
    Section,
    backend_name,
    bench_app,
    branch_with_hall,
    database_url,
    person,
    print_sections,
    size,
    timed,
)
from branches.models import Branch, Role, Venue
from branches.services import VenueInput, save_venue, set_role
from planner.accounts.models import User
from planner.core.extensions import db
from planner.core.unit_of_work import unit_of_work
from planner.events import services
from planner.events.models import Booking, BookingStatus, Event, EventStatus

BOOKINGS = size(10_000, 500)
EVENTS = size(5_000, 300)
RUNS = size(50, 10)


def seed(branch: Branch, venue: Venue) -> None:
    start = datetime(2030, 1, 1, tzinfo=UTC)
    db.session.add_all(Booking(
        venue_id=venue.id, starts_at=start + timedelta(hours=3 * n),
        ends_at=start + timedelta(hours=3 * n + 2), blocked_from=start + timedelta(hours=3 * n),
        blocked_until=start + timedelta(hours=3 * n + 2), status=BookingStatus.CONFIRMED,
        note=f"seed {n}") for n in range(BOOKINGS))
    month_start = datetime(2029, 1, 1, tzinfo=UTC)
    db.session.add_all(Event(
        branch_id=branch.id, title=f"Meetup {n}", starts_at=month_start + timedelta(hours=n),
        ends_at=month_start + timedelta(hours=n, minutes=90),
        original_starts_at=month_start + timedelta(hours=n), online_url="https://x.example",
        status=EventStatus.PUBLISHED) for n in range(EVENTS))
    db.session.commit()


def booker(lead: User, venue: Venue) -> Callable[[], None]:
    """A function booking the next free three-hour slot of `venue`, far after the seeded ones."""
    slots = iter(range(BOOKINGS))

    def book() -> None:  # one unit of work, as one request is
        day = datetime(2035, 1, 1) + timedelta(hours=3 * next(slots))
        with unit_of_work():
            services.hold_venue(lead, venue, services.HoldInput(day, day + timedelta(hours=2)))

    return book


def run(url: str | None) -> list[Section]:
    app = bench_app(url)
    with app.app_context():
        admin, lead = person("admin@bench.example", admin=True), person("lead@bench.example")
        branch, venue = branch_with_hall(admin, "bench", 50)
        set_role(admin, branch, lead.id, Role.LEAD)  # a lead, not an admin, books
        empty = save_venue(lead, branch, VenueInput("Empty hall", "2 Road", 50))
        seed(branch, venue)  # commits

        def clash() -> None:
            day = datetime(2030, 1, 1, 9)  # 17:00 local on a seeded day: always refused
            with suppress(services.VenueConflict), unit_of_work():
                services.hold_venue(lead, venue, services.HoldInput(day, day + timedelta(hours=1)))

        month = (datetime(2029, 3, 1, tzinfo=UTC), datetime(2029, 4, 1, tzinfo=UTC))
        bare_query = (select(Event.__table__).where(Event.branch_id == branch.id,
                                                    Event.starts_at >= month[0],
                                                    Event.starts_at < month[1]))
        client = app.test_client()
        at_empty = timed(booker(lead, empty), RUNS)
        service = timed(lambda: services.events_between(branch, *month), RUNS)
        figures = [
            Figure(f"book a free slot ({BOOKINGS:,} bookings at the venue)",
                   timed(booker(lead, venue), RUNS), at_empty, "empty venue"),
            Figure("refuse a clashing slot (same venue)", timed(clash, RUNS), at_empty,
                   "booking at an empty venue"),
            Figure(f"list a month of meetups, service ({EVENTS:,} in the branch)", service,
                   timed(lambda: db.session.execute(bare_query).all(), RUNS),
                   "bare SELECT of those rows"),
            Figure("branch month page, full HTTP render",
                   timed(lambda: client.get("/branches/bench/events?month=2029-03"), RUNS),
                   service, "the service call alone"),
        ]
    return [Section(f"Bookings and listings — {backend_name(app)}", figures)]


def main() -> None:
    print_sections(run(database_url()))


if __name__ == "__main__":
    main()
