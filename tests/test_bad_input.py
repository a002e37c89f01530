"""Bad input gets a clear answer, never a 5xx (shared/API.md, "Lists, errors and types").

The API answers a translated JSON error naming the field; a page re-shows its form with the
error next to the field; and nothing of a refused request is saved.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.routing import IntegerConverter

from branches.services import BranchInput, VenueInput, create_branch, save_venue
from planner.core.extensions import db
from planner.events.models import Booking, Event, EventStatus
from planner.events.services import EventInput, schedule
from planner.registrations.models import Registration
from tests.conftest import PASSWORD, bearer, login

YEAR = datetime.now(UTC).year + 1
TOO_BIG = 2**31
RULE_VARIABLE = re.compile(r"<(?:(\w+)(?:\([^)>]*\))?:)?(\w+)>")
EVENTS = "/api/v1/branches/chengdu/events"
JSON = {"Accept": "application/json"}  # as the door app asks


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def meetup(**fields: object) -> dict[str, object]:
    return {"title": "Go club", "starts_at": f"{YEAR}-06-06T19:00",
            "ends_at": f"{YEAR}-06-06T21:00", "online_url": "https://meet.example/go",
            "status": "published"} | fields


def form_meetup(**fields: str) -> dict[str, str]:
    return {"title": "Go club", "starts_at": f"{YEAR}-06-06T19:00",
            "ends_at": f"{YEAR}-06-06T21:00", "venue_id": "",
            "online_url": "https://meet.example/go", "status": "published"} | fields


def refused(response, field: str, status: int = 422) -> str:
    """The answer is a JSON error of `status` naming `field`; its message for the field."""
    assert response.status_code == status, response.text
    error = response.json["error"]
    assert field in error.get("fields", {}), error
    return error["fields"][field][0]


def shown_next_to(page, field: str) -> None:
    """The page re-shows its form with an error right below `field`."""
    assert page.status_code == 200, page.text
    assert f'id="{field}-error"' in page.text, page.text


@pytest.fixture
def lead(client, cast) -> dict[str, str]:
    return bearer(client, cast.lead)


@pytest.fixture
def hall(cast):
    venue = save_venue(cast.lead, cast.branch, VenueInput("Hall", "1 Road", 40))
    db.session.commit()
    return venue


@pytest.fixture
def published(cast, hall) -> Event:
    start = datetime(YEAR, 6, 1, 19)
    event = schedule(cast.lead, cast.branch, EventInput("Go", start, start + timedelta(hours=2),
                                                         venue_id=hall.id,
                                                         status=EventStatus.PUBLISHED))[0]
    db.session.commit()
    return event


# --- wrong JSON types ------------------------------------------------------------------------

@pytest.mark.parametrize(("field", "value"), [
    ("requires_approval", "no"),
    ("requires_approval", 1),
    ("title", ["a"]),
    ("title", 5),
    ("title", {"text": "Go"}),
    ("capacity", {"a": 1}),
    ("capacity", "20"),
    ("capacity", True),
    ("capacity", 2.5),
    ("starts_at", 20270606),
    ("skip_dates", {"a": 1}),
])
def test_a_field_of_the_wrong_json_type_is_refused_by_name(client, cast, lead, field, value):
    refused(client.post(EVENTS, headers=lead, json=meetup(**{field: value})), field)
    assert count(Event) == 0


def test_a_nested_field_of_the_wrong_json_type_is_named_by_its_path(client, cast, lead):
    body = meetup(repeat={"freq": "weekly", "count": "3"})
    refused(client.post(EVENTS, headers=lead, json=body), "repeat-count")
    assert count(Event) == 0


def test_repeat_given_as_a_word_is_validated_not_ignored(client, cast, lead):
    unknown = client.post(EVENTS, headers=lead, json=meetup(repeat="daily"))
    refused(unknown, "repeat-freq")
    # "weekly" is a supported frequency: read as {"freq": "weekly"}, which needs a count.
    weekly = client.post(EVENTS, headers=lead, json=meetup(repeat="weekly"))
    refused(weekly, "repeat-count")
    refused(client.post(EVENTS, headers=lead, json=meetup(repeat=7)), "repeat")
    assert count(Event) == 0
    series = client.post(EVENTS, headers=lead,
                         json=meetup(repeat={"freq": "weekly", "count": 2}))
    assert series.status_code == 201, series.text
    assert len(series.json) == 2


def test_json_booleans_and_numbers_of_the_right_type_are_read_exactly(client, cast, lead):
    created = client.post(EVENTS, headers=lead, json=meetup(requires_approval=False,
                                                            capacity=12, max_guests=0))
    assert created.status_code == 201, created.text
    event = db.session.get(Event, created.json[0]["id"])
    assert event.requires_approval is False and event.capacity == 12
    patched = client.patch(f"/api/v1/events/{event.id}", headers=lead,
                           json={"requires_approval": True})
    assert patched.status_code == 200, patched.text
    db.session.refresh(event)
    assert event.requires_approval is True


# --- ids beyond the database's range ---------------------------------------------------------

def _id_routes(app):
    return [rule for rule in app.url_map.iter_rules()
            if any(isinstance(c, IntegerConverter) for c in rule._converters.values())]


def test_every_integer_id_in_a_path_is_an_id_of_the_database_range(app):
    from planner.core.inputs import IdConverter

    routes = _id_routes(app)
    assert len(routes) > 40
    plain = [rule.rule for rule in routes
             if not all(isinstance(c, IdConverter) for c in rule._converters.values()
                        if isinstance(c, IntegerConverter))]
    assert plain == []


def _filled(rule, number: int) -> str:
    """The rule's path with `number` for every integer and a real slug for the rest."""
    def value(match: re.Match[str]) -> str:
        integer = isinstance(rule._converters[match[2]], IntegerConverter)
        return str(number) if integer else "chengdu"

    return RULE_VARIABLE.sub(value, rule.rule)


