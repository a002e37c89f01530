"""Doors scanning at the same time over real HTTP: one check-in per ticket, a complete log."""

from __future__ import annotations

import json
import random
import threading
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from planner.accounts.services import issue_api_token
from planner.checkin.models import CheckinScan, ScanOutcome
from planner.core.extensions import db
from planner.registrations import services as registrations
from planner.registrations.models import Registration
from tests.test_checkin import meetup
from tests.test_rsvp_concurrency import members


def post(url: str, token: str, body: dict[str, object]) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(),
                                     method="POST", headers={"Content-Type": "application/json",
                                                             "Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def scan(url: str, token: str, code: str, nonce: str | None = None) -> tuple[int, str]:
    status, answer = post(url, token, {"ticket_code": code} | ({"nonce": nonce} if nonce else {}))
    return status, str(answer["status"])


def tickets(cast, count: int) -> tuple[int, list[str]]:
    event = meetup(cast, seats=count)
    for person in members(count):
        registrations.rsvp(person, event.id)
    codes = list(db.session.scalars(select(Registration.ticket_code).where(
        Registration.event_id == event.id)))
    return event.id, codes


def test_two_doors_scanning_one_ticket_at_the_same_moment(live_server, cast):
    event_id, codes = tickets(cast, 10)
    doors = [issue_api_token(cast.staff), issue_api_token(cast.lead)]
    db.session.commit()
    url = f"{live_server}/api/v1/events/{event_id}/checkins"
    for code in codes:
        barrier = threading.Barrier(2)

        def at_the_door(token: str, code: str = code, barrier=barrier) -> tuple[int, str]:
            barrier.wait()
            return scan(url, token, code)

        with ThreadPoolExecutor(max_workers=2) as pool:
            answers = sorted(pool.map(at_the_door, doors))
        assert answers == [(200, "already_checked_in"), (201, "ok")]


def test_one_scan_sent_twice_at_the_same_moment_counts_once(live_server, cast):
    """A door app retrying while its first request is still in flight: both copies carry the
    nonce; whichever commits second answers as the first did, and the log holds one scan."""
    event_id, codes = tickets(cast, 10)
    token = issue_api_token(cast.staff)
    db.session.commit()
    url = f"{live_server}/api/v1/events/{event_id}/checkins"
    for number, code in enumerate(codes):
        barrier = threading.Barrier(2)

        def send(_copy: int, code: str = code, nonce: str = f"nonce-{number}",
                 barrier=barrier) -> tuple[int, str]:
            barrier.wait()
            return scan(url, token, code, nonce)

        with ThreadPoolExecutor(max_workers=2) as pool:
            assert list(pool.map(send, range(2))) == [(201, "ok"), (201, "ok")]
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).where(
        CheckinScan.event_id == event_id)) == len(codes)


def test_one_walk_in_sent_twice_at_the_same_moment_registers_once(live_server, cast):
    """The door app resending a walk-in while the first copy is still in flight: both copies
    carry its nonce; the person is registered (and takes a seat) once, and both hear the same."""
    event_id = meetup(cast, seats=20).id
    token = issue_api_token(cast.staff)
    db.session.commit()
    url = f"{live_server}/api/v1/events/{event_id}/walk-ins"
    for number in range(10):
        barrier = threading.Barrier(2)
        body = {"name": f"Walk-in {number}", "guests": 1, "nonce": f"walk-{number}"}

        def send(_copy: int, body: dict[str, object] = body,
                 barrier=barrier) -> tuple[int, object, object]:
            barrier.wait()
            status, answer = post(url, token, body)
            return status, answer["status"], answer["registration_id"]

        with ThreadPoolExecutor(max_workers=2) as pool:
            first, second = pool.map(send, range(2))
        assert first == second and first[:2] == (201, "ok")
    db.session.expire_all()
    walk_ins = db.session.execute(select(Registration.attendee_name, Registration.guests).where(
        Registration.event_id == event_id, Registration.walk_in)).all()
    assert sorted(walk_ins) == sorted((f"Walk-in {n}", 1) for n in range(10))
    assert db.session.scalar(select(func.count()).where(
        CheckinScan.event_id == event_id)) == 10


def test_500_scans_from_8_doors_over_200_tickets(live_server, cast):
    event_id, codes = tickets(cast, 200)
    doors = [issue_api_token(cast.staff if n % 2 else cast.lead) for n in range(8)]
    db.session.commit()
    # Every ticket once, then 300 repeats picked at random; shuffled and dealt to 8 doors.
    plan = codes + random.Random(7).choices(codes, k=300)
    random.Random(8).shuffle(plan)
    url = f"{live_server}/api/v1/events/{event_id}/checkins"

    def door(number: int) -> list[tuple[int, str]]:
        return [scan(url, doors[number], code) for code in plan[number::8]]

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = [answer for answers in pool.map(door, range(8)) for answer in answers]

    assert Counter(answers) == {(201, "ok"): 200, (200, "already_checked_in"): 300}
    db.session.expire_all()
    log = db.session.execute(select(CheckinScan.outcome, func.count()).where(
        CheckinScan.event_id == event_id).group_by(CheckinScan.outcome)).all()
    assert dict(log) == {ScanOutcome.OK: 200, ScanOutcome.ALREADY_CHECKED_IN: 300}
    ok_per_ticket = db.session.execute(
        select(CheckinScan.registration_id, func.count()).where(
            CheckinScan.event_id == event_id, CheckinScan.outcome == ScanOutcome.OK)
        .group_by(CheckinScan.registration_id)).all()
    assert len(ok_per_ticket) == 200 and {count for _id, count in ok_per_ticket} == {1}
    assert db.session.scalar(select(func.count()).where(
        Registration.event_id == event_id, Registration.checked_in_at.is_(None))) == 0


def test_two_walk_ins_for_the_last_seat_at_the_same_moment(live_server, cast):
    """Two doors letting different people in for a meetup's last seat: one comes in, the other
    hears that the meetup is full (a walk-in locks the meetup as an RSVP does)."""
    events = [meetup(cast, seats=1, title=f"Small room {n}").id for n in range(5)]
    doors = [issue_api_token(cast.staff), issue_api_token(cast.lead)]
    db.session.commit()
    for event_id in events:
        url = f"{live_server}/api/v1/events/{event_id}/walk-ins"
        barrier = threading.Barrier(2)

        def let_in(token: str, url: str = url, barrier=barrier) -> int:
            barrier.wait()
            return post(url, token, {"name": f"Walk-in {token[:4]}"})[0]

        with ThreadPoolExecutor(max_workers=2) as pool:
            assert sorted(pool.map(let_in, doors)) == [201, 409]
