"""The JSON API: auth, sign-up, branches, nearest, memberships, venues, errors."""

from __future__ import annotations

from openapi_spec_validator import validate

from tests.conftest import PASSWORD, bearer


def test_token_auth(client, make_user):
    user = make_user(email="api@example.com")
    wrong = client.post("/api/v1/auth/token", json={"email": user.email, "password": "x" * 9})
    assert wrong.status_code == 401
    assert wrong.json["error"]["code"] == "invalid_credentials"
    headers = bearer(client, user)
    assert client.get("/api/v1/me", headers=headers).json["email"] == "api@example.com"
    assert client.get("/api/v1/me").status_code == 401
    garbage = client.get("/api/v1/me", headers={"Authorization": "Bearer nope"})
    assert garbage.status_code == 401
    assert garbage.json["error"]["code"] == "unauthorized"


def test_revoked_token_stops_working(client, make_user):
    from planner.accounts.services import revoke_api_tokens

    user = make_user()
    headers = bearer(client, user)
    revoke_api_tokens(user)
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_api_sign_up_and_errors(client):
    created = client.post("/api/v1/users", json={
        "email": "bot@example.com", "password": PASSWORD, "display_name": "Bot"})
    assert created.status_code == 201
    assert created.json["locale"] is None  # no choice made: pages follow the browser
    again = client.post("/api/v1/users", json={
        "email": "BOT@example.com", "password": PASSWORD, "display_name": "Bot"})
    assert again.status_code == 409
    assert "email" in again.json["error"]["fields"]
    bad = client.post("/api/v1/users", json={"email": "nope", "password": "short"})
    assert bad.status_code == 422
    assert set(bad.json["error"]["fields"]) == {"email", "password", "display_name"}
    not_object = client.post("/api/v1/users", json=[1, 2])
    assert not_object.status_code == 422


def test_branch_create_and_read(client, admin):
    headers = bearer(client, admin)
    created = client.post("/api/v1/branches", headers=headers,
                          json={"name": "成都分站", "city": "Chengdu"})
    assert created.status_code == 201
    body = created.json
    assert {k: body[k] for k in ("slug", "city", "country", "timezone", "member_count")} == {
        "slug": "chengdu", "city": "Chengdu", "country": "CN", "timezone": "Asia/Shanghai",
        "member_count": 0}
    assert client.get("/api/v1/branches/chengdu").json["name"] == "成都分站"
    assert client.get("/api/v1/branches").json[0]["slug"] == "chengdu"
    assert client.get("/api/v1/branches/nope").status_code == 404


def test_branch_create_errors(client, admin):
    headers = bearer(client, admin)
    unknown = client.post("/api/v1/branches", headers=headers,
                          json={"name": "X", "city": "Qwertyville"})
    assert unknown.status_code == 422
    assert "city" in unknown.json["error"]["fields"]
    with_coords = client.post("/api/v1/branches", headers=headers, json={
        "name": "X", "city": "Qwertyville", "latitude": 30.1, "longitude": 120.2})
    assert with_coords.status_code == 201
    assert with_coords.json["timezone"] == "Asia/Shanghai"
    out_of_range = client.post("/api/v1/branches", headers=headers, json={
        "name": "X", "city": "Y", "latitude": 95, "longitude": 120.2})
    assert out_of_range.status_code == 422
    assert "latitude" in out_of_range.json["error"]["fields"]
    not_a_number = client.post("/api/v1/branches", headers=headers, json={
        "name": "X", "city": "Y", "latitude": "north", "longitude": 1})
    assert "latitude" in not_a_number.json["error"]["fields"]
    empty = client.post("/api/v1/branches", headers=headers, json={})
    assert set(empty.json["error"]["fields"]) == {"name", "city"}


def test_nearest(client, admin):
    headers = bearer(client, admin)
    for city in ("北京", "上海", "成都"):
        assert client.post("/api/v1/branches", headers=headers,
                           json={"name": city, "city": city}).status_code == 201
    nearest = client.get("/api/v1/branches/nearest?lat=30.6&lon=104.0&limit=2").json
    assert [b["city"] for b in nearest] == ["成都", "上海"] or [b["city"] for b in nearest] == [
        "成都", "北京"]
    assert nearest[0]["distance_km"] < 20
    assert nearest[0]["distance_km"] <= nearest[1]["distance_km"]
    missing = client.get("/api/v1/branches/nearest?lat=30")
    assert missing.status_code == 422
    assert "lon" in missing.json["error"]["fields"]
    too_many = client.get("/api/v1/branches/nearest?lat=30&lon=100&limit=1000")
    assert "limit" in too_many.json["error"]["fields"]


