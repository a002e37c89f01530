"""Fault tests against gunicorn on a seeded PostgreSQL database.

(a) PostgreSQL restarted while members RSVP and door staff check tickets in. Afterwards every
    request that got a 2xx is in the database exactly once, every failed request got a clean
    500/503 JSON answer, and every failed request succeeds when retried (RSVPs are idempotent per
    member and meetup, check-ins per nonce). The restart itself only happens with
    BENCH_PG_RESTART=1: it restarts the whole local cluster, other people's connections too.
    Without it the same load and the same checks run with no fault (a smoke run).
(b) Redis unreachable (REDIS_URL on a dead port): pages and the API keep answering, /readyz
    names Redis, and rate limits fail open to per-process memory (planner/core/config.py), so the
    API budget still holds: the first API_RATE_LIMIT requests pass, the rest get 429.

`make bench` runs both; alone: `python -m bench.faults` (exit status 1 when a check fails).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from bench.common import Figure, Section, attached_app, postgres_url, print_sections, size
from bench.load import (
    Answer,
    Call,
    Client,
    Fixture,
    bearer,
    gunicorn,
    seeded,
    send_each,
    server_env,
)
from planner.accounts.models import User
from planner.checkin.models import CheckinScan, ScanOutcome
from planner.core.extensions import db
from planner.registrations.models import Registration

RSVPS = size(600, 60)
CHECKINS = size(300, 30)
CLIENTS = size(8, 4)
WORKERS = 2
RETRY_FOR = 60  # seconds in which a failed request must succeed when retried
RESTART_AT = 0.25  # share of the requests sent before PostgreSQL is restarted
SERVER_LOG = Path(__file__).resolve().parent / "results" / "fault-a-gunicorn.log"
DEAD_REDIS = "redis://127.0.0.1:6390/0"
API_LIMIT = 20
API_CALLS = 30
PAGE_CALLS = 20


def restart_wanted() -> bool:
    return os.environ.get("BENCH_PG_RESTART") == "1"


@dataclass
class Op:
    """One client request, tried during the load and then retried until it succeeds."""

    kind: str  # "RSVP" or "check-in"
    call: Call
    answers: list[Answer] = field(default_factory=list)

    @property
    def first(self) -> Answer:
        return self.answers[0]

    @property
    def last(self) -> Answer:
        return self.answers[-1]


def ok(answer: Answer) -> bool:
    return 200 <= answer.status < 300


def clean_failure(answer: Answer) -> bool:
    """A 500 or 503 with the API's JSON error (503s also say when to retry)."""
    if answer.status not in (500, 503) or (answer.status == 503
                                           and "Retry-After" not in answer.headers):
        return False
    try:
        return "error" in json.loads(answer.body)
    except ValueError:
        return False


