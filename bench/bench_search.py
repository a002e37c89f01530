"""Benchmark: word and topic search over 50,000 meetups (issue 16), through the API over HTTP
(test client). Terms of three characters or more go through the trigram index (pg_trgm on
PostgreSQL, FTS5 on SQLite); shorter ones scan. The baseline is /healthz on the same client:
the cost of the HTTP stack alone. `make bench` runs it on SQLite and PostgreSQL; alone:
`python -m bench.bench_search` (BENCH_DATABASE_URL for PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert, select

from bench.common import (
    Figure,
    Section,
    backend_name,
    bench_app,
    database_url,
    person,
    print_sections,
    seeding,
    size,
    timed,
)
from branches.services import BranchInput, add_topic, create_branch
from planner.core.extensions import db
from planner.core.timeutil import utcnow
from planner.events.models import Event, EventStatus, event_topics

MEETUPS = size(50_000, 2_000)
RUNS = size(30, 5)
# Titles as branches write them: a rare one every 500 meetups, the rest common. A search
# answers at most 200 meetups, soonest first (services.search_events), 50 a page.
TITLES = ("周五桌游夜 board games", "Saturday hiking 青城山", "读书会：红楼梦 book club",
          "英语角 English corner", "Startup founders' breakfast", "摄影外拍 photo walk")
RARE = "围棋入门 Go for beginners"


def seed() -> None:
    admin = person("admin@bench.example", admin=True)
    branch = create_branch(admin, BranchInput(name="Bench", city="成都", slug="bench"))
    reading = add_topic(admin, branch, "读书")
    start, now = utcnow() + timedelta(hours=1), utcnow()
    db.session.execute(insert(Event), [
        {"branch_id": branch.id, "title": RARE if n % 500 == 0 else TITLES[n % len(TITLES)],
         "description": "欢迎新朋友！Bring a friend; we meet at the usual place. " * 3,
         "starts_at": start + timedelta(minutes=10 * n),
         "ends_at": start + timedelta(minutes=10 * n + 120),
         "original_starts_at": start + timedelta(minutes=10 * n),
         "online_url": "https://meet.example/x", "status": EventStatus.PUBLISHED,
         "cancel_message": "", "sequence": 0, "max_guests": 0, "requires_approval": False,
         "created_at": now, "updated_at": now} for n in range(MEETUPS)])
    reading_ids = db.session.scalars(select(Event.id).where(Event.title.like("读书会%"))).all()
    db.session.execute(insert(event_topics), [
        {"event_id": event_id, "topic_id": reading.id} for event_id in reading_ids])


def run(url: str | None) -> list[Section]:
    app = bench_app(url)
    with seeding(app):
        seed()
    client = app.test_client()
    # A year of meetups every ten minutes is 52,560: all of them are in the searched range.
    window = {"from": utcnow().isoformat(), "to": (utcnow() + timedelta(days=366)).isoformat()}
    floor = timed(lambda: client.get("/healthz"), RUNS)
    queries = {
        "rare word, 3+ characters (围棋入门)": {"q": "围棋入门"},
        "rare English word (beginners)": {"q": "beginners"},
        "common word, 3 characters (读书会)": {"q": "读书会"},
        "two characters, no trigram (围棋)": {"q": "围棋"},
        "two words (photo 外拍)": {"q": "photo 外拍"},
        "topic (读书)": {"tag": "读书"},
        "no match (象棋大赛)": {"q": "象棋大赛"},
    }
    figures = []
    for name, query in queries.items():
        answer = client.get("/api/v1/events", query_string=query | window)
        assert answer.status_code == 200, answer.text
        samples = timed(lambda q=query: client.get("/api/v1/events", query_string=q | window),
                        RUNS)
        figures.append(Figure(f"{name}: GET /api/v1/events, first page", samples, floor,
                              "/healthz", note=f"{len(answer.json)} on the first page"))
    return [Section(f"Search over {MEETUPS:,} meetups — {backend_name(app)}", figures)]


def main() -> None:
    print_sections(run(database_url()))


if __name__ == "__main__":
    main()