@pytest.mark.parametrize("number", [TOO_BIG, 10**30, 0])
def test_ids_beyond_the_database_range_are_not_found_on_every_route(app, client, cast, lead,
                                                                     number):
    login(client, cast.lead)
    for rule in _id_routes(app):
        path = _filled(rule, number)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            answer = client.open(path, method=method, headers=lead, json={})
            assert answer.status_code == 404, (method, path, answer.status_code)


def test_negative_ids_are_not_found(client, lead, published):
    assert client.get("/api/v1/events/-1").status_code == 404
    assert client.get(f"/events/-{published.id}").status_code == 404


def test_an_id_in_a_body_beyond_the_range_is_refused_by_name(client, cast, lead, published):
    refused(client.post(EVENTS, headers=lead, json=meetup(venue_id=TOO_BIG)), "venue_id")
    scan = client.post(f"/api/v1/events/{published.id}/checkins", headers=lead,
                       json={"registration_id": 10**20})
    refused(scan, "registration_id")
    assert count(Event) == 1


# --- NUL bytes and lone surrogates -----------------------------------------------------------

def test_nul_bytes_in_a_json_body_are_refused_by_name(client, cast, lead):
    refused(client.post(EVENTS, headers=lead, json=meetup(title="Go\x00club")), "title")
    raw = json.dumps(meetup(description="a\\u0000b")).replace("\\\\u0000", "\\u0000")
    answer = client.post(EVENTS, headers=lead, data=raw, content_type="application/json")
    refused(answer, "description")
    assert count(Event) == 0


def test_lone_surrogates_in_a_json_body_are_refused_by_name(client, cast, lead):
    raw = json.dumps(meetup(title="PLACEHOLDER")).replace("PLACEHOLDER", "Go \\ud800")
    refused(client.post(EVENTS, headers=lead, data=raw, content_type="application/json"),
            "title")
    pair = json.dumps(meetup(title="PLACEHOLDER")).replace("PLACEHOLDER", "Go \\ud83c\\udf75")
    created = client.post(EVENTS, headers=lead, data=pair, content_type="application/json")
    assert created.status_code == 201, created.text  # a surrogate pair is one character: 🍵
    assert created.json[0]["title"] == "Go 🍵"


def test_nul_bytes_in_a_query_are_refused_by_name(client, cast):
    refused(client.get("/api/v1/events?branch=chengdu%00"), "branch")
    refused(client.get("/api/v1/branches?q=a%00b"), "q")
    assert client.get("/branches/chengdu/events?month=2027-01%00").status_code == 400


def test_nul_bytes_in_a_path_are_refused(client, cast):
    answer = client.get("/api/v1/branches/cheng%00du")
    assert answer.status_code == 422
    assert answer.json["error"]["code"] == "invalid_input"
    page = client.get("/branches/cheng%00du")
    assert page.status_code == 400 and "<html" in page.text.lower()