def operations(fixture: Fixture) -> list[Op]:
    """Distinct work: each member RSVPs to one meetup, each ticket is scanned once (with the
    nonce the door app would keep for its retries); interleaved as they would arrive."""
    rsvps = [Op("RSVP", Call("POST", f"/api/v1/events/{meetup}/registrations", {},
                             bearer(token)))
             for token, meetup in zip(fixture.member_tokens[:RSVPS],
                                      fixture.meetup_ids * RSVPS, strict=False)]
    scans = [Op("check-in", Call("POST", f"/api/v1/events/{fixture.tonight_id}/checkins",
                                 {"ticket_code": code, "nonce": uuid.uuid4().hex, "door": "fault"},
                                 bearer(fixture.staff_token)))
             for code in fixture.ticket_codes[:CHECKINS]]
    ratio = max(1, len(rsvps) // max(1, len(scans)))
    mixed = []
    for n, op in enumerate(rsvps):
        mixed.append(op)
        if n % ratio == 0 and scans:
            mixed.append(scans.pop())
    return mixed + scans


def send_all(port: int, ops: list[Op], on_progress: threading.Event) -> None:
    """CLIENTS keep-alive clients send every op once; `on_progress` is set at RESTART_AT."""

    def progress(answered: int) -> None:
        if answered >= len(ops) * RESTART_AT:
            on_progress.set()

    sent = send_each(port, [op.call for op in ops], CLIENTS, timeout=20, progress=progress)
    for op, answer in zip(ops, sent.answers, strict=True):
        op.answers.append(answer)


def retry_failed(port: int, ops: list[Op]) -> None:
    """Retry each failed op (same body, same nonce) once a second until it succeeds."""
    client, deadline = Client(port, timeout=20), time.monotonic() + RETRY_FOR
    for op in ops:
        while not ok(op.last) and time.monotonic() < deadline:
            time.sleep(0.2 if len(op.answers) == 1 else 1)
            op.answers.append(client.send(op.call))
    client.close()


def restart_command() -> list[str]:
    """BENCH_PG_RESTART_COMMAND when the database is served by another cluster than the local
    `main` one; else pg_ctlcluster on the newest installed version's `main` cluster."""
    if custom := os.environ.get("BENCH_PG_RESTART_COMMAND"):
        return shlex.split(custom)
    version = sorted(path.name for path in Path("/etc/postgresql").iterdir())[-1]
    return ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"]


@dataclass
class Restart:
    """The restart, once done: what ran, and when it returned (time.monotonic)."""

    command: str = ""
    seconds: float = 0.0
    ended: float = 0.0
    error: str = ""

    def describe(self, ops: list[Op]) -> list[str]:
        if self.error:
            return [f"The restart FAILED, so nothing was tested: {self.error}"]
        late = [a for op in ops for a in op.answers if not ok(a) and a.at > self.ended + 1]
        return [f"`{self.command}` took {self.seconds:.1f} s.",
                f"Requests failing more than 1 s after it returned (the app should have "
                f"reconnected by then): {len(late)}."]


def restart_when(signal: threading.Event, restart: Restart) -> threading.Thread:
    """Restart PostgreSQL once `signal` is set (a share of the load has been sent)."""

    def wait_then_restart() -> None:
        if signal.wait(timeout=120):
            command, started = restart_command(), time.perf_counter()
            try:
                subprocess.run(command, check=True, capture_output=True, timeout=120)
            except (OSError, subprocess.SubprocessError) as error:
                restart.error = f"{error} {getattr(error, 'stderr', b'')!r}"
            restart.command, restart.ended = shlex.join(command), time.monotonic()
            restart.seconds = time.perf_counter() - started

    thread = threading.Thread(target=wait_then_restart)
    thread.start()
    return thread


def database_problems(url: str, ops: list[Op]) -> list[str]:
    """Every 2xx RSVP is one row, for that member and meetup; every 2xx check-in is one scan
    (its nonce) and one successful check-in of that ticket; nothing beyond what was asked."""
    problems = []
    with attached_app(url).app_context():
        for op in ops:
            if not ok(op.last):
                continue
            body = json.loads(op.last.body)
            if op.kind == "RSVP":
                row = db.session.get(Registration, body["id"])
                twins = row and db.session.scalar(select(func.count(Registration.id)).where(
                    Registration.event_id == row.event_id, Registration.user_id == row.user_id))
                if twins != 1:
                    problems.append(f"RSVP {body['id']}: {twins or 0} rows")
            else:
                nonce = op.call.body["nonce"] if op.call.body else ""
                scans = list(db.session.scalars(select(CheckinScan)
                                                .where(CheckinScan.nonce == nonce)))
                successes = scans and db.session.scalar(select(func.count(CheckinScan.id)).where(
                    CheckinScan.registration_id == scans[0].registration_id,
                    CheckinScan.outcome == ScanOutcome.OK))
                if len(scans) != 1 or successes != 1:
                    problems.append(f"check-in {nonce}: {len(scans)} scans, {successes} ok")
        members = db.session.scalar(select(func.count(Registration.id)).join(
            User, User.id == Registration.user_id).where(
            User.email.like("member%")))
        asked = sum(op.kind == "RSVP" for op in ops)
        if members != asked:
            problems.append(f"{members} member RSVPs in the database for {asked} asked")
        db.engine.dispose()
    return problems


def tally(ops: list[Op]) -> list[str]:
    """What happened to the requests, per kind."""
    lines = []
    for kind in ("RSVP", "check-in"):
        mine = [op for op in ops if op.kind == kind]
        failed = [op for op in mine if not ok(op.first)]
        codes = Counter(op.first.status or "no answer" for op in failed)
        lines.append(
            f"{kind}: {len(mine)} requests, {len(mine) - len(failed)} 2xx at once, "
            f"{len(failed)} failed first ({', '.join(f'{c}×{n}' for c, n in codes.items()) or '-'})"
            f", {sum(ok(op.last) for op in failed)} of those succeeded on retry "
            f"(at most {max((len(op.answers) - 1 for op in failed), default=0)} retries).")
    return lines


def postgres_restart(url: str) -> tuple[Section, bool]:
    """(a): the load, the restart (when wanted), the retries and the database checks."""
    fixture = seeded(url, members=RSVPS, tickets=CHECKINS, subscribers=1)
    ops, progress, restart = operations(fixture), threading.Event(), Restart()
    restarter = restart_when(progress, restart) if restart_wanted() else None
    with gunicorn(WORKERS, server_env(url)) as server:
        send_all(server.port, ops, progress)
        progress.set()
        if restarter:
            restarter.join()
        retry_failed(server.port, ops)
        SERVER_LOG.parent.mkdir(exist_ok=True)
        shutil.copyfile(server.log, SERVER_LOG)
    unclean = [answer for op in ops for answer in op.answers
               if not ok(answer) and not clean_failure(answer)]
    unanswered = [op for op in ops if not ok(op.last)]
    problems = database_problems(url, ops)
    passed = not (unclean or unanswered or problems or restart.error)
    notes = restart.describe(ops) if restarter else [
        "No restart (smoke run): set BENCH_PG_RESTART=1 to restart the PostgreSQL cluster "
        "during the load."]
    statuses = sorted({answer.status for answer in unclean})
    database = ("every 2xx RSVP and check-in is there exactly once, nothing extra."
                if not problems else "; ".join(problems[:10]))
    notes += [*tally(ops),
              f"Failed answers that were not a clean 500/503 JSON error: {len(unclean)}"
              + (f" (statuses {statuses})" if unclean else "") + ".",
              *(f"First unclean answer: {a.status} {a.body[:300]!r}" for a in unclean[:1]),
              f"Still failing after {RETRY_FOR} s of retries: {len(unanswered)}.",
              f"Database: {database}", f"Server log: bench/results/{SERVER_LOG.name}.",
              f"**{'PASS' if passed else 'FAIL'}**"]
    figures = [Figure(f"{kind} latency, first try, {WORKERS} workers",
                      [op.first.ms for op in ops if op.kind == kind])
               for kind in ("RSVP", "check-in")]
    title = "restarted" if restarter else "not restarted (smoke)"
    return Section(f"Fault (a): PostgreSQL {title} under RSVPs and check-ins", figures,
                   notes), passed


def calls(client: Client, path: str, count: int) -> list[Answer]:
    return [client.send(Call("GET", path)) for _ in range(count)]


def redis_down(url: str) -> tuple[Section, bool]:
    """(b): the same requests with Redis up (baseline) and with Redis on a dead port."""
    fixture = seeded(url, members=1, tickets=1, subscribers=1)
    api, page = f"/api/v1/events/{fixture.meetup_ids[0]}", f"/events/{fixture.meetup_ids[0]}"
    answers: dict[str, dict[str, list[Answer]]] = {}
    for name, redis_url in (("up", server_env(url)["REDIS_URL"]), ("down", DEAD_REDIS)):
        env = server_env(url, REDIS_URL=redis_url, RATELIMIT_ENABLED="1",
                         API_RATE_LIMIT=f"{API_LIMIT} per minute")
        with gunicorn(1, env) as server:
            client = Client(server.port)
            answers[name] = {"api": calls(client, api, API_CALLS),
                             "page": calls(client, page, PAGE_CALLS),
                             "healthz": calls(client, "/healthz", 1),
                             "readyz": calls(client, "/readyz", 1)}
            client.close()
    down = answers["down"]
    expected_api = [200] * API_LIMIT + [429] * (API_CALLS - API_LIMIT)
    checks = {
        "API: the first API_RATE_LIMIT calls 200, then 429 (limits counted in memory)":
            [a.status for a in down["api"]] == expected_api,
        "meetup pages all 200": all(a.status == 200 for a in down["page"]),
        "/healthz 200": down["healthz"][0].status == 200,
        "/readyz 503 naming redis": down["readyz"][0].status == 503
        and "redis" in json.loads(down["readyz"][0].body).get("failed", []),
    }
    passed = all(checks.values())
    figures = [Figure(f"{label}, Redis down", [a.ms for a in down[key]],
                      [a.ms for a in answers["up"][key]], "Redis up",
                      note=", ".join(f"{s}×{n}" for s, n in
                                     sorted(Counter(a.status for a in down[key]).items())))
               for key, label in (("api", f"API GET (limit {API_LIMIT}/min)"),
                                  ("page", "meetup page"))]
    notes = [f"{'ok' if result else 'FAILED'}: {check}" for check, result in checks.items()]
    notes += [f"REDIS_URL={DEAD_REDIS} (nothing listens there), 1 worker.",
              f"**{'PASS' if passed else 'FAIL'}**"]
    return Section("Fault (b): Redis unreachable", figures, notes), passed


def run(url: str | None) -> tuple[list[Section], bool]:
    """Both fault tests; they need PostgreSQL."""
    if url is None:
        return [], True
    sections, results = zip(postgres_restart(url), redis_down(url), strict=True)
    return list(sections), all(results)


def main() -> None:
    sections, passed = run(postgres_url())
    print_sections(sections)
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