def test_membership_api(client, cast):
    member = bearer(client, cast.outsider)
    joined = client.post("/api/v1/branches/chengdu/join", headers=member)
    assert joined.json["status"] == "active"
    lead = bearer(client, cast.lead)
    staffed = client.put(f"/api/v1/branches/chengdu/members/{cast.outsider.id}",
                         headers=lead, json={"role": "staff"})
    assert staffed.json["role"] == "staff"
    bad_role = client.put(f"/api/v1/branches/chengdu/members/{cast.outsider.id}",
                          headers=lead, json={"role": "king"})
    assert bad_role.status_code == 422
    no_reason = client.delete(f"/api/v1/branches/chengdu/members/{cast.outsider.id}",
                              headers=lead, json={})
    assert no_reason.status_code == 422
    assert "reason" in no_reason.json["error"]["fields"]
    banned = client.delete(f"/api/v1/branches/chengdu/members/{cast.outsider.id}",
                           headers=lead, json={"reason": "spam", "ban": True})
    assert banned.status_code == 204
    rejoin = client.post("/api/v1/branches/chengdu/join", headers=member)
    assert rejoin.status_code == 403
    assert rejoin.json["error"]["code"] == "banned"
    log = client.get("/api/v1/branches/chengdu/audit", headers=lead).json
    assert log[0]["action"] == "banned" and log[0]["detail"] == "spam"


def test_venue_api(client, cast):
    lead = bearer(client, cast.lead)
    created = client.post("/api/v1/branches/chengdu/venues", headers=lead, json={
        "name": "Hall", "address": "1 Road", "capacity": 30, "latitude": 30.6,
        "longitude": 104.1})
    assert created.status_code == 201
    assert created.json["coordinates_approximate"] is False
    venue_id = created.json["id"]
    listed = client.get("/api/v1/branches/chengdu/venues").json
    assert [v["name"] for v in listed] == ["Hall"]
    zero = client.put(f"/api/v1/venues/{venue_id}", headers=lead,
                      json={"name": "Hall", "address": "1 Road", "capacity": 0})
    assert zero.status_code == 422
    assert "capacity" in zero.json["error"]["fields"]
    fraction = client.put(f"/api/v1/venues/{venue_id}", headers=lead,
                          json={"name": "Hall", "address": "1 Road", "capacity": 1.5})
    assert "capacity" in fraction.json["error"]["fields"]
    assert client.get(f"/api/v1/venues/{venue_id}").json["capacity"] == 30
    assert client.get("/api/v1/venues/999999").status_code == 404


def test_openapi_document_lists_the_routes(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.1")
    for path in ("/api/v1/auth/token", "/api/v1/branches", "/api/v1/branches/nearest",
                 "/api/v1/branches/{slug}/join", "/api/v1/branches/{slug}/members/{user_id}",
                 "/api/v1/branches/{slug}/venues", "/api/v1/venues/{venue_id}"):
        assert path in spec["paths"], path
    create = spec["paths"]["/api/v1/branches"]["post"]
    schema = create["requestBody"]["content"]["application/json"]["schema"]
    assert set(schema["required"]) == {"name", "city"}
    assert schema["properties"]["latitude"]["maximum"] == 90
    assert create["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/BranchOut"}
    # Its own statuses, and those of every operation with a body (openapi.EVERY_OPERATION).
    assert set(create["responses"]) == {"201", "400", "401", "403", "409", "413", "422", "429",
                                        "503"}
    branch_out = spec["components"]["schemas"]["BranchOut"]
    assert branch_out["properties"]["join_policy"] == {"type": "string",
                                                       "enum": ["open", "approval"]}
    events = spec["paths"]["/api/v1/branches/{slug}/events"]["post"]
    repeat = events["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert repeat["repeat"]["properties"]["freq"]["enum"] == ["", "weekly", "biweekly",
                                                               "monthly"]
    validate(spec)  # a real OpenAPI 3.1 validator, not ours


def test_unknown_api_route_is_json(client):
    response = client.get("/api/v1/nope")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"