def test_nul_bytes_in_a_page_form_are_shown_next_to_the_field(client, cast):
    login(client, cast.lead)
    page = client.post("/branches/chengdu/events/new", data=form_meetup(title="Go\x00club"))
    shown_next_to(page, "title")
    assert count(Event) == 0


# --- dates outside 2000–2100 -----------------------------------------------------------------

@pytest.mark.parametrize("moment", ["0001-01-01T10:00", "9999-12-31T22:00",
                                    "1999-12-31T23:00:00+00:00", "2101-01-01T00:00"])
def test_a_time_outside_the_years_2000_to_2100_is_refused_by_name(client, cast, lead, moment):
    refused(client.post(EVENTS, headers=lead, json=meetup(starts_at=moment)), "starts_at")
    assert count(Event) == 0


def test_a_repeat_end_date_outside_the_range_is_refused_by_name(client, cast, lead):
    body = meetup(repeat={"freq": "weekly", "until": "9999-12-31"})
    refused(client.post(EVENTS, headers=lead, json=body), "repeat-until")
    assert count(Event) == 0


@pytest.mark.parametrize(("url", "field"), [
    ("/api/v1/events?branch=chengdu&from=0001-01-01T00:00", "from"),
    ("/api/v1/events?branch=chengdu&to=9999-12-31T23:59:59", "to"),
    ("/api/v1/branches/chengdu/funnel?from=0001-01-01", "from"),
    ("/api/v1/branches/chengdu/funnel?to=9999-12-31", "to"),
])
def test_a_query_date_outside_the_range_is_refused_by_name(client, cast, lead, url, field):
    refused(client.get(url, headers=lead), field)


def test_booking_queries_outside_the_range_are_refused(client, hall):
    url = f"/api/v1/venues/{hall.id}/bookings?from=9999-12-31T23:00:00-12:00"
    refused(client.get(url), "from")


@pytest.mark.parametrize("value", ["0001-01", "9999-12", "0000-00", "2027-13"])
def test_a_month_page_outside_the_range_is_refused(client, cast, value):
    page = client.get(f"/branches/chengdu/events?month={value}")
    assert page.status_code == 422, page.text
    assert "month" in page.text


@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31", "2027-02-30"])
def test_a_venue_week_outside_the_range_is_refused(client, hall, value):
    page = client.get(f"/venues/{hall.id}/bookings?week={value}")
    assert page.status_code == 422, page.text
    assert "week" in page.text


def test_the_door_roster_refuses_a_since_outside_the_range(client, cast, published):
    login(client, cast.lead)
    answer = client.get(f"/events/{published.id}/door/roster.json"
                        "?since=0001-01-01T00:00:00%2B14:00", headers=JSON)
    refused(answer, "since")


def test_an_out_of_range_date_in_a_page_form_is_shown_next_to_the_field(client, cast):
    login(client, cast.lead)
    page = client.post("/branches/chengdu/events/new",
                       data=form_meetup(starts_at="0001-01-01T10:00"))
    shown_next_to(page, "starts_at")
    assert count(Event) == 0


# --- text without a visible character --------------------------------------------------------

@pytest.mark.parametrize("invisible", ["\u200b\u200e", "\u202e\u2066", " \u3000\ufeff", "\u3164"])
def test_a_title_without_a_visible_character_is_refused_by_name(client, cast, lead, invisible):
    refused(client.post(EVENTS, headers=lead, json=meetup(title=invisible)), "title")
    assert count(Event) == 0


def test_other_invisible_texts_are_refused_by_name(client, cast, lead, hall, published):
    refused(client.post("/api/v1/branches/chengdu/venues", headers=lead,
                        json={"name": "\u200b", "address": "1 Road", "capacity": 5}), "name")
    refused(client.post(f"/api/v1/events/{published.id}/cancel", headers=lead,
                        json={"message": "\u200d\u2060"}), "message")
    refused(client.post(f"/api/v1/venues/{hall.id}/bookings", headers=lead, json={
        "starts_at": f"{YEAR}-07-01T09:00", "ends_at": f"{YEAR}-07-01T12:00",
        "note": "\u200b"}), "note")
    assert count(Booking) == 1


def test_visible_text_with_invisible_characters_around_it_is_kept(client, cast, lead):
    created = client.post(EVENTS, headers=lead, json=meetup(title="\u200bGo 围棋\u200e"))
    assert created.status_code == 201, created.text


