"""Benchmark: RSVP throughput when many members RSVP to one meetup at once (HTTP, a threaded
server, 16 concurrent clients; baseline: /healthz through the same server and clients), and the
leads' registrations page with 2,000 RSVPs (baseline: the same page with 10), and on PostgreSQL
the time an RSVP holds its meetup's lock, and the flash crowd: 300 members at once to a 50-seat
meetup through gunicorn, 32 clients.
`make bench` runs it on SQLite and PostgreSQL; alone: `python -m bench.bench_registrations`."""

from __future__ import annotations

import logging
import os
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import event, func, select
from werkzeug.serving import make_server

from bench.common import (
    PASSWORD,
    Figure,
    Section,
    backend_name,
    bench_app,
    branch_with_hall,
    crowd,
    database_url,
    is_postgres,
    percentile,
    person,
    print_sections,
    seeding,
    size,
    timed,
)
from bench.load import Call, Sent, bearer, gunicorn, send_each, server_env
from planner.accounts.models import User
from planner.accounts.services import issue_api_token
from planner.core.extensions import db
from planner.core.unit_of_work import unit_of_work
from planner.events import services as events
from planner.events.models import EventStatus
from planner.registrations.models import Registration, RegistrationStatus
from planner.registrations.services import rsvp

CROWD = size(1000, 100)
SEATS = size(200, 20)
CLIENTS = 16
PAGE_RSVPS = size(2000, 100)
SMALL_PAGE_RSVPS = 10
PAGE_RUNS = size(20, 5)
FLASH_CROWD = size(300, 60)
FLASH_SEATS = size(50, 10)
FLASH_CLIENTS = 32
LOCKED_RSVPS = size(300, 60)
WARM_UP_CALLS = 200
HEALTHZ = Call("GET", "/healthz")


def scheduled_meetup(seats: int, day: int) -> tuple[int, User]:
    admin = db.session.scalar(select(User).where(User.email == "admin@bench.example")) or \
        person("admin@bench.example", admin=True)
    branch, hall = branch_with_hall(admin, f"crowd-{day}", seats)
    start = datetime(2031, 1, day, 19)
    [event] = events.schedule(admin, branch, events.EventInput(
        title="Crowd", starts_local=start, ends_local=start + timedelta(hours=2),
        venue_id=hall.id, status=EventStatus.PUBLISHED))
    return event.id, admin


@dataclass(frozen=True)
class Rush:
    """Every member RSVPed once to one meetup, right after the HTTP floor was measured with as
    many `GET /healthz` through the same server and clients."""

    floor: Sent
    storm: Sent
    load: float  # the 1-minute load average just before the storm

    def figure(self, name: str, note: str = "") -> Figure:
        statuses = Counter(answer.status for answer in self.storm.answers)
        return Figure(
            name, self.storm.latencies, self.floor.latencies,
            "GET /healthz, same server and clients",
            note=f"{self.storm.rate:.0f} RSVPs/s, {self.storm.rate / self.floor.rate:.2%} of "
                 f"healthz's {self.floor.rate:.0f}/s; load average {self.load:.1f}; "
                 + ", ".join(f"{status}×{n}" for status, n in sorted(statuses.items())) + note)


def rsvp_rush(port: int, event_id: int, tokens: list[str], clients: int) -> Rush:
    """The shape both RSVP benchmarks share: a warm-up, the floor, then the storm."""
    send_each(port, [HEALTHZ] * WARM_UP_CALLS, clients)  # pools filled, code paths warm
    floor = send_each(port, [HEALTHZ] * len(tokens), clients, timeout=120)
    load = os.getloadavg()[0]
    storm = send_each(port, [Call("POST", f"/api/v1/events/{event_id}/registrations", {},
                                  bearer(token)) for token in tokens], clients, timeout=120)
    return Rush(floor, storm, load)


def rsvp_storm(app: Flask) -> Figure:
    with seeding(app):
        event_id, _admin = scheduled_meetup(SEATS, 1)
        tokens = [issue_api_token(user) for user in crowd("storm", CROWD)]
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    rush = rsvp_rush(server.server_port, event_id, tokens, CLIENTS)
    server.shutdown()
    return rush.figure(f"RSVP, {CROWD:,} members, {SEATS} seats, {CLIENTS} clients")


