"""Load test: gunicorn (gthread, 4 threads a worker) on a seeded PostgreSQL database, driven by a
realistic mix from keep-alive HTTP clients on this machine: calendar apps polling feeds with
If-None-Match (mostly 304), people opening meetup pages, members RSVPing through the API, and
door staff checking tickets in at peak. Measured with 1 and with 2 workers.

The load generator runs on the same (2-core) machine as the server, so it takes CPU from it:
the figures are for comparing runs on one machine, not a capacity promise.
`make bench` runs it; alone: `python -m bench.load` (BENCH_DATABASE_URL, BENCH_QUICK=1).
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import random
import socket
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Flask

from bench.common import (
    Figure,
    Section,
    bench_app,
    branch_with_hall,
    crowd,
    person,
    postgres_url,
    print_sections,
    seeding,
    size,
    temp_folder,
)
from planner.accounts.services import issue_api_token
from planner.calendars.services import feed_token
from planner.core.extensions import db
from planner.core.timeutil import utcnow
from planner.events import services as events
from planner.events.models import EventStatus
from planner.registrations.services import rsvp

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
WORKER_COUNTS = (1, 2)
DURATION = size(30, 4)  # seconds of load per configuration
WARM_UP = size(3, 1)  # seconds of unmeasured load first: templates compiled, pools filled
CLIENTS = size(16, 6)  # concurrent keep-alive connections
MAX_REQUESTS = 200_000  # a bound on the loop whatever the duration
MEETUPS = size(10, 3)
# Seeding goes through the services (an RSVP queues its confirmation mail, ~15 ms each): these
# sizes keep it near 15 s. Past them, RSVPs and scans repeat, which real members also do.
MEMBERS = size(1000, 120)  # members with API tokens, who RSVP during the load
TICKETS = size(500, 60)  # RSVPs to tonight's meetup, scanned at the door during the load
SUBSCRIBERS = size(100, 20)  # ticket holders who subscribed to their personal calendar feed
# Shares of the traffic: feeds are polled far more often than anything else is done.
MIX = {"personal feed poll": 40, "branch feed poll": 10, "meetup page": 25, "RSVP (API)": 15,
       "door check-in (API)": 10}


@dataclass
class Fixture:
    """What the load needs to know about the seeded database."""

    branch_slug: str
    tonight_id: int
    meetup_ids: list[int]
    member_tokens: list[str]
    staff_token: str
    ticket_codes: list[str]
    feed_tokens: list[str]


def seed(app: Flask, members: int = MEMBERS, tickets: int = TICKETS,
         subscribers: int = SUBSCRIBERS) -> Fixture:
    """A branch with a venue and meetups, through the services: RSVPs with tickets for tonight,
    door staff with an API token, members with API tokens, subscribers with calendar tokens."""
    with seeding(app):
        admin = person("admin@load.example", admin=True)
        staff = person("staff@load.example")
        branch, hall = branch_with_hall(admin, "load", 100_000, staff=staff)
        local_now = utcnow().astimezone(ZoneInfo(branch.timezone)).replace(tzinfo=None)
        start = local_now.replace(hour=19, minute=0, second=0, microsecond=0)
        meetup_ids = []
        for day in range(MEETUPS + 1):
            begins = start + timedelta(days=day + 1)
            [meetup] = events.schedule(admin, branch, events.EventInput(
                title=f"周五桌游夜 #{day}", description="欢迎新朋友！Bring snacks. " * 5,
                starts_local=begins, ends_local=begins + timedelta(hours=2), venue_id=hall.id,
                status=EventStatus.PUBLISHED))
            meetup_ids.append(meetup.id)
        tonight, *others = meetup_ids
        holders = crowd("ticket", tickets)
        codes = []
        for n, holder in enumerate(holders):
            if n < subscribers:  # subscribers also go to other meetups: their feed has several
                for meetup_id in others[:3]:
                    rsvp(holder, meetup_id)
            codes.append(rsvp(holder, tonight).ticket_code)
        return Fixture(
            branch_slug=branch.slug, tonight_id=tonight, meetup_ids=others,
            member_tokens=[issue_api_token(user) for user in crowd("member", members)],
            staff_token=issue_api_token(staff), ticket_codes=codes,
            feed_tokens=[feed_token(holder) for holder in holders[:subscribers]])


# --- the server ----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_env(database_url: str, **overrides: str) -> dict[str, str]:
    """The environment of a production-like server; rate limits off unless overridden."""
    return os.environ | {
        "DATABASE_URL": database_url,
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7"),
        "SECRET_KEY": "load-test-secret", "RATELIMIT_ENABLED": "0", "LOG_LEVEL": "WARNING",
    } | overrides


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]
    log: Path


@contextmanager
def gunicorn(workers: int, env: dict[str, str], root: Path = ROOT) -> Iterator[Server]:
    """gunicorn serving the app as `wsgi:app` does, but with a scratch instance folder so the
    outbox mail of thousands of RSVPs does not land in the checkout's instance/. `root`: the
    checkout whose code it serves (another one's, to compare before and after a change)."""
    port, folder = free_port(), temp_folder()
    log = Path(folder) / "gunicorn.log"
    app = f"planner:create_app(instance_path={folder!r})"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(GUNICORN), "-w", str(workers), "--threads", "4", "-k", "gthread",
             "-b", f"127.0.0.1:{port}", "--graceful-timeout", "5",
             "--no-control-socket", app],  # the default socket path is shared by all gunicorns
            cwd=root, env=env | {"PYTHONPATH": str(root)}, stdout=sink,
            stderr=subprocess.STDOUT)
    server = Server(port, process, log)
    try:
        wait_until_up(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_up(server: Server, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {server.log.read_text()[-2000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer /healthz in time")


# --- the clients ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: dict[str, object] | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    status: int  # 0: no HTTP answer (connection refused, reset or timed out)
    body: bytes
    headers: dict[str, str]
    ms: float
    at: float = field(default_factory=time.monotonic)  # when it arrived


class Client:
    """One keep-alive connection, reopened after a failure, as a calendar app or phone would."""

    def __init__(self, port: int, timeout: float = 30) -> None:
        self.port, self.timeout = port, timeout
        self.connection: http.client.HTTPConnection | None = None

    def send(self, call: Call) -> Answer:
        headers = dict(call.headers)
        data = None
        if call.body is not None:
            data = json.dumps(call.body).encode()
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        try:
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port,
                                                             timeout=self.timeout)
            self.connection.request(call.method, call.path, data, headers)
            response = self.connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException):
            self.close()
            return Answer(0, b"", {}, (time.perf_counter() - started) * 1000)
        ms = (time.perf_counter() - started) * 1000
        if response.will_close:
            self.close()
        return Answer(response.status, body, dict(response.getheaders()), ms)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass(frozen=True)
class Sent:
    """Every answer of a `send_each`, in the calls' order, and how many calls a second."""

    answers: list[Answer]
    rate: float

    @property
    def latencies(self) -> list[float]:
        return [answer.ms for answer in self.answers]


def send_each(port: int, calls: list[Call], clients: int, *, timeout: float = 30,
              progress: Callable[[int], None] | None = None) -> Sent:
    """Send every call once, shared out among `clients` keep-alive clients as each is free;
    `progress` hears how many have been answered after each answer."""
    answers: list[Answer | None] = [None] * len(calls)
    queue, lock, done = iter(enumerate(calls)), threading.Lock(), itertools.count(1)

    def client_loop() -> None:
        client = Client(port, timeout)
        while True:
            with lock:
                item = next(queue, None)
            if item is None:
                break
            answer = client.send(item[1])
            with lock:
                answers[item[0]] = answer
                answered = next(done)
                if progress:
                    progress(answered)
        client.close()

    threads = [threading.Thread(target=client_loop) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Sent([answer for answer in answers if answer is not None],
                len(calls) / (time.perf_counter() - started))


class Traffic:
    """Makes the next call of each kind. Fresh members RSVP and fresh tickets are scanned until
    they run out; after that repeats (answered "the same RSVP" / "already checked in")."""

    def __init__(self, fixture: Fixture) -> None:
        self.fixture = fixture
        self.lock = threading.Lock()
        self.members = itertools.cycle(fixture.member_tokens)
        self.tickets = itertools.cycle(fixture.ticket_codes)
        self.etags: dict[str, str] = {}  # each calendar app remembers its feed's ETag
        self.makers: dict[str, Callable[[random.Random], Call]] = {
            "personal feed poll": self.personal_feed, "branch feed poll": self.branch_feed,
            "meetup page": self.meetup_page, "RSVP (API)": self.rsvp,
            "door check-in (API)": self.check_in}

    def next_of(self, items: Iterator[str]) -> str:
        with self.lock:
            return next(items)

    def poll(self, path: str) -> Call:
        etag = self.etags.get(path)
        return Call("GET", path, headers={"If-None-Match": etag} if etag else {})

    def personal_feed(self, rng: random.Random) -> Call:
        return self.poll(f"/calendar/{rng.choice(self.fixture.feed_tokens)}.ics")

    def branch_feed(self, _rng: random.Random) -> Call:
        return self.poll(f"/branches/{self.fixture.branch_slug}/calendar.ics")

    def meetup_page(self, rng: random.Random) -> Call:
        return Call("GET", f"/events/{rng.choice(self.fixture.meetup_ids)}")

    def rsvp(self, rng: random.Random) -> Call:
        meetup = rng.choice(self.fixture.meetup_ids)
        return Call("POST", f"/api/v1/events/{meetup}/registrations", {},
                    bearer(self.next_of(self.members)))

    def check_in(self, _rng: random.Random) -> Call:
        return Call("POST", f"/api/v1/events/{self.fixture.tonight_id}/checkins",
                    {"ticket_code": self.next_of(self.tickets), "nonce": uuid.uuid4().hex,
                     "door": "load"}, bearer(self.fixture.staff_token))

    def remember(self, call: Call, answer: Answer) -> None:
        if call.path.endswith(".ics") and answer.status == 200 and "ETag" in answer.headers:
            self.etags[call.path] = answer.headers["ETag"]


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: dict[str, Counter[int]] = field(default_factory=dict)

    def add(self, kind: str, answer: Answer) -> None:
        self.latencies.setdefault(kind, []).append(answer.ms)
        self.statuses.setdefault(kind, Counter())[answer.status] += 1

    def total(self) -> int:
        return sum(len(samples) for samples in self.latencies.values())


def drive(port: int, traffic: Traffic, seconds: float = DURATION,
          clients: int = CLIENTS) -> Tally:
    """`clients` threads send the mix for `seconds` (and at most MAX_REQUESTS in all)."""
    tally, lock = Tally(), threading.Lock()
    kinds, weights = list(MIX), list(MIX.values())
    deadline = time.monotonic() + seconds
    budget = itertools.count()

    def client_loop(number: int) -> None:
        rng, client = random.Random(number), Client(port)
        while time.monotonic() < deadline and next(budget) < MAX_REQUESTS:
            kind = rng.choices(kinds, weights)[0]
            call = traffic.makers[kind](rng)
            answer = client.send(call)
            traffic.remember(call, answer)
            with lock:
                tally.add(kind, answer)
        client.close()

    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tally


def statuses(counter: Counter[int]) -> str:
    return ", ".join(f"{status or 'no answer'}×{count}"
                     for status, count in sorted(counter.items()))


def seeded(url: str, **sizes: int) -> Fixture:
    """A fresh, seeded database; the seeding app lets go of its connections afterwards."""
    app = bench_app(url)
    fixture = seed(app, **sizes)
    with app.app_context():
        db.engine.dispose()
    return fixture


def measure(url: str, workers: int) -> Tally:
    traffic = Traffic(seeded(url))  # one for both: the warm-up uses up its members and tickets
    with gunicorn(workers, server_env(url)) as server:
        drive(server.port, traffic, WARM_UP)
        return drive(server.port, traffic)


def run(url: str | None) -> list[Section]:
    if url is None:
        return []  # gunicorn against a SQLite file is not a configuration we deploy
    tallies = {workers: measure(url, workers) for workers in WORKER_COUNTS}
    single = tallies[WORKER_COUNTS[0]]
    figures = []
    for workers, tally in tallies.items():
        for kind, samples in tally.latencies.items():
            baseline = single.latencies.get(kind) if workers != WORKER_COUNTS[0] else None
            figures.append(Figure(
                f"{kind}, {workers} worker{'s' if workers > 1 else ''}", samples, baseline,
                "1 worker" if baseline else "",
                note=f"{len(samples) / DURATION:.1f} req/s; {statuses(tally.statuses[kind])}"))
    rates = {workers: tally.total() / DURATION for workers, tally in tallies.items()}
    figures += [Figure(f"all requests, {workers} worker{'s' if workers > 1 else ''}", [rate],
                       [rates[WORKER_COUNTS[0]]] if workers != WORKER_COUNTS[0] else None,
                       "1 worker", unit="req/s") for workers, rate in rates.items()]
    return [Section(
        "Load test — gunicorn gthread (4 threads a worker) on PostgreSQL", figures,
        [f"{CLIENTS} keep-alive clients for {DURATION} s per configuration (after {WARM_UP} s "
         "of unmeasured warm-up); mix "
         + ", ".join(f"{kind} {weight}%" for kind, weight in MIX.items()) + ".",
         f"Seeded: {MEETUPS} meetups, {TICKETS} tickets for tonight, {MEMBERS} members with API "
         f"tokens, {SUBSCRIBERS} calendar subscribers; reseeded for each configuration.",
         "The × baseline column of the 2-worker rows is the growth over 1 worker (throughput: "
         "higher is better; latency: lower is better).",
         "The load generator shares the machine's cores with the server."])]


def main() -> None:
    print_sections(run(postgres_url()))


if __name__ == "__main__":
    main()