def test_an_invisible_title_in_a_page_form_is_shown_next_to_the_field(client, cast):
    login(client, cast.lead)
    page = client.post("/branches/chengdu/events/new", data=form_meetup(title="\u200b\u200e"))
    shown_next_to(page, "title")
    assert count(Event) == 0


# --- nesting ---------------------------------------------------------------------------------

@pytest.mark.parametrize("url", [EVENTS, "/api/v1/auth/token", "/api/v1/users"])
def test_json_nested_deeper_than_32_is_refused_before_parsing(client, lead, url):
    for depth in (33, 50_000):
        body = "[" * depth + "]" * depth
        answer = client.post(url, headers=lead, data=body, content_type="application/json")
        assert answer.status_code == 400, (depth, answer.status_code)
        assert answer.json["error"]["code"] == "too_deep"


def test_json_nested_32_deep_or_with_brackets_in_strings_is_read(client, cast, lead):
    nested = meetup(extra=json.loads("[" * 31 + "]" * 31))  # the object is the 32nd level
    assert client.post(EVENTS, headers=lead, json=nested).status_code == 201
    brackets = meetup(title="[[[{{{" * 20, description='"]\\"[' * 40)
    assert client.post(EVENTS, headers=lead, json=brackets).status_code == 201


def test_deep_json_is_refused_before_the_rate_limits_read_the_body(make_app):
    """The per-account login limit reads the email from the body before the view runs."""
    limited = make_app(RATELIMIT_ENABLED=True).test_client()
    depth = 50_000
    answer = limited.post("/api/v1/auth/token", data='{"email": ' + "[" * depth + "]" * depth
                          + "}", content_type="application/json")
    assert answer.status_code == 400
    assert answer.json["error"]["code"] == "too_deep"


def test_the_door_sync_refuses_deep_json_too(client, cast, published):
    login(client, cast.lead)
    depth = 50_000
    answer = client.post(f"/events/{published.id}/door/sync", data="{" + '"a":[' * depth,
                         content_type="application/json", headers=JSON)
    assert answer.status_code == 400
    assert answer.json["error"]["code"] == "too_deep"


# --- impossible skip_dates -------------------------------------------------------------------

@pytest.mark.parametrize("days", ["2029-02-30", f"{YEAR}-06-13,2029-13-01", "0001-01-01",
                                  "next tuesday"])
def test_impossible_skip_dates_are_refused_by_name(client, cast, lead, days):
    body = meetup(repeat={"freq": "weekly", "count": 3}, skip_dates=days)
    refused(client.post(EVENTS, headers=lead, json=body), "skip_dates")
    assert count(Event) == 0


def test_skip_dates_that_exist_are_skipped(client, cast, lead):
    body = meetup(repeat={"freq": "weekly", "count": 3}, skip_dates=f"{YEAR}-06-13")
    created = client.post(EVENTS, headers=lead, json=body)
    assert created.status_code == 201, created.text
    assert [e["starts_at"][:10] for e in created.json] == [f"{YEAR}-06-06", f"{YEAR}-06-20"]


def test_impossible_skip_dates_in_a_page_form_are_shown_next_to_the_field(client, cast):
    login(client, cast.lead)
    page = client.post("/branches/chengdu/events/new", data=form_meetup(
        skip_dates="2029-02-30", **{"repeat-freq": "weekly", "repeat-count": "3"}))
    shown_next_to(page, "skip_dates")
    assert count(Event) == 0


# --- times around a change of the clocks -----------------------------------------------------

@pytest.fixture
def berlin(admin):
    branch = create_branch(admin, BranchInput(name="Berlin branch", city="Berlin",
                                              slug="berlin", timezone="Europe/Berlin"))
    db.session.commit()
    return branch


