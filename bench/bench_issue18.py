"""Issue 18's figures, each as a share of /healthz on the same server, clients and run:
fresh door check-ins at 8 and 32 clients, the branch feed answered 304, and the check-in list
exports for 5,000 attendees (in process, against the issue's goals).

PostgreSQL only (gunicorn, 2 gthread workers of 4 threads, as the issue measured). With
BENCH_BEFORE_ROOT pointing at another checkout (e.g. a `git worktree` of the commit before the
change), the same figures are measured for its code too, in the same run, on a database seeded
the same way: a "before" and an "after" side by side."""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

from sqlalchemy import create_engine, text

from bench.common import Figure, Section, postgres_url, print_sections, size
from bench.load import ROOT, Call, Client, bearer, gunicorn, seeded, server_env

SECONDS = size(10, 2)  # of load per figure
WARM_UP = size(2, 1)
TICKETS = size(2500, 200)  # fresh tickets: every measured scan checks someone in
WORKERS = 2
EXPORT_ROWS = 5000
EXPORT_RUNS = size(5, 1)


def rate(port: int, calls: Any, clients: int, seconds: float) -> tuple[float, list[float], int]:
    """Requests a second, latencies (ms) and non-2xx/3xx answers of `clients` keep-alive
    clients sending `calls()` for `seconds`."""
    lock, latencies, failed = threading.Lock(), [], [0]
    deadline = time.monotonic() + seconds

    def loop() -> None:
        client = Client(port)
        while time.monotonic() < deadline:
            call = calls()
            if call is None:
                break
            answer = client.send(call)
            with lock:
                latencies.append(answer.ms)
                if not 200 <= answer.status < 400:
                    failed[0] += 1
        client.close()

    threads = [threading.Thread(target=loop) for _ in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(latencies) / (time.monotonic() - started), latencies, failed[0]


def measure_server(url: str, root: Path, label: str) -> list[Figure]:
    fixture = seeded(url, members=10, tickets=TICKETS, subscribers=5)
    door_open_now(url, fixture.tonight_id)
    tickets = iter(fixture.ticket_codes)
    lock = threading.Lock()

    def healthz() -> Call:
        return Call("GET", "/healthz")

    def scan() -> Call | None:
        with lock:
            code = next(tickets, None)
        if code is None:
            return None
        return Call("POST", f"/api/v1/events/{fixture.tonight_id}/checkins",
                    {"ticket_code": code, "nonce": uuid.uuid4().hex, "door": "bench"},
                    bearer(fixture.staff_token))

    feed = f"/branches/{fixture.branch_slug}/calendar.ics"
    figures = []
    with gunicorn(WORKERS, server_env(url), root=root) as server:
        first = Client(server.port).send(Call("GET", feed))
        tag = first.headers.get("ETag", "")

        def poll() -> Call:
            return Call("GET", feed, headers={"If-None-Match": tag})

        rate(server.port, healthz, 8, WARM_UP)
        for clients in (8, 32):
            base, base_ms, _ = rate(server.port, healthz, clients, SECONDS)
            door, door_ms, failed = rate(server.port, scan, clients, SECONDS)
            figures += [
                Figure(f"{label}: /healthz, {clients} clients", [base], unit="req/s",
                       note=f"p99 {percentile(base_ms, 0.99):.0f} ms"),
                Figure(f"{label}: fresh check-in, {clients} clients", [door], [base],
                       "/healthz", unit="req/s",
                       note=f"p50 {percentile(door_ms, 0.5):.0f} ms, p99 "
                            f"{percentile(door_ms, 0.99):.0f} ms; {failed} refused")]
        base, _, _ = rate(server.port, healthz, 8, SECONDS)
        polls, poll_ms, failed = rate(server.port, poll, 8, SECONDS)
        figures.append(Figure(f"{label}: branch feed 304, 8 clients", [polls], [base],
                              "/healthz", unit="req/s",
                              note=f"p50 {percentile(poll_ms, 0.5):.1f} ms; {failed} not 304"))
    return figures


def door_open_now(url: str, event_id: int) -> None:
    """Tonight's meetup started half an hour ago, so its door takes every scan."""
    engine = create_engine(url)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(text("UPDATE events SET starts_at = :starts, ends_at = :ends, "
                                "original_starts_at = :starts WHERE id = :id"),
                           {"starts": now - timedelta(minutes=30),
                            "ends": now + timedelta(minutes=90), "id": event_id})
    engine.dispose()


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples) or [0.0]
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def _module(root: Path, relative: str, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, root / relative)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def export_figures(root: Path, label: str) -> list[Figure]:
    """CSV and XLSX of 5,000 check-in list rows (names sorted by pinyin), as the download
    builds them; the goal (0.3 s, 0.8 s) is the baseline."""
    sheets = _module(root, "planner/spreadsheets.py", f"sheets_{label}")
    exports = _module(root, "planner/checkin/exports.py", f"exports_{label}")
    surnames, given = "王李张刘陈杨黄赵吴周", "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平"
    names = [f"{surnames[n % 10]}{given[n % 20]}{given[(n // 20) % 20]}" if n % 7 else
             f"Alice {n}" for n in range(EXPORT_ROWS)]

    def rows() -> list[list[object]]:
        if hasattr(exports.pinyin_of, "cache_clear"):  # each run starts cold
            exports.pinyin_of.cache_clear()
        listed = sorted((exports.pinyin_of(name), name) for name in names)
        return [[name, pinyin, "138****8000", n % 3, "Going", "WeChat", "", "19:02", "Sun"]
                for n, (pinyin, name) in enumerate(listed)]

    header = ["Name", "Pinyin", "Phone", "Guests", "Status", "Source", "Ticket", "In", "By"]
    figures = []
    for kind, build, goal in (("CSV", lambda: sheets.to_csv(header, rows()), 300.0),
                              ("XLSX", lambda: sheets.to_xlsx(header, rows(), "List"), 800.0)):
        samples = []
        for _ in range(EXPORT_RUNS):
            started = time.perf_counter()
            build()
            samples.append((time.perf_counter() - started) * 1000)
        figures.append(Figure(f"{label}: {kind} export, {EXPORT_ROWS} attendees", samples,
                              [goal], "issue 18's goal"))
    return figures


def run(url: str | None) -> list[Section]:
    if url is None:
        return []
    before = os.environ.get("BENCH_BEFORE_ROOT")
    sides = ([(Path(before), "before")] if before else []) + [(ROOT, "after")]
    figures: list[Figure] = []
    for root, label in sides:
        print(f"… issue 18 figures, {label} ({root})", file=sys.stderr)
        figures += measure_server(url, root, label)
        figures += export_figures(root, label)
    load = os.getloadavg()
    return [Section(
        "Issue 18 — the door, the feed poll and the exports, as shares of /healthz", figures,
        [f"gunicorn, {WORKERS} gthread workers of 4 threads, PostgreSQL; {SECONDS} s per figure "
         f"after {WARM_UP} s of warm-up; {TICKETS} fresh tickets (every measured scan checks "
         "someone in). × baseline of a check-in or a 304 row is its throughput as a share of "
         "/healthz at the same clients, measured just before it: higher is better.",
         "Exports run in process; their baseline is the issue's goal (below 1× meets it).",
         f"Load average at the end: {load[0]:.2f} (1 min). The load generator shares the "
         "machine with the server" + (" and with other work" if load[0] > 1 else "") + "."])]


def main() -> None:
    print_sections(run(postgres_url()))


if __name__ == "__main__":
    main()
