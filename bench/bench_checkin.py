"""Benchmark: the door at peak and the check-in lists of a big meetup.

- Check-in API throughput and latency with 8 and 32 concurrent keep-alive clients against
  gunicorn (2 gthread workers, PostgreSQL), each scan a fresh ticket. The ceiling is GET
  /healthz through the same server and the same clients.
- The check-in list of a meetup with 5,000 attendees (Chinese names, sorted by pinyin) as CSV,
  XLSX and the A4 print view, through the test client; the baseline is the bare SELECT of the
  same 5,000 registrations, so the ratio is what building the list costs on top of reading it.

`make bench` runs it; alone: `python -m bench.bench_checkin` (BENCH_DATABASE_URL; the HTTP part
needs PostgreSQL, the list part also runs on SQLite).
"""

from __future__ import annotations

import itertools
import random
import secrets
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import insert, select

from bench.common import (
    PASSWORD,
    Figure,
    Section,
    backend_name,
    bench_app,
    branch_with_hall,
    database_url,
    person,
    print_sections,
    seeding,
    size,
    timed,
)
from bench.load import Call, bearer, gunicorn, send_each, server_env
from planner.accounts.models import User
from planner.accounts.services import issue_api_token
from planner.core.extensions import db
from planner.core.timeutil import utcnow
from planner.events import services as events
from planner.events.models import EventStatus
from planner.registrations.models import Registration, RegistrationStatus

ATTENDEES = size(5000, 300)
SCANS = size(2000, 200)  # check-ins per client count; each client count scans its own tickets
CLIENT_COUNTS = (8, 32)
WORKERS = 2
EXPORT_RUNS = size(15, 3)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英"


@dataclass(frozen=True)
class Door:
    """A seeded meetup: its id, its tickets, a door-staff API token and the lead's login."""

    event_id: int
    tickets: list[str]
    staff_token: str
    lead_email: str


def attendee_names(count: int) -> list[str]:
    rng = random.Random(7)
    return [rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.randint(1, 2)))
            for _ in range(count)]


def attendees(event_id: int, count: int) -> list[str]:
    """`count` members with a confirmed RSVP and a ticket, inserted in bulk: RSVPing through the
    service queues a confirmation mail each, which would make seeding the benchmark."""
    db.session.execute(insert(User), [
        {"email": f"guest{n}@bench.example", "password_hash": "x", "display_name": name,
         "phone": f"138{n:08d}", "locale": "zh_CN", "timezone": "Asia/Shanghai"}
        for n, name in enumerate(attendee_names(count))])
    ids = db.session.scalars(select(User.id).where(User.email.like("guest%@bench.example")))
    tickets = [secrets.token_urlsafe(12) for _ in range(count)]
    db.session.execute(insert(Registration), [
        {"event_id": event_id, "user_id": user_id, "status": RegistrationStatus.GOING,
         "ticket_code": ticket, "queued_at": utcnow(), "source": "wechat-group",
         "guests": int(n % 3 == 0)}
        for n, (user_id, ticket) in enumerate(zip(ids, tickets, strict=True))])
    db.session.commit()
    return tickets


def seed(app: Flask) -> Door:
    with seeding(app):
        lead = person("lead@bench.example", admin=True)
        staff = person("staff@bench.example")
        branch, hall = branch_with_hall(lead, "door", ATTENDEES * 2, staff=staff)
        start = datetime(2031, 1, 10, 19)
        [meetup] = events.schedule(lead, branch, events.EventInput(
            title="年会", starts_local=start, ends_local=start + timedelta(hours=3),
            venue_id=hall.id, status=EventStatus.PUBLISHED))
        return Door(meetup.id, attendees(meetup.id, ATTENDEES), issue_api_token(staff),
                    lead.email)


# --- the door at peak ----------------------------------------------------------------------------

def scan(door: Door, ticket: str) -> Call:
    return Call("POST", f"/api/v1/events/{door.event_id}/checkins",
                {"ticket_code": ticket, "nonce": uuid.uuid4().hex, "door": "bench"},
                bearer(door.staff_token))


def door_at_peak(url: str, door: Door) -> list[Figure]:
    figures = []
    fresh = iter(door.tickets)
    with gunicorn(WORKERS, server_env(url)) as server:
        send_each(server.port, [Call("GET", "/healthz")] * 200, 8)  # warm-up: workers, pools
        for clients in CLIENT_COUNTS:
            ceiling = send_each(server.port, [Call("GET", "/healthz")] * SCANS, clients)
            calls = [scan(door, ticket) for ticket in itertools.islice(fresh, SCANS)]
            scans = send_each(server.port, calls, clients)
            codes = Counter(answer.status for answer in scans.answers)
            figures.append(Figure(
                f"check-in API, {clients} clients", scans.latencies, ceiling.latencies,
                "GET /healthz, same server and clients",
                note=f"{scans.rate:.0f} check-ins/s (healthz {ceiling.rate:.0f}/s); "
                     + ", ".join(f"{status}×{n}" for status, n in sorted(codes.items()))))
    return figures


# --- the lists -----------------------------------------------------------------------------------

def lists(app: Flask, door: Door) -> list[Figure]:
    client = app.test_client()
    client.post("/login", data={"email": door.lead_email, "password": PASSWORD})

    def download(suffix: str) -> Callable[[], None]:
        def get() -> None:
            response = client.get(f"/events/{door.event_id}/checkin-list{suffix}")
            assert response.status_code == 200, response.status_code
        return get

    def bare_select() -> None:
        with app.app_context():
            db.session.scalars(select(Registration).where(
                Registration.event_id == door.event_id)).all()
            db.session.rollback()

    floor = timed(bare_select, EXPORT_RUNS)
    return [Figure(f"check-in list {label}, {ATTENDEES:,} attendees",
                   timed(download(suffix), EXPORT_RUNS), floor,
                   f"SELECT of the {ATTENDEES:,} registrations")
            for label, suffix in (("CSV", ".csv"), ("XLSX", ".xlsx"), ("print view", ""))]


def run(url: str | None) -> list[Section]:
    # The list benchmark logs in with a plain form post: no CSRF token to scrape.
    app = bench_app(url, WTF_CSRF_ENABLED=False)
    door = seed(app)
    figures = lists(app, door)
    with app.app_context():
        db.engine.dispose()
    notes = []
    if url:
        figures += door_at_peak(url, door)
        notes.append(f"gunicorn {WORKERS} gthread workers (4 threads each); {SCANS:,} scans "
                     "per client count, each of a ticket not yet checked in; the load "
                     "generator shares the 2 cores with the server and the database.")
    else:
        notes.append("The check-in API under gunicorn is measured on PostgreSQL only.")
    return [Section(f"Check-in — {backend_name(app)}", figures, notes)]


def main() -> None:
    print_sections(run(database_url()))


if __name__ == "__main__":
    main()
