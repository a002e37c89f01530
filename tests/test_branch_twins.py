"""One branch per name in a city (a second submit must not found a twin), and ambiguous
cities told apart by their province."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from branches.models import Branch
from branches.services import BranchInput, BranchSettings, create_branch, update_branch
from planner.core.errors import InvalidInput
from planner.core.extensions import db
from tests.conftest import bearer, login
from tests.test_booking_concurrency import post_json, token

SUZHOU_JIANGSU = {"latitude": 31.30408, "longitude": 120.59538}


def branch_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Branch)) or 0


def suzhou(admin, name: str, slug: str) -> Branch:
    return create_branch(admin, BranchInput(name=name, city="Suzhou", country="CN", slug=slug,
                                            **SUZHOU_JIANGSU))


@pytest.mark.parametrize("twin", ["Suzhou Chapter", " suzhou  CHAPTER ", "SUZHOU\tchapter"])
def test_a_second_branch_of_the_same_name_in_the_city_is_refused(admin, twin):
    suzhou(admin, "Suzhou Chapter", "suzhou")
    with pytest.raises(InvalidInput) as raised:
        suzhou(admin, twin, "suzhou-2")
    assert raised.value.fields == {"name": ["Suzhou already has a branch called "
                                            f"{' '.join(twin.split())}."]}
    assert branch_count() == 1
    suzhou(admin, "Suzhou Makers", "suzhou-makers")  # another name in the city is fine
    create_branch(admin, BranchInput(name="Suzhou Chapter", city="Hangzhou", slug="hz"))
    assert branch_count() == 3


def test_spaces_are_collapsed_when_stored(admin):
    assert suzhou(admin, "  Suzhou   Chapter ", "suzhou").name == "Suzhou Chapter"


def test_renaming_into_a_twin_is_refused(admin):
    suzhou(admin, "Suzhou Chapter", "suzhou")
    other = suzhou(admin, "Suzhou Makers", "makers")
    with pytest.raises(InvalidInput) as raised:
        update_branch(admin, other, BranchSettings("suzhou chapter", "", other.join_policy, "en"))
    assert "name" in raised.value.fields
    update_branch(admin, other, BranchSettings("Suzhou Makers", "new", other.join_policy, "en"))


def test_the_database_refuses_a_twin_written_past_the_service(admin):
    suzhou(admin, "Suzhou Chapter", "suzhou")
    db.session.add(Branch(slug="sneaky", name="SUZHOU CHAPTER", city="suzhou", country="CN",
                          timezone="Asia/Shanghai", **SUZHOU_JIANGSU))
    with pytest.raises(IntegrityError, match=r"uq_branches_name_city|branches\.name_key"):
        db.session.commit()
    db.session.rollback()


def test_api_refuses_the_twin_with_422_naming_name(client, admin):
    headers = bearer(client, admin)
    body = {"name": "Suzhou Chapter", "city": "Suzhou", "country": "CN"} | SUZHOU_JIANGSU
    assert client.post("/api/v1/branches", headers=headers, json=body).status_code == 201
    twin = client.post("/api/v1/branches", headers=headers, json=body)
    assert twin.status_code == 422
    assert list(twin.json["error"]["fields"]) == ["name"]
    assert branch_count() == 1


def test_double_submit_at_once_founds_one_branch(live_server, admin):
    headers = token(live_server, admin)
    requests = 8
    barrier = threading.Barrier(requests)

    def submit(n: int) -> tuple[int, dict]:
        barrier.wait()
        return post_json(f"{live_server}/api/v1/branches", {
            "name": "Suzhou Chapter", "city": "Suzhou", "country": "CN", "slug": f"sz-{n}",
            **SUZHOU_JIANGSU}, headers)

    with ThreadPoolExecutor(max_workers=requests) as pool:
        results = list(pool.map(submit, range(requests)))
    assert sorted(status for status, _ in results) == [201] + [422] * (requests - 1), results
    assert all(list(body["error"]["fields"]) == ["name"] for status, body in results
               if status == 422)
    assert branch_count() == 1


# --- ambiguous cities: which province --------------------------------------------------------

def test_candidates_name_their_province(client, admin):
    login(client, admin)
    page = client.post("/branches/new", data={"name": "SZ", "city": "Suzhou",
                                              "join_policy": "open", "locale": "en"})
    assert "Suzhou, Jiangsu, CN (Asia/Shanghai)" in page.text
    assert "Suzhou, Anhui, CN (Asia/Shanghai)" in page.text
    api = client.post("/api/v1/branches", headers=bearer(client, admin),
                      json={"name": "SZ", "city": "Suzhou"})
    assert api.status_code == 422
    assert {c["region"] for c in api.json["error"]["candidates"]} >= {"Jiangsu", "Anhui"}


def test_candidates_name_their_province_in_chinese(client, make_user):
    login(client, make_user("管理员", admin=True, locale="zh_CN"))
    page = client.post("/branches/new", data={"name": "SZ", "city": "Suzhou",
                                              "join_policy": "open", "locale": "zh_CN"})
    assert "Suzhou, 江苏, CN (Asia/Shanghai)" in page.text
    assert "Suzhou, 安徽, CN (Asia/Shanghai)" in page.text
