"""Branch health and the network funnel for admins: exact figures on a hand-built network, a fixed
number of queries however many branches, the page, CSV (BOM, formula-safe), JSON and who may see.

The network (days before now; the range is the default last 90 days):
- Chengdu (lead, staff, member): A (capacity 2, 10 days ago) filled 8 h after it was created
  (p4 RSVP'd first but cancelled), p1 and p2 came; B (capacity 3, 40 days ago) filled after 20 h
  (p1 with a guest, then p3), p1 came and p3 did not; C (no capacity, 20 days ago), p1 came.
- Beijing (its lead): X, 200 days ago, outside the range. Hangzhou: no meetup ever.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from branches.services import BranchInput, create_branch
from planner.core.errors import NotAllowed
from planner.core.extensions import db
from planner.core.timeutil import utcnow
from planner.engagement import health, services
from planner.events.models import Event
from planner.funnel import rollups
from planner.funnel.report import Figures
from planner.registrations import services as registrations
from planner.registrations.models import Registration
from tests.conftest import bearer, login, make_branch
from tests.test_engagement import _statements_during, come, held, meetup


def _queued(event: Event, user, hours: float) -> None:
    registration = db.session.scalar(select(Registration).where(
        Registration.event_id == event.id, Registration.user_id == user.id))
    registration.queued_at = event.created_at + timedelta(hours=hours)


def _created(event: Event, days_ago: float) -> None:
    held(event, days_ago)
    event.created_at = event.starts_at - timedelta(days=7)


@pytest.fixture
def network(cast, make_user):
    hangzhou = make_branch(cast.admin, "hangzhou", "杭州")
    p1, p2, p3, p4 = (make_user(f"P{n}") for n in range(1, 5))
    lead = cast.lead
    a = meetup(lead, cast.branch, "A", capacity=2)
    b = meetup(lead, cast.branch, "B", capacity=3, max_guests=1)
    c = meetup(lead, cast.branch, "C")
    x = meetup(cast.other_lead, cast.other_branch, "X", capacity=5)
    registrations.rsvp(p4, a.id)
    come(lead, registrations.rsvp(p1, a.id))
    registrations.rsvp(p2, a.id)  # waitlisted, promoted when p4 cancels
    registrations.cancel(p4, a.id)
    come(lead, registrations.rsvp(p2, a.id))
    come(lead, registrations.rsvp(p1, b.id, guests=1))
    registrations.rsvp(p3, b.id)
    come(lead, registrations.rsvp(p1, c.id))
    come(cast.other_lead, registrations.rsvp(p2, x.id))
    for made, days in ((a, 10), (b, 40), (c, 20), (x, 200)):
        _created(made, days)
    for made, user, hours in ((a, p4, 1), (a, p1, 5), (a, p2, 8), (b, p1, 2), (b, p3, 20),
                              (x, p2, 1)):
        _queued(made, user, hours)
    db.session.commit()
    return hangzhou


def _rows(admin, months: int = 3) -> dict[str, health.BranchHealth]:
    today = utcnow().date()
    rows = services.branch_health(admin, today - timedelta(days=90), today, months)
    return {row.branch.slug: row for row in rows}


def test_every_figure_of_every_branch(network, cast) -> None:
    rows = _rows(cast.admin)
    assert list(rows) == ["beijing", "chengdu", "hangzhou"]  # by name: 北京, 成都, 杭州 branch
    chengdu, beijing, hangzhou = rows["chengdu"], rows["beijing"], rows["hangzhou"]
    # registered p1, p2 (A), p1, p3 (B), p1 (C); attended 4; returned: p1 after B (at C) and
    # after C (at A); first-timers p1 at B and p2 at A; going to ended meetups 5, no-show p3.
    assert (chengdu.members, chengdu.meetups) == (3, 3)
    assert chengdu.figures == Figures(0, 5, 4, 2, 1, 1, 2, 5, 1)
    assert chengdu.return_rate == 0.5 and chengdu.figures.no_show_rate == 0.2
    assert chengdu.fill_hours == pytest.approx(14.0, abs=1e-3)  # median of 8 and 20
    assert not chengdu.quiet
    assert chengdu.last_meetup_at == db.session.scalar(
        select(Event.starts_at).where(Event.title == "A"))
    assert (beijing.members, beijing.meetups, beijing.figures.registered) == (1, 0, 0)
    assert beijing.fill_hours is None and beijing.return_rate is None and beijing.quiet
    assert (hangzhou.members, hangzhou.meetups, hangzhou.last_meetup_at,
            hangzhou.quiet) == (0, 0, None, True)
    assert not _rows(cast.admin, months=7)["beijing"].quiet  # X was 200 days ago
    assert _rows(cast.admin, months=6)["beijing"].quiet


def test_fill_time_counts_only_meetups_that_filled(network, cast) -> None:
    assert _rows(cast.admin)["chengdu"].fill_hours == pytest.approx(14.0, abs=1e-3)
    a = db.session.scalar(select(Event).where(Event.title == "A"))
    a.capacity = 3  # p1 and p2 take 2 of 3 seats: never full
    db.session.commit()
    assert _rows(cast.admin)["chengdu"].fill_hours == pytest.approx(20.0, abs=1e-3)


def test_six_queries_for_few_or_many_branches(network, cast) -> None:
    """Once the stale meetups are refreshed: whether any is stale, then branches, meetup
    figures, visitors, fill times and feedback by month."""
    today = utcnow().date()

    def run() -> None:
        services.branch_health(cast.admin, today - timedelta(days=90), today, 3)

    def refreshed() -> None:
        rollups.refresh_meetup_figures()
        db.session.commit()
        assert cast.admin.is_admin  # loaded beforehand

    refreshed()
    few = _statements_during(run)
    for n in range(8):
        branch = create_branch(cast.admin, BranchInput(name=f"Extra {n}", city="上海",
                                                       slug=f"extra-{n}"))
        come(cast.admin, registrations.rsvp(cast.member, meetup(cast.admin, branch).id))
    db.session.commit()
    refreshed()
    assert (len(few), len(_statements_during(run))) == (6, 6)


@pytest.mark.parametrize("who", ["lead", "staff", "member", "outsider"])
def test_only_admins(client, network, cast, who: str) -> None:
    person = getattr(cast, who)
    login(client, person)
    for path in ("/admin/branches/health", "/admin/branches/health.csv", "/admin/funnel",
                 "/admin/funnel/stages.csv"):
        assert client.get(path).status_code == 403, path
    headers = bearer(client, person)
    assert client.get("/api/v1/network/health", headers=headers).status_code == 403
    assert client.get("/api/v1/network/funnel", headers=headers).status_code == 403
    with pytest.raises(NotAllowed):
        services.branch_health(person, utcnow().date(), utcnow().date(), 3)


def test_health_page_flags_quiet_branches(client, network, cast) -> None:
    login(client, cast.admin)
    page = client.get("/admin/branches/health?months=7")
    assert page.status_code == 200
    assert page.text.count('class="row-quiet"') == 1  # Hangzhou only: Beijing met 200 days ago
    assert "What the figures mean" in page.text
    assert page.text.count('class="row-quiet"') == 1
    three = client.get("/admin/branches/health").text
    assert three.count('class="row-quiet"') == 2
    assert client.get("/admin/branches/health?months=0").status_code == 200  # falls back to 3


def test_health_csv_is_formula_safe_with_a_bom(client, network, cast) -> None:
    create_branch(cast.admin, BranchInput(name="=1+1 branch", city="上海", slug="evil"))
    login(client, cast.admin)
    today = utcnow().date()
    response = client.get(f"/admin/branches/health.csv?from={today - timedelta(days=90)}"
                          f"&to={today}&months=3")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.data.startswith("\ufeff".encode())
    lines = response.data.decode("utf-8-sig").splitlines()
    assert lines[0] == ("Branch,Members,Meetups,Reached,Registered,Attended,Returned,"
                        "No-show rate,First-timer share,90-day return rate,"
                        "Time to fill (hours),Last meetup,Quiet,Feedback by month")
    assert lines[1] == "'=1+1 branch,0,0,0,0,0,0,—,—,—,—,—,yes,—"
    chengdu = next(line for line in lines if line.startswith("成都"))
    last = network and db.session.scalar(select(Event.starts_at).where(Event.title == "A"))
    assert chengdu == f"成都 branch,3,3,0,5,4,2,20%,50%,50%,14.0,{last.date()},no,—"
    bad = client.get(f"/admin/branches/health.csv?from={today}&to={today - timedelta(days=1)}")
    assert bad.status_code == 422


def test_health_api(client, network, cast) -> None:
    headers = bearer(client, cast.admin)
    today = utcnow().date()
    response = client.get(f"/api/v1/network/health?from={today - timedelta(days=90)}"
                          f"&to={today}&months=7", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json
    assert (body["start"], body["end"], body["quiet_months"]) == (
        str(today - timedelta(days=90)), str(today), 7)
    by_slug = {row["slug"]: row for row in body["branches"]}
    chengdu = by_slug["chengdu"]
    assert chengdu | {"last_meetup_at": None} == {
        "slug": "chengdu", "name": "成都 branch", "members": 3, "meetups": 3, "reached": 0,
        "registered": 5, "attended": 4, "returned": 2, "no_show_rate": 0.2,
        "first_timer_share": 0.5, "return_rate": 0.5, "time_to_fill_hours": 14.0,
        "last_meetup_at": None, "quiet": False, "feedback_by_month": []}
    assert chengdu["last_meetup_at"].endswith("+00:00")
    assert [by_slug[s]["quiet"] for s in ("beijing", "hangzhou")] == [False, True]
    bad = client.get("/api/v1/network/health?months=0", headers=headers)
    assert bad.status_code == 422 and set(bad.json["error"]["fields"]) == {"months"}
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert {"/api/v1/network/health", "/api/v1/network/funnel"} <= set(paths)


def test_network_funnel_page_and_api(client, network, cast) -> None:
    login(client, cast.admin)
    today = utcnow().date()
    query = f"from={today - timedelta(days=250)}&to={today}"
    page = client.get(f"/admin/funnel?{query}")
    assert page.status_code == 200
    assert "Funnel of the whole network" in page.text and '<svg class="chart' in page.text
    assert 'id="trend-chart"' in page.text and "Registered and attended per month" in page.text
    stages = client.get(f"/admin/funnel/stages.csv?{query}").data.decode("utf-8-sig")
    # Chengdu's 5 registered and 4 attended, and p2 at Beijing's X.
    assert stages.splitlines() == ["Stage,People", "Reached,0", "Registered,6", "Attended,5",
                                   "Returned,2"]
    body = client.get(f"/api/v1/network/funnel?{query}", headers=bearer(client, cast.admin)).json
    assert body["stages"] == [{"name": "reached", "count": 0},
                              {"name": "registered", "count": 6},
                              {"name": "attended", "count": 5},
                              {"name": "returned", "count": 2}]
    assert body["no_show_rate"] == pytest.approx(1 / 6)


def test_quiet_means_no_meetup_lately_and_none_coming_soon(cast) -> None:
    """Chengdu meets in three hours (nothing before), Beijing met last week, Hangzhou last met
    half a year ago and has nothing planned, Shanghai only has a meetup far ahead."""
    hangzhou = make_branch(cast.admin, "hangzhou", "杭州")
    shanghai = make_branch(cast.admin, "shanghai", "上海")
    held(meetup(cast.lead, cast.branch, "Tonight"), -3 / 24)
    held(meetup(cast.other_lead, cast.other_branch, "Last week"), 7)
    held(meetup(cast.admin, hangzhou, "Long ago"), 180)
    held(meetup(cast.admin, shanghai, "Far ahead"), -120)
    db.session.commit()
    quiet = {slug: row.quiet for slug, row in _rows(cast.admin).items()}
    assert quiet == {"chengdu": False, "beijing": False, "hangzhou": True, "shanghai": True}
