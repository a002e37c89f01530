"""Every time Juhui shows is the branch's wall time, converted from UTC exactly once, in a short
local form; the zone is named only where it is not the viewer's, with an unambiguous offset (not
"CST", which is China's and the US Midwest's)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from branches.services import VenueInput, save_venue
from planner.core.i18n import format_instant
from tests.conftest import bearer, make_branch

YEAR = datetime.now(UTC).year + 1


@pytest.fixture
def hall(cast):
    return save_venue(cast.lead, cast.branch, VenueInput("Hall", "1 Road", 40))


def clash_message(client, headers, branch_slug: str, venue_id: int, start: str, end: str,
                  **extra) -> str:
    refused = client.post(f"/api/v1/branches/{branch_slug}/events", headers=headers, json={
        "title": "Tea", "starts_at": start, "ends_at": end, "venue_id": venue_id,
        "status": "published", **extra})
    assert refused.status_code == 409, refused.text
    return refused.json["error"]["message"]


def test_a_hold_clash_names_the_holds_own_wall_time(client, cast, hall):
    lead = bearer(client, cast.lead)
    held = client.post(f"/api/v1/venues/{hall.id}/bookings", headers=lead, json={
        "starts_at": f"{YEAR}-03-05T14:00:00+08:00", "ends_at": f"{YEAR}-03-05T16:00:00+08:00",
        "status": "confirmed", "note": "Landlord"})
    assert held.status_code == 201, held.text
    message = clash_message(client, lead, "chengdu", hall.id, f"{YEAR}-03-05T15:00",
                            f"{YEAR}-03-05T17:00")
    weekday = datetime(YEAR, 3, 5).strftime("%a")
    assert message == f"Hall is already booked by “Landlord” at {weekday} 5 Mar {YEAR}, 14:00."
    cast.lead.locale = "zh_CN"
    chinese = clash_message(client, lead, "chengdu", hall.id,
                            f"{YEAR}-03-05T15:00", f"{YEAR}-03-05T17:00")
    assert f"{YEAR}年3月5日 " in chinese and " 14:00" in chinese, chinese
    assert "22:00" not in chinese


def test_a_meetup_clash_in_a_summer_time_zone_names_its_evening(client, admin, make_user):
    from branches.models import Role
    from branches.services import set_role

    berlin = make_branch(admin, "berlin", "Berlin")
    lead = make_user("Lena")
    set_role(admin, berlin, lead.id, Role.LEAD)
    venue = save_venue(lead, berlin, VenueInput("Keller", "Hauptstr. 1", 30))
    headers = bearer(client, lead)
    first = client.post("/api/v1/branches/berlin/events", headers=headers, json={
        "title": "Stammtisch", "starts_at": f"{YEAR}-07-02T19:00", "ends_at": f"{YEAR}-07-02T21:00",
        "venue_id": venue.id, "status": "published"})
    assert first.status_code == 201, first.text
    message = clash_message(client, headers, "berlin", venue.id, f"{YEAR}-07-02T20:00",
                            f"{YEAR}-07-02T22:00")
    # Lena's own zone is Shanghai's, so the Berlin evening is named with its offset.
    assert f"2 Jul {YEAR}, 19:00 (UTC+2)" in message, message


def test_a_series_clash_names_the_first_clash_at_its_wall_time(client, cast, hall):
    lead = bearer(client, cast.lead)
    for day in (12, 19):
        made = client.post("/api/v1/branches/chengdu/events", headers=lead, json={
            "title": f"Quiz {day}", "starts_at": f"{YEAR}-03-{day:02}T19:00",
            "ends_at": f"{YEAR}-03-{day:02}T21:00", "venue_id": hall.id, "status": "published"})
        assert made.status_code == 201, made.text
    message = clash_message(client, lead, "chengdu", hall.id, f"{YEAR}-03-05T19:30",
                            f"{YEAR}-03-05T21:00", repeat={"freq": "weekly", "count": 3})
    weekday = datetime(YEAR, 3, 12).strftime("%a")
    assert message == (f"Hall is taken on these dates: {YEAR}-03-12, {YEAR}-03-19. First clash: "
                       f"“Quiz 12” at {weekday} 12 Mar {YEAR}, 19:00.")


def test_shown_times_carry_an_offset_not_an_abbreviation(app):
    winter = datetime(YEAR, 1, 10, 12, 0, tzinfo=UTC)
    summer = datetime(YEAR, 7, 10, 12, 0, tzinfo=UTC)
    assert format_instant(winter, "Europe/Berlin", "short").endswith("13:00 (UTC+1)")
    assert format_instant(summer, "Europe/Berlin", "short").endswith("14:00 (UTC+2)")
    assert format_instant(summer, "Asia/Kolkata", "short").endswith("17:30 (UTC+5:30)")
    assert format_instant(summer, "Asia/Shanghai", "short").endswith(" 20:00")  # the viewer's own
