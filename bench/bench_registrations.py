"""Benchmark: RSVP throughput when many members RSVP to one meetup at once (HTTP, a threaded
server, 16 concurrent clients), and the leads' registrations page with 2,000 RSVPs.
Run with `make bench`; set BENCH_DATABASE_URL to measure on PostgreSQL."""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import insert, select, text
from werkzeug.serving import make_server

from branches.models import Role
from branches.services import BranchInput, VenueInput, create_branch, save_venue, set_role
from planner import create_app
from planner.accounts.models import User
from planner.accounts.services import Profile, issue_api_token, sign_up
from planner.events import services as events
from planner.events.models import EventStatus
from planner.extensions import db

CROWD = 1000
SEATS = 200
CLIENTS = 16
PAGE_RSVPS = 2000


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def build_app() -> Flask:
    workdir = tempfile.mkdtemp(prefix="juhui-bench-")
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{workdir}/bench.sqlite3"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                      "RATELIMIT_ENABLED": False, "MAIL_DELIVER_AFTER_REQUEST": False},
                     instance_path=workdir)
    with app.app_context():
        if url.startswith("postgresql"):
            db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            db.session.commit()
        upgrade()
    return app


def scheduled_meetup(seats: int, day: int) -> tuple[int, User]:
    profile = Profile("Bench", None, "en", "Asia/Shanghai")
    admin = db.session.scalar(select(User).where(User.email == "admin@bench.example")) or \
        sign_up("admin@bench.example", "benchmark-pw", profile, is_admin=True)
    branch = create_branch(admin, BranchInput(name="Bench", city="成都"))
    set_role(admin, branch, admin.id, Role.LEAD)
    hall = save_venue(admin, branch, VenueInput("Hall", "1 Road", seats))
    start = datetime(2031, 1, day, 19)
    [event] = events.schedule(admin, branch, events.EventInput(
        title="Crowd", starts_local=start, ends_local=start + timedelta(hours=2),
        venue_id=hall.id, status=EventStatus.PUBLISHED))
    return event.id, admin


def crowd(prefix: str, count: int) -> list[User]:
    db.session.execute(insert(User), [
        {"email": f"{prefix}{n}@bench.example", "password_hash": "x",
         "display_name": f"{prefix} {n}", "locale": "en", "timezone": "Asia/Shanghai"}
        for n in range(count)])
    db.session.commit()
    return list(db.session.scalars(select(User).where(User.email.like(f"{prefix}%"))))


def rsvp_storm(app: Flask) -> list[str]:
    with app.app_context():
        event_id, _admin = scheduled_meetup(SEATS, 1)
        tokens = [issue_api_token(user) for user in crowd("storm", CROWD)]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/api/v1/events/{event_id}/registrations"

    def post(token: str) -> float:
        request = urllib.request.Request(url, data=json.dumps({}).encode(), method="POST",
                                         headers={"Content-Type": "application/json",
                                                  "Authorization": f"Bearer {token}"})
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=120) as response:
            response.read()
        return (time.perf_counter() - started) * 1000

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        latencies = list(pool.map(post, tokens))
    elapsed = time.perf_counter() - started
    server.shutdown()
    return [f"| RSVP, {CROWD} members, {SEATS} seats, {CLIENTS} clients | "
            f"{statistics.median(latencies):.1f} | {percentile(latencies, 0.99):.1f} | "
            f"{CROWD / elapsed:.0f} RSVPs/s |"]


def registrations_page(app: Flask) -> list[str]:
    with app.app_context():
        event_id, admin = scheduled_meetup(PAGE_RSVPS, 2)
        from planner.registrations.services import rsvp

        for user in crowd("page", PAGE_RSVPS):
            rsvp(user, event_id)
        email = admin.email
    client = app.test_client()
    client.post("/login", data={"email": email, "password": "benchmark-pw"})
    samples = []
    for _ in range(20):
        started = time.perf_counter()
        response = client.get(f"/events/{event_id}/registrations")
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return [f"| registrations page, {PAGE_RSVPS:,} RSVPs | {statistics.median(samples):.1f} | "
            f"{percentile(samples, 0.99):.1f} | 20 renders |"]


def main() -> None:
    app = build_app()
    backend = app.config["SQLALCHEMY_DATABASE_URI"].split(":", 1)[0]
    rows = rsvp_storm(app) + registrations_page(app)
    print(f"### RSVPs on {backend} (milliseconds)\n")
    print("| figure | median | p99 | throughput |\n|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