@pytest.mark.parametrize(("starts", "utc"), [
    ("2027-10-31T01:30:00+01:00", datetime(2027, 10, 31, 0, 30, tzinfo=UTC)),
    ("2027-10-31T02:30:00+02:00", datetime(2027, 10, 31, 0, 30, tzinfo=UTC)),
    ("2027-10-31T02:30:00+01:00", datetime(2027, 10, 31, 1, 30, tzinfo=UTC)),
])
def test_an_explicit_offset_in_a_fold_is_taken_exactly_as_given(client, admin, berlin, starts,
                                                                  utc):
    headers = bearer(client, admin)
    body = meetup(starts_at=starts, ends_at="2027-10-31T05:00:00+01:00")
    created = client.post("/api/v1/branches/berlin/events", headers=headers, json=body)
    assert created.status_code == 201, created.text
    event = db.session.get(Event, created.json[0]["id"])
    assert event.starts_at.replace(tzinfo=UTC) == utc
    assert datetime.fromisoformat(created.json[0]["starts_at"]) == utc
    # Editing something else keeps the time exactly, though its wall time happens twice.
    renamed = client.patch(f"/api/v1/events/{event.id}", headers=headers, json={"title": "New"})
    assert renamed.status_code == 200, renamed.text
    assert datetime.fromisoformat(renamed.json[0]["starts_at"]) == utc


@pytest.mark.parametrize("naive", ["2027-10-31T02:30", "2027-03-28T02:30"])
def test_a_naive_time_in_a_fold_or_a_gap_is_refused_by_name(client, admin, berlin, naive):
    headers = bearer(client, admin)
    body = meetup(starts_at=naive, ends_at=naive[:11] + "05:00")
    refused(client.post("/api/v1/branches/berlin/events", headers=headers, json=body),
            "starts_at")
    assert count(Event) == 0


def test_a_hold_with_an_explicit_offset_in_a_fold_is_taken_as_given(client, admin, berlin):
    venue = save_venue(admin, berlin, VenueInput("Saal", "Weg 1", 20))
    db.session.commit()
    answer = client.post(f"/api/v1/venues/{venue.id}/bookings", headers=bearer(client, admin),
                         json={"starts_at": "2027-10-31T02:30:00+01:00",
                               "ends_at": "2027-10-31T04:00:00+01:00"})
    assert answer.status_code == 201, answer.text
    assert datetime.fromisoformat(answer.json["starts_at"]) == datetime(2027, 10, 31, 1, 30,
                                                                        tzinfo=UTC)


# --- nothing half-saved ---------------------------------------------------------------------

def test_a_refused_rsvp_saves_nothing(client, cast, published):
    headers = bearer(client, cast.member)
    url = f"/api/v1/events/{published.id}/registrations"
    refused(client.post(url, headers=headers, json={"guests": "0"}), "guests")
    refused(client.post(url, headers=headers, json={"invite": "a\x00"}), "invite")
    assert count(Registration) == 0


# --- every form follows the house rules ------------------------------------------------------

def _all_subclasses(cls: type) -> list[type]:
    found, stack = [], [cls]
    while stack:
        for sub in stack.pop().__subclasses__():
            found.append(sub)
            stack.append(sub)
    return found


def test_every_form_of_the_house_follows_its_rules(app):
    from flask_wtf import FlaskForm
    from wtforms import Form

    from planner.core.forms import AppForm, SubForm

    ours = [form for form in _all_subclasses(Form)
            if form.__module__.startswith(("planner.", "branches."))
            and form not in (AppForm, SubForm)]
    assert len(ours) > 25
    astray = [form.__qualname__ for form in ours
              if not issubclass(form, AppForm if issubclass(form, FlaskForm) else SubForm)]
    assert astray == []


@pytest.mark.parametrize("limit", [1, 7, 10, 99, 100, 305, 2**31 - 1])
def test_the_id_pattern_matches_exactly_one_to_the_limit(limit):
    from planner.core.inputs import digits_up_to

    pattern = re.compile(digits_up_to(limit) + "$")
    samples = [*range(0, 1000), limit - 1, limit, limit + 1, limit * 10, 10**12]
    assert [n for n in samples if bool(pattern.match(str(n))) != (1 <= n <= limit)] == []
    assert not pattern.match("007")  # ids have no leading zeros


def test_refusals_are_translated(client):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    answer = client.post("/api/v1/users", json={"email": "new@example.com", "password": PASSWORD,
                                                "display_name": "\u200b", "locale": 1})
    assert refused(answer, "display_name") == "请输入看得见的文字：这里只有空格或不可见字符。"
    assert answer.json["error"]["fields"]["locale"] == ["必须是文本。"]


@pytest.mark.parametrize(("url", "field"), [("/branches/chengdu/funnel?from=0001-01-01", "from"),
                                            ("/admin/branches/health?to=9999-12-31", "to")])
def test_an_out_of_range_date_on_a_report_page_is_shown_next_to_the_field(client, cast, admin,
                                                                        url, field):
    login(client, admin)
    shown_next_to(client.get(url), field)