def registrations_page(app: Flask) -> Figure:
    with seeding(app):
        big, admin = scheduled_meetup(PAGE_RSVPS, 2)
        small, _admin = scheduled_meetup(SMALL_PAGE_RSVPS, 3)
        for event_id, members in ((big, crowd("page", PAGE_RSVPS)),
                                  (small, crowd("small", SMALL_PAGE_RSVPS))):
            for user in members:
                rsvp(user, event_id)
        email = admin.email
    client = app.test_client()
    client.post("/login", data={"email": email, "password": PASSWORD})

    def render(event_id: int) -> Callable[[], None]:
        def get() -> None:
            assert client.get(f"/events/{event_id}/registrations").status_code == 200
        return get

    return Figure(f"registrations page, {PAGE_RSVPS:,} RSVPs", timed(render(big), PAGE_RUNS),
                  timed(render(small), PAGE_RUNS), f"{SMALL_PAGE_RSVPS} RSVPs")


class LockClock:
    """CPU and wall time from the meetup's SELECT … FOR UPDATE to the commit, per transaction
    (engine events: the statements and commits of every connection of the app)."""

    def __init__(self) -> None:
        self.cpu: list[float] = []
        self.wall: list[float] = []
        self._since: tuple[float, float] | None = None

    def statement(self, _connection: object, _cursor: object, statement: str,
                  *_args: object) -> None:
        if (self._since is None and statement.startswith("SELECT events.")
                and "FOR UPDATE" in statement):
            self._since = time.process_time(), time.perf_counter()

    def committed(self, _connection: object) -> None:
        if self._since is not None:
            cpu, wall = self._since
            self.cpu.append((time.process_time() - cpu) * 1000)
            self.wall.append((time.perf_counter() - wall) * 1000)
            self._since = None


def lock_held(url: str) -> Figure:
    """LOCKED_RSVPS members RSVP in turn to a FLASH_SEATS-seat meetup (most join the waitlist),
    each in a unit of work of its own as a request is: the CPU time spent holding the meetup's
    row lock, which every other RSVP to it waits for. One at a time nothing waits, and CPU time
    is what a busy machine inflates least; the note gives the wall time. Baseline: the CPU time
    of the whole RSVP and its commit."""
    app = bench_app(url, MAIL_DELIVER_AFTER_REQUEST=False)
    with seeding(app):
        event_id, _admin = scheduled_meetup(FLASH_SEATS, 5)
        members = [user.id for user in crowd("locked", LOCKED_RSVPS)]
    clock, whole = LockClock(), []
    listeners = (("before_cursor_execute", clock.statement), ("commit", clock.committed))
    with app.app_context():
        for name, listener in listeners:
            event.listen(db.engine, name, listener)
        for member in members:
            started = time.process_time()
            with app.test_request_context(), unit_of_work():
                rsvp(db.session.get_one(User, member), event_id)
            whole.append((time.process_time() - started) * 1000)
        for name, listener in listeners:
            event.remove(db.engine, name, listener)
        db.engine.dispose()
    return Figure(f"RSVP: CPU under the meetup's lock, {LOCKED_RSVPS} in turn, {FLASH_SEATS} "
                  "seats", clock.cpu, whole, "CPU of the whole RSVP and its commit",
                  note=f"wall time under the lock: median {statistics.median(clock.wall):.2f} ms, "
                       f"p99 {percentile(clock.wall, 0.99):.1f} ms")


def flash_crowd(url: str) -> Figure:
    """FLASH_CROWD members RSVP at once to a FLASH_SEATS-seat meetup through gunicorn (2 gthread
    workers) on PostgreSQL, as after a link is dropped into a big chat group."""
    app = bench_app(url)
    with seeding(app):
        event_id, _admin = scheduled_meetup(FLASH_SEATS, 4)
        tokens = [issue_api_token(user) for user in crowd("flash", FLASH_CROWD)]
    with app.app_context():
        db.engine.dispose()
    with gunicorn(2, server_env(url)) as server:
        rush = rsvp_rush(server.port, event_id, tokens, FLASH_CLIENTS)
    with app.app_context():
        going = db.session.scalar(select(func.count()).select_from(Registration).where(
            Registration.event_id == event_id, Registration.status == RegistrationStatus.GOING))
        db.engine.dispose()
    return rush.figure(
        f"RSVP flash crowd, {FLASH_CROWD} members, {FLASH_SEATS} seats, gunicorn 2 workers, "
        f"{FLASH_CLIENTS} clients", f"; {going} going (never more than {FLASH_SEATS})")


def run(url: str | None) -> list[Section]:
    # The page benchmark logs in with a plain form post: no CSRF token to scrape.
    app = bench_app(url, MAIL_DELIVER_AFTER_REQUEST=False, WTF_CSRF_ENABLED=False)
    figures = [rsvp_storm(app), registrations_page(app)]
    if url and is_postgres(url):
        figures += [lock_held(url), flash_crowd(url)]
    return [Section(f"RSVPs — {backend_name(app)}", figures)]


def main() -> None:
    print_sections(run(database_url()))


if __name__ == "__main__":
    main()
