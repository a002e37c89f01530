"""Creating, finding and listing branches."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from branches import services
from branches.models import Branch
from planner.core.errors import Conflict, InvalidInput
from planner.core.extensions import db
from tests.conftest import login, make_branch


def branch_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Branch)) or 0


@pytest.mark.parametrize("city", ["成都", "Chengdu", "成都市", "chengdu"])
def test_city_resolved_offline_in_chinese_or_english(admin, city):
    branch = services.create_branch(admin, services.BranchInput(name="Branch", city=city))
    assert (branch.country, branch.timezone) == ("CN", "Asia/Shanghai")
    assert branch.latitude == pytest.approx(30.67, abs=0.1)
    assert branch.longitude == pytest.approx(104.07, abs=0.1)
    assert branch.slug == "chengdu"


def test_london_gets_its_own_timezone_and_second_slug_is_unique(admin):
    first = services.create_branch(admin, services.BranchInput(name="A", city="London"))
    second = services.create_branch(admin, services.BranchInput(name="B", city="伦敦"))
    assert first.timezone == second.timezone == "Europe/London"
    assert (first.slug, second.slug) == ("london", "london-2")


def test_unknown_city_asks_for_coordinates_and_saves_nothing(admin):
    with pytest.raises(InvalidInput) as raised:
        services.create_branch(admin, services.BranchInput(name="X", city="Qwertyville"))
    assert "city" in raised.value.fields
    assert branch_count() == 0


def test_unknown_city_with_coordinates_is_accepted(admin):
    branch = services.create_branch(admin, services.BranchInput(
        name="Island", city="Somewhere small", latitude=31.0, longitude=121.9))
    assert branch.timezone == "Asia/Shanghai"
    assert (branch.latitude, branch.longitude) == (31.0, 121.9)


@pytest.mark.parametrize(("latitude", "longitude", "field"), [
    (91.0, 0.0, "latitude"), (-91.0, 0.0, "latitude"), (0.0, 181.0, "longitude"),
    (0.0, None, "longitude"), (None, 10.0, "latitude")])
def test_bad_coordinates_name_the_field(admin, latitude, longitude, field):
    with pytest.raises(InvalidInput) as raised:
        services.create_branch(admin, services.BranchInput(
            name="X", city="Nowhere", latitude=latitude, longitude=longitude))
    assert field in raised.value.fields


def test_duplicate_slug_conflicts(admin):
    make_branch(admin, "cd", "成都")
    with pytest.raises(Conflict) as raised:
        make_branch(admin, "cd", "北京")
    assert "slug" in raised.value.fields
    assert branch_count() == 1


def test_ambiguous_city_offers_candidates_on_the_page(client, admin):
    from branches.geography import AmbiguousPlace, resolve_place

    ambiguous = _an_ambiguous_name()
    with pytest.raises(AmbiguousPlace):
        resolve_place(ambiguous)
    login(client, admin)
    page = client.post("/branches/new", data={"name": "Amb", "city": ambiguous,
                                              "join_policy": "open", "locale": "en"})
    assert page.status_code == 200
    assert 'name="candidate"' in page.text
    choice = page.text.split('name="candidate"')[1].split('value="')[1].split('"')[0]
    created = client.post("/branches/new", data={"name": "Amb", "city": ambiguous,
                                                 "join_policy": "open", "locale": "en",
                                                 "candidate": choice})
    assert created.status_code == 302
    branch = db.session.scalar(select(Branch))
    assert f"{branch.latitude},{branch.longitude}" == choice


def _an_ambiguous_name() -> str:
    from branches.geography import AmbiguousPlace, resolve_place

    for name in ("San Jose", "Springfield", "Victoria", "Santa Cruz", "Richmond"):
        try:
            resolve_place(name)
        except AmbiguousPlace:
            return name
    raise AssertionError("no ambiguous city name found in the gazetteer")


def test_search_and_listing_with_member_counts(client, cast):
    page = client.get("/branches?q=成都")
    assert "成都 branch" in page.text
    assert "北京 branch" not in page.text
    summaries = services.branch_listing()
    counts = {s.branch.slug: s.member_count for s in summaries}
    assert counts == {"chengdu": 3, "beijing": 1}
    assert services.branch_listing("100%_") == []


def test_nearest_orders_by_geodesic_distance(admin):
    for slug, city in [("bj", "北京"), ("sh", "上海"), ("cd", "成都"), ("hz", "杭州"),
                       ("ldn", "London")]:
        make_branch(admin, slug, city)
    hangzhou = (30.27, 120.16)
    nearest = services.nearest_branches(*hangzhou, limit=3)
    assert [s.branch.slug for s in nearest] == ["hz", "sh", "bj"]
    assert nearest[1].distance_km == pytest.approx(165, abs=15)
    everything = services.nearest_branches(*hangzhou, limit=10)
    assert [s.branch.slug for s in everything][-1] == "ldn"
    within = services.nearest_branches(*hangzhou, limit=10, radius_km=300)
    assert [s.branch.slug for s in within] == ["hz", "sh"]


def test_nearest_page_by_typed_place(client, admin):
    make_branch(admin, "sh", "上海")
    make_branch(admin, "bj", "北京")
    page = client.get("/branches/nearest?place=天津")
    assert page.status_code == 200
    assert page.text.index("北京 branch") < page.text.index("上海 branch")
    unknown = client.get("/branches/nearest?place=Qwertyville")
    assert "Unknown city" in unknown.text


def test_nearest_page_by_browser_coordinates(client, admin):
    make_branch(admin, "sh", "上海")
    page = client.get("/branches/nearest?lat=31.2&lon=121.4")
    assert "上海 branch" in page.text
    bad = client.get("/branches/nearest?lat=95&lon=121.4")
    assert "上海 branch" not in bad.text
    assert "Number must be between -90" in bad.text


def test_branch_names_are_escaped(client, admin):
    make_branch(admin, "xss", "上海")
    branch = services.get_branch("xss")
    branch.name = "<script>alert(1)</script>"
    db.session.commit()
    page = client.get("/branches/xss")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
