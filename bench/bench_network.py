"""Benchmark: a synthetic national network on PostgreSQL — 300 branches, 1,000,000 members,
50,000 meetups, 2,000,000 registrations, 100,000 invite links and 5,000,000 visits — generated
set-based in SQL (generate_series), then the funnel figures timed through the same services the
pages call: the branch funnel, the network funnel, the biggest branch's engagement segments and
the branch-health table. The rows are loaded with SQL, so the funnel's kept totals
(planner/funnel/rollups.py) are then built from scratch, as `flask refresh-funnel --rebuild`
does, and timed; so are the network funnel right after 100 check-ins (its refresh included) and
the cost a new visit pays to keep the visitor counts.

Members belong to a home branch, skewed so that branch 1 is by far the biggest; each member
RSVPs to two meetups of their home branch; 70% of those going to past meetups were checked in;
40% of RSVPs came through one of the meetup's two invite links.

`python -m bench.bench_network` (BENCH_NETWORK_URL, default a database `juhui_network` on the
local server, created if missing; BENCH_QUICK=1 for a small smoke run).
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, text

from bench.common import Figure, Section, bench_app, ensure_database, print_sections, size, timed
from planner.core.extensions import db
from planner.core.timeutil import utcnow
from planner.events.models import Event
from planner.funnel import rollups
from planner.funnel import services as funnel
from planner.funnel.models import InviteLink
from planner.registrations.models import Registration, RegistrationStatus

BRANCHES = 300
MEMBERS = size(1_000_000, 20_000)
MEETUPS = size(50_000, 3_000)
VISITS = size(5_000_000, 100_000)
RUNS = size(10, 3)
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/juhui_network"

# Each statement fills one table from generate_series; :n, :b, :e are the sizes.
GENERATE = {
    "branches": """
        INSERT INTO branches (id, slug, name, city, country, timezone, latitude, longitude,
            description, join_policy, locale, no_show_limit, no_show_window, created_at,
            updated_at)
        SELECT b, 'b' || b, 'Branch ' || b, 'City ' || b, 'CN', 'Asia/Shanghai',
               20 + (b % 25), 100 + (b % 25), '', 'open', 'zh_CN', 3, 5,
               now() - interval '3 years', now() - interval '3 years'
        FROM generate_series(1, :b) AS b""",
    "users": """
        INSERT INTO users (id, email, password_hash, display_name, locale, timezone, is_admin,
            calendar_includes_branches, created_at, updated_at)
        SELECT u, 'u' || u || '@bench.example', 'x', 'Member ' || u, 'zh_CN',
               'Asia/Shanghai', u = :n + 1, false,
               now() - (u % 1000) * interval '1 day', now() - (u % 1000) * interval '1 day'
        FROM generate_series(1, :n + 1) AS u""",
    # Home branch: 1 + floor(B * x^3) for x spread over [0, 1): branch 1 gets ~15% of members.
    "memberships": """
        INSERT INTO memberships (branch_id, user_id, role, status, created_at, updated_at)
        SELECT 1 + floor(:b * power(((u::bigint * 7919) % :n)::float / :n, 3))::int, u,
               'member',
               'active', now() - (u % 1000) * interval '1 day',
               now() - (u % 1000) * interval '1 day'
        FROM generate_series(1, :n) AS u""",
    # Meetup e belongs to branch 1 + (e - 1) % B; they spread over two years up to next month.
    "events": """
        INSERT INTO events (id, branch_id, title, description, starts_at, ends_at,
            original_starts_at, online_url, capacity, max_guests, requires_approval,
            walk_ins_over_capacity, status, cancel_message, sequence, created_at, updated_at)
        SELECT e, 1 + (e - 1) % :b, 'Meetup ' || e, '', t, t + interval '2 hours', t,
               'https://meet.example/' || e, 200, 2,
               false, false, CASE WHEN e % 33 = 0 THEN 'cancelled' ELSE 'published' END, '',
               0, t - interval '20 days', t - interval '20 days'
        FROM generate_series(1, :e) AS e,
             LATERAL (SELECT now() - interval '700 days'
                             + (e::float / :e) * interval '730 days' AS t) AS slot""",
    "invite_links": """
        INSERT INTO invite_links (id, code, branch_id, event_id, label, channel, created_at)
        SELECT l, md5('link' || l), 1 + ((l + 1) / 2 - 1) % :b, (l + 1) / 2,
               'Group ' || l, CASE WHEN l % 2 = 0 THEN 'chat_group' ELSE 'social_post' END,
               now() - interval '2 years'
        FROM generate_series(1, 2 * :e) AS l""",
    # Two RSVPs per member, to two different meetups of their home branch.
    "registrations": """
        INSERT INTO registrations (event_id, user_id, status, guests, ticket_code, queued_at,
            decision_message, source, invite_link_id, checked_in_at, walk_in, created_at,
            updated_at)
        SELECT ev.id, m.user_id,
               CASE WHEN r.k = 0 AND m.user_id % 10 = 0 THEN 'cancelled'
                    WHEN m.user_id % 20 = 1 THEN 'waitlisted' ELSE 'going' END,
               (m.user_id % 3) / 2, md5('ticket' || m.user_id || ':' || r.k),
               ev.starts_at - interval '5 days', '', NULL,
               CASE WHEN (m.user_id + r.k) % 5 < 2 THEN 2 * ev.id - (m.user_id % 2) END,
               CASE WHEN ev.starts_at < now() AND m.user_id % 10 < 7
                         AND NOT (r.k = 0 AND m.user_id % 10 = 0) AND m.user_id % 20 <> 1
                    THEN ev.starts_at + interval '10 minutes' END,
               false, ev.starts_at - interval '5 days', ev.starts_at - interval '5 days'
        FROM memberships AS m
        CROSS JOIN (VALUES (0), (1)) AS r(k)
        JOIN events AS ev ON ev.id = m.branch_id
             + :b * ((m.user_id * 31 + r.k * 17) % (:e / :b))""",
    "invite_visits": """
        INSERT INTO invite_visits (link_id, visitor_key, first_seen_at)
        SELECT 1 + v % (2 * :e), md5('visitor' || v), now() - (v % 700) * interval '1 day'
        FROM generate_series(1, :v) AS v""",
}


def generate() -> list[Figure]:
    """Fill every table; returns one figure per table (seconds, a single sample each)."""
    sizes = {"n": MEMBERS, "b": BRANCHES, "e": MEETUPS, "v": VISITS}
    figures = []
    for table, statement in GENERATE.items():
        started = time.perf_counter()
        rows = db.session.execute(text(statement), sizes).rowcount
        db.session.commit()
        figures.append(Figure(f"generate {table} ({rows:,} rows)",
                              [time.perf_counter() - started], unit="s"))
    for table in GENERATE:
        if table != "memberships" and table != "registrations" and table != "invite_visits":
            db.session.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"))
    db.session.commit()
    figures.append(_seconds("count every visitor by day (rebuild)",
                            lambda: rollups.rebuild_reach(db.session)))
    rollups.mark_all_stale(db.session)
    figures.append(_seconds("compute every meetup's figures (refresh of all)",
                            rollups.refresh_meetup_figures))
    figures.append(_seconds("VACUUM ANALYZE", _vacuum))
    return figures


def _seconds(name: str, action: Callable[[], object]) -> Figure:
    """A single timed step, committed."""
    started = time.perf_counter()
    action()
    db.session.commit()
    return Figure(name, [time.perf_counter() - started], unit="s")


def _vacuum() -> None:
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))


def check_in_some(count: int = 100) -> None:
    """`count` people who had not come to past meetups are checked in after all, through the
    ORM (so their meetups are marked stale as a door's check-ins would)."""
    late = db.session.scalars(
        select(Registration).join(Event, Event.id == Registration.event_id)
        .where(Registration.checked_in_at.is_(None), Registration.user_id.is_not(None),
               Registration.status == RegistrationStatus.GOING, Event.starts_at < utcnow())
        .order_by(Registration.id.desc()).limit(count))
    for registration in late:
        registration.checked_in_at = registration.event.starts_at
    db.session.commit()


def new_visit(link: InviteLink) -> Callable[[], object]:
    keys = (f"bench-visitor-{n}" for n in itertools.count())
    return lambda: funnel.record_visit(link, next(keys), "Mozilla/5.0")


def figures_to_time() -> dict[str, Callable[[], Any]]:
    """What the issue asks to time, through the services the pages use."""
    from branches.models import Branch
    from planner.accounts.models import User
    from planner.engagement import services as engagement

    admin = db.session.scalar(db.select(User).where(User.is_admin))
    biggest = db.session.get(Branch, 1)
    today = date.today()
    year_ago = today - timedelta(days=365)
    timings: dict[str, Callable[[], Any]] = {
        "branch funnel, biggest branch, last 365 days":
            lambda: funnel.branch_funnel(admin, biggest, year_ago, today),
        "network funnel, last 365 days": lambda: funnel.network_funnel(admin, year_ago, today),
        "engagement segments of the biggest branch":
            lambda: engagement.member_engagement(admin, biggest),
        "branch-health table, 300 branches, last 365 days":
            lambda: engagement.branch_health(admin, year_ago, today, 3),
    }
    return timings


def incremental_figures() -> list[Figure]:
    from planner.accounts.models import User

    admin = db.session.scalar(db.select(User).where(User.is_admin))
    today = date.today()
    return [
        Figure("network funnel right after 100 check-ins (refresh included)",
               timed(lambda: funnel.network_funnel(
                   admin, today - timedelta(days=365), today), RUNS, before=check_in_some)),
        Figure("a new visit, visitor counts kept (record_visit)",
               timed(new_visit(db.session.get(InviteLink, 1)), 10 * RUNS))]


def run(url: str | None = None) -> list[Section]:
    app = bench_app(url or ensure_database(os.environ.get("BENCH_NETWORK_URL") or DEFAULT_URL))
    with app.test_request_context():
        generated = generate()
        measured = [Figure(name, timed(action, RUNS, before=db.session.expire_all))
                    for name, action in figures_to_time().items()] + incremental_figures()
    return [Section(f"National network on PostgreSQL: {MEMBERS:,} members, {MEETUPS:,} "
                    f"meetups, {VISITS:,} visits", measured + generated)]


def main() -> None:
    print_sections(run())


if __name__ == "__main__":
    main()
