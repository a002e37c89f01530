"""What every benchmark shares: timing, figures with a baseline measured in the same run, a
migrated app on a fresh database, seeding shortcuts and the Markdown a section renders to.

BENCH_QUICK=1 shrinks every size (smoke runs on a busy machine); the figures are then only a
check that the benchmark works, not a measurement.
"""

from __future__ import annotations

import atexit
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, insert, make_url, select, text
from sqlalchemy.exc import OperationalError

from branches.models import Branch, Role, Venue
from branches.services import (
    BranchInput,
    VenueInput,
    create_branch,
    join_branch,
    save_venue,
    set_role,
)
from planner import create_app
from planner.accounts.models import User
from planner.accounts.services import Profile, sign_up
from planner.core.extensions import db
from planner.core.unit_of_work import unit_of_work

PASSWORD = "bench lantern orchard"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/juhui_bench"


def quick() -> bool:
    return os.environ.get("BENCH_QUICK") == "1"


def size(full: int, small: int) -> int:
    """`full` for a real measurement, `small` under BENCH_QUICK=1."""
    return small if quick() else full


def timed(action: Callable[[], object], runs: int,
          before: Callable[[], object] | None = None) -> list[float]:
    """Milliseconds per call of `action`; `before` runs untimed ahead of each call."""
    samples = []
    for _ in range(runs):
        if before:
            before()
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def percentile(samples: Sequence[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


@dataclass(frozen=True)
class Figure:
    """One measured figure, and optionally the baseline it is compared with. The baseline is
    measured in the same run on the same machine, so the ratio survives a noisy machine better
    than either number alone."""

    name: str
    samples: Sequence[float]
    baseline: Sequence[float] | None = None
    baseline_name: str = ""
    unit: str = "ms"
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p99(self) -> float:
        return percentile(self.samples, 0.99)

    @property
    def baseline_median(self) -> float | None:
        return statistics.median(self.baseline) if self.baseline else None

    @property
    def ratio(self) -> float | None:
        """Median over the baseline's median."""
        base = self.baseline_median
        return self.median / base if base else None


@dataclass(frozen=True)
class Section:
    """A table of figures measured together (one benchmark on one database)."""

    title: str
    figures: list[Figure]
    notes: list[str] = field(default_factory=list)


def _number(value: float, unit: str) -> str:
    return f"{value:,.2f} {unit}" if value < 100 else f"{value:,.0f} {unit}"


def figure_row(figure: Figure) -> str:
    p99 = _number(figure.p99, figure.unit) if len(figure.samples) > 1 else "—"
    base = figure.baseline_median
    baseline = f"{_number(base, figure.unit)} ({figure.baseline_name})" if base else "—"
    ratio = f"{figure.ratio:.3g}×" if figure.ratio is not None else "—"
    return (f"| {figure.name} | {_number(figure.median, figure.unit)} | {p99} | {baseline} "
            f"| {ratio} | {len(figure.samples)} | {figure.note} |")


def render(section: Section) -> str:
    lines = [f"### {section.title}", "",
             "| figure | median | p99 | baseline median | × baseline | samples | note |",
             "|---|---|---|---|---|---|---|"]
    lines += [figure_row(figure) for figure in section.figures]
    lines += [""] + [f"- {note}" for note in section.notes]
    return "\n".join(lines).rstrip() + "\n"


def is_postgres(url: str) -> bool:
    return url.startswith("postgresql")


def backend_name(app: Flask) -> str:
    return "PostgreSQL" if is_postgres(app.config["SQLALCHEMY_DATABASE_URI"]) else "SQLite"


def temp_folder() -> str:
    """A scratch folder removed when the process exits."""
    folder = tempfile.mkdtemp(prefix="juhui-bench-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def attached_app(url: str, folder: str | None = None, **config: Any) -> Flask:
    """An app on an existing database (no reset, no migration). Rate limits are off: a benchmark
    sends everything from one address. The access log is off: a line per request would drown
    the tables."""
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                       "RATELIMIT_ENABLED": False, "LOG_LEVEL": "WARNING"} | config,
                      instance_path=folder or temp_folder())


def bench_app(url: str | None, **config: Any) -> Flask:
    """A migrated app on `url` (a PostgreSQL schema emptied first, so every benchmark starts from
    nothing), or on a temporary SQLite file."""
    folder = temp_folder()
    url = url or f"sqlite:///{folder}/bench.sqlite3"
    app = attached_app(url, folder, **config)
    with app.app_context():
        if is_postgres(url):
            db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            db.session.commit()
        upgrade()
    return app


@contextmanager
def seeding(app: Flask) -> Iterator[None]:
    """Seed as an edge would: services only flush, so the whole seeding is one unit of work,
    committed at the end (servers started afterwards see it)."""
    with app.test_request_context(), unit_of_work():
        yield


def crowd(prefix: str, count: int) -> list[User]:
    """`count` members inserted in one statement: signing up hashes a password (by design slow),
    which would make seeding, not the figure, dominate the run."""
    db.session.execute(insert(User), [
        {"email": f"{prefix}{n}@bench.example", "password_hash": "x",
         "display_name": f"{prefix} {n}", "locale": "en", "timezone": "Asia/Shanghai"}
        for n in range(count)])
    db.session.commit()
    return list(db.session.scalars(select(User).where(User.email.like(f"{prefix}%"))
                                   .order_by(User.id)))


def person(email: str, *, admin: bool = False) -> User:
    """An account signed up as a person would, with PASSWORD."""
    profile = Profile("Bench", None, "zh_CN", "Asia/Shanghai")
    return sign_up(email, PASSWORD, profile, is_admin=admin)


def branch_with_hall(lead: User, slug: str, seats: int, *,
                     staff: User | None = None) -> tuple[Branch, Venue]:
    """A branch in 成都 that `lead` (an admin) leads, with one hall of `seats` seats and, when
    given, `staff` at its door."""
    branch = create_branch(lead, BranchInput(name=slug.title(), city="成都", slug=slug))
    set_role(lead, branch, lead.id, Role.LEAD)
    if staff is not None:
        join_branch(staff, branch)
        set_role(lead, branch, staff.id, Role.STAFF)
    return branch, save_venue(lead, branch, VenueInput("Hall", "1 Road", seats))


def ensure_database(url: str) -> str:
    """`url`, its database created first if the server answers and lacks it."""
    name = make_url(url).database
    server = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT",
                           connect_args={"connect_timeout": 3})
    try:
        with server.connect() as connection:
            if not connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                     {"name": name}):
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError:
        pass  # not reachable: the caller says so
    finally:
        server.dispose()
    return url


def postgres_url() -> str:
    """BENCH_DATABASE_URL, or the local juhui_bench database (created if missing)."""
    return ensure_database(os.environ.get("BENCH_DATABASE_URL") or DEFAULT_POSTGRES_URL)


def database_url() -> str | None:
    """BENCH_DATABASE_URL, or None for a temporary SQLite file."""
    return os.environ.get("BENCH_DATABASE_URL") or None


def print_sections(sections: list[Section]) -> None:
    print("\n".join(render(section) for section in sections))
