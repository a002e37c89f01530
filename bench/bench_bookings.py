"""Benchmark: booking a venue that already has 10,000 bookings, and listing a month of meetups
for a branch with 5,000 of them. Run with `make bench` (SQLite) or with BENCH_DATABASE_URL set to
a PostgreSQL URL. Prints a Markdown table: median and p99 per figure."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from flask_migrate import upgrade
from sqlalchemy import text

from branches.models import Branch, Role, Venue
from branches.services import BranchInput, VenueInput, create_branch, save_venue, set_role
from planner import create_app
from planner.accounts.services import Profile, sign_up
from planner.events import services
from planner.events.models import Booking, BookingStatus, Event, EventStatus
from planner.extensions import db

BOOKINGS = 10_000
EVENTS = 5_000
RUNS = 50


def timed(action: Callable[[], object], runs: int = RUNS) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def summary(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"| {name} | {statistics.median(ordered):.2f} | {p99:.2f} | {len(ordered)} |"


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


def main() -> None:
    url = os.environ.get("BENCH_DATABASE_URL")
    workdir = tempfile.mkdtemp(prefix="juhui-bench-")
    url = url or f"sqlite:///{workdir}/bench.sqlite3"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                      "RATELIMIT_ENABLED": False}, instance_path=workdir)
    with app.app_context():
        if url.startswith("postgresql"):
            db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            db.session.commit()
        upgrade()
        profile = Profile("Bench", None, "en", "Asia/Shanghai")
        admin = sign_up("admin@bench.example", "benchmark-pw", profile, is_admin=True)
        lead = sign_up("lead@bench.example", "benchmark-pw", profile)
        branch = create_branch(admin, BranchInput(name="Bench", city="成都", slug="bench"))
        set_role(admin, branch, lead.id, Role.LEAD)
        venue = save_venue(lead, branch, VenueInput("Hall", "1 Road", 50))
        seed(branch, venue)
        slots = iter(range(10_000))

        def book() -> None:
            day = datetime(2035, 1, 1) + timedelta(hours=3 * next(slots))
            services.hold_venue(lead, venue, services.HoldInput(day, day + timedelta(hours=2)))

        def clash() -> None:
            day = datetime(2030, 1, 1, 9)  # 17:00 local on a seeded day: always refused
            try:
                services.hold_venue(lead, venue, services.HoldInput(day, day + timedelta(hours=1)))
            except services.VenueConflict:
                db.session.rollback()

        month = (datetime(2029, 3, 1, tzinfo=UTC), datetime(2029, 4, 1, tzinfo=UTC))
        client = app.test_client()
        rows = [
            summary(f"book a free slot ({BOOKINGS:,} bookings at the venue)", timed(book)),
            summary("refuse a clashing slot (same venue)", timed(clash)),
            summary(f"list a month of meetups, service ({EVENTS:,} in the branch)",
                    timed(lambda: services.events_between(branch, *month))),
            summary("branch month page, full HTTP render",
                    timed(lambda: client.get("/branches/bench/events?month=2029-03"))),
        ]
    backend = url.split(":", 1)[0]
    print(f"### Bookings and listings on {backend} (milliseconds)\n")
    print("| figure | median | p99 | runs |\n|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
