"""`make bench`: every benchmark on SQLite and on PostgreSQL, then the load test and the fault
tests (PostgreSQL only), written as one Markdown report to bench/results/report.md.

PostgreSQL: BENCH_DATABASE_URL, else the local juhui_bench database; when it cannot be reached
the report says so in its first lines and only the SQLite figures are measured. Its schema is
dropped and rebuilt: never point this at a database whose data you want.
BENCH_QUICK=1 shrinks every size (a smoke run); BENCH_PG_RESTART=1 lets fault test (a) restart
the local PostgreSQL cluster (see bench/faults.py). See docs/performance.md.
"""

from __future__ import annotations

import os
import platform
import sqlite3
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from bench import (
    bench_bookings,
    bench_calendars,
    bench_checkin,
    bench_issue18,
    bench_registrations,
    bench_search,
    faults,
    load,
)
from bench.common import Section, postgres_url, quick, render

REPORT = Path(__file__).resolve().parent / "results" / "report.md"
BENCHMARKS = (bench_bookings, bench_calendars, bench_registrations, bench_checkin, bench_search)


def postgres_version(url: str) -> str | None:
    """The server's version, or None when it cannot be reached."""
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            return connection.execute(text("SHOW server_version")).scalar_one()
    except SQLAlchemyError:
        return None
    finally:
        engine.dispose()


def machine_facts(postgres: str) -> list[str]:
    load_1, load_5, _ = os.getloadavg()
    return [f"CPUs: {os.cpu_count()}; load average at start {load_1:.2f} (1 min), "
            f"{load_5:.2f} (5 min)",
            f"Python {platform.python_version()} on {platform.platform()}",
            f"SQLite {sqlite3.sqlite_version}", f"PostgreSQL {postgres}"]


def header(url: str, postgres: str | None, seconds: float, passed: bool) -> list[str]:
    lines = ["# Juhui benchmark report", "",
             f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {seconds:.0f} s, "
             + ("**BENCH_QUICK=1: smoke sizes, not a measurement**" if quick() else "full sizes")
             + ".", ""]
    if postgres is None:
        lines += [f"**PostgreSQL was not reachable at `{url}`: only the SQLite benchmarks ran; "
                  "no PostgreSQL figures, no load test, no fault tests.**", ""]
    else:
        lines += [f"Fault tests: **{'PASS' if passed else 'FAIL'}**.", ""]
    lines += ["## Machine", ""]
    lines += [f"- {fact}" for fact in machine_facts(postgres or "not reachable")]
    lines += ["", "Medians and p99 in milliseconds unless a unit says otherwise. The baseline is "
              "measured in the same run; × baseline is the median over the baseline's median.",
              "", "## Figures", ""]
    return lines


def measure(url: str | None) -> tuple[list[Section], bool]:
    sections: list[Section] = []
    for database in (None, url) if url else (None,):
        for benchmark in BENCHMARKS:
            print(f"… {benchmark.__name__} on {database or 'SQLite'}", file=sys.stderr)
            sections += benchmark.run(database)
    if url is None:
        return sections, True
    print("… issue 18", file=sys.stderr)
    sections += bench_issue18.run(url)
    print("… load test", file=sys.stderr)
    sections += load.run(url)
    print("… fault tests", file=sys.stderr)
    fault_sections, passed = faults.run(url)
    return sections + fault_sections, passed


def main() -> None:
    started = time.perf_counter()
    url = postgres_url()
    postgres = postgres_version(url)
    sections, passed = measure(url if postgres else None)
    report = header(url, postgres, time.perf_counter() - started, passed)
    report += [render(section) for section in sections]
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text("\n".join(report))
    print(f"Report written to {REPORT}"
          + ("" if postgres else " (PostgreSQL NOT reachable: SQLite figures only)"))
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
