"""Door staff check people in on a phone at the venue: online, offline (the page reloads from its
service worker and the queue syncs by itself), two doors scanning one ticket, and the camera."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import segno
from PIL import Image
from playwright.sync_api import Page, expect
from sqlalchemy import select

from branches.services import VenueInput, save_venue
from planner.checkin.models import CheckinScan, ScanOutcome
from planner.core.extensions import db
from planner.events import services as events
from planner.events.models import EventStatus
from planner.registrations import services as registrations
from planner.registrations.models import Registration
from planner.registrations.tickets import payload
from tests.conftest import PASSWORD, door_open
from tests.e2e.conftest import CHROMIUM, CHROMIUM_FLAGS

pytestmark = pytest.mark.browser
SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@dataclass
class Meetup:
    id: int
    tickets: dict[str, str]  # attendee name → QR payload

    @property
    def door(self) -> str:
        return f"/events/{self.id}/door"


@pytest.fixture
def meetup(cast, make_user) -> Meetup:
    """A published meetup: 王小明 (initials wxm), Alice Zhao (phone …8000), Émile Qian (+1 guest)
    going, and Carol Chen who cancelled."""
    hall = save_venue(cast.lead, cast.branch, VenueInput("Tea house", "8 Jinli Road", 40))
    starts, ends = door_open(cast.branch, hours=3)
    [event] = events.schedule(cast.lead, cast.branch, events.EventInput(
        title="Board games", starts_local=starts, ends_local=ends, venue_id=hall.id, max_guests=2,
        status=EventStatus.PUBLISHED))
    names = ("王小明", "Alice Zhao", "Émile Qian", "Carol Chen")
    people = {name: make_user(name) for name in names}
    people["Alice Zhao"].phone = "+86 138 0013 8000"
    tickets = {}
    for name, user in people.items():
        registration = registrations.rsvp(user, event.id, guests=1 if name == "Émile Qian" else 0)
        tickets[name] = payload(registration.ticket_code)
    registrations.cancel(people["Carol Chen"], event.id)
    db.session.commit()
    return Meetup(event.id, tickets)


@pytest.fixture
def requests_seen(app) -> Iterator[list[str]]:
    """The paths of the requests that reach the live server, to prove what the service worker
    answered on its own."""
    seen: list[str] = []
    inner = app.wsgi_app

    def recording(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        seen.append(environ["PATH_INFO"])
        return inner(environ, start_response)

    app.wsgi_app = recording
    yield seen
    app.wsgi_app = inner


@pytest.fixture
def csp_violations() -> list[str]:
    """What pages' consoles say about Content-Security-Policy violations (see watch_csp)."""
    return []


def watch_csp(page: Page, violations: list[str]) -> None:
    """Collect the console's CSP complaints; the site's policy has no 'unsafe-inline', so an
    inline script, handler or style="" on the door page would be reported and blocked."""
    page.on("response", lambda response: violations.append(f"no CSP on {response.url}")
            if response.request.resource_type == "document"
            and "script-src 'self'" not in response.headers.get("content-security-policy", "")
            else None)
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)


def open_door(page: Page, live_server: str, meetup: Meetup) -> None:
    """Open the door page and wait until the list is on the phone and the page opens offline."""
    page.goto(live_server + meetup.door)
    door = page.locator("#door")
    expect(door).to_have_attribute("data-roster-stored", "true")
    expect(door).to_have_attribute("data-offline-ready", "true")
    expect(page.locator("#door-roster")).to_have_text(
        "Attendee list stored on this phone (4 names).")


def scan(page: Page, text: str) -> None:
    page.fill("#scan-code", text)
    page.press("#scan-code", "Enter")


def expect_result(page: Page, kind: str, text: str | re.Pattern[str]) -> None:
    expect(page.locator("#door-result-text")).to_have_text(text)
    expect(page.locator("#door-result")).to_have_class(f"door-result is-{kind}")


def expect_waiting(page: Page, count: int) -> None:
    expect(page.locator("#door-waiting")).to_have_text(f"Waiting to be sent: {count}")
    expect(page.locator("#door")).to_have_attribute("data-waiting", str(count))


def expect_counts(page: Page, people: tuple[int, int], parties: tuple[int, int]) -> None:
    expect(page.locator("#count-checked-in")).to_have_text(str(people[0]))
    expect(page.locator("#count-expected")).to_have_text(str(people[1]))
    expect(page.locator("#count-checked-in-parties")).to_have_text(str(parties[0]))
    expect(page.locator("#count-expected-parties")).to_have_text(str(parties[1]))


def go_offline(page: Page) -> None:
    page.context.set_offline(True)
    expect(page.locator("#door-network")).to_have_class("door-network is-offline")


def go_online(page: Page) -> None:
    page.context.set_offline(False)
    expect(page.locator("#door-network-text")).to_have_text("Online")


def registration(meetup: Meetup, name: str) -> Registration:
    return next(r for r in db.session.scalars(
        select(Registration).where(Registration.event_id == meetup.id)) if r.name == name)


def scan_log(meetup: Meetup) -> list[tuple[str, ScanOutcome]]:
    return [(scan.registration.name if scan.registration else "", scan.outcome)
            for scan in db.session.scalars(select(CheckinScan).where(
                CheckinScan.event_id == meetup.id).order_by(CheckinScan.id))]


@SQLITE
def test_door_online_scan_search_undo_and_walk_in(app, log_in, live_server, cast, meetup,
                                                  csp_violations):
    app.config["WTF_CSRF_ENABLED"] = True  # the sync must send the page's token
    page = log_in(cast.staff.email)
    watch_csp(page, csp_violations)
    open_door(page, live_server, meetup)
    expect_counts(page, (0, 4), (0, 3))

    scan(page, meetup.tickets["王小明"])
    expect_result(page, "ok", "Welcome, 王小明!")
    expect_waiting(page, 0)
    expect_counts(page, (1, 4), (1, 3))
    scan(page, meetup.tickets["王小明"])
    expect_result(page, "bad", re.compile(
        r"^王小明 was already checked in at \d\d:\d\d by Staff Sun\.$"))
    expect_waiting(page, 0)
    scan(page, meetup.tickets["Carol Chen"])
    expect_result(page, "bad", "The RSVP of Carol Chen was cancelled.")
    scan(page, "JH1:not-a-ticket")
    expect_result(page, "bad", "Unknown ticket.")

    matches = page.locator("#door-matches li")
    for typed, found in [("emile", "Émile Qian"), ("wang xiao", "王小明"), ("ZHAO", "Alice Zhao")]:
        page.fill("#door-search", typed)  # no accents, full pinyin, any case
        expect(matches).to_have_count(1)
        expect(matches.first).to_contain_text(found)
    page.fill("#door-search", "wxm")
    expect(matches).to_have_count(1)
    expect(matches.first).to_contain_text("王小明")
    expect(matches.first.locator("button")).to_have_text("Undo")
    page.fill("#door-search", "8000")
    expect(matches).to_have_count(1)
    expect(matches.first).to_contain_text("Alice Zhao")
    expect(matches.first).to_contain_text("phone …8000")
    matches.first.locator("button:has-text('Check in')").click()
    expect_result(page, "ok", "Welcome, Alice Zhao!")
    expect_waiting(page, 0)

    page.fill("#door-search", "wxm")
    matches.first.locator("button:has-text('Undo')").click()
    expect_result(page, "ok", "Check-in of 王小明 undone.")
    expect_waiting(page, 0)
    expect(matches.first.locator("button")).to_have_text("Check in")

    page.fill("#name", "Walk-in Wu")
    page.fill("#phone", "call me")
    page.fill("#guests", "2")
    page.fill("#source", "WeChat group 成都桌游")
    page.click("#walk-in-form input[type=submit]")
    # Refused on the phone, before anything is sent or anyone welcomed; nothing typed is lost.
    expect(page.locator("#phone-error")).to_have_text("Digits only, e.g. 138 0013 8000.")
    expect(page.locator("#name")).to_have_value("Walk-in Wu")
    expect(page.locator("#door-result-text")).not_to_contain_text("Walk-in Wu")
    expect_waiting(page, 0)
    page.fill("#phone", "139 0000 1111")
    page.click("#walk-in-form input[type=submit]")
    expect_result(page, "ok", "Welcome, Walk-in Wu (+2)!")
    expect_waiting(page, 0)
    expect(page.locator("#name")).to_have_value("")  # cleared once the server said yes
    expect(page.locator("#phone-error")).to_be_hidden()
    expect_counts(page, (4, 7), (2, 4))

    db.session.expire_all()
    alice, wang, wu = (registration(meetup, n) for n in ("Alice Zhao", "王小明", "Walk-in Wu"))
    assert (alice.checked_in_at is not None, alice.checked_in_by_id) == (True, cast.staff.id)
    assert (wang.checked_in_at, wang.checked_in_by_id) == (None, None)
    assert (wu.walk_in, wu.guests, wu.attendee_phone, wu.source, wu.checked_in_by_id) == (
        True, 2, "139 0000 1111", "WeChat group 成都桌游", cast.staff.id)
    assert scan_log(meetup) == [
        ("王小明", ScanOutcome.OK), ("王小明", ScanOutcome.ALREADY_CHECKED_IN),
        ("Carol Chen", ScanOutcome.CANCELLED), ("", ScanOutcome.UNKNOWN_TICKET),
        ("Alice Zhao", ScanOutcome.OK), ("王小明", ScanOutcome.UNDONE),
        ("Walk-in Wu", ScanOutcome.OK)]
    assert csp_violations == []


@SQLITE
def test_a_walk_in_the_server_refuses_comes_back_into_the_form(log_in, live_server, cast,
                                                               make_user):
    hall = save_venue(cast.lead, cast.branch, VenueInput("Tiny room", "1 Road", 1))
    starts, ends = door_open(cast.branch)
    [event] = events.schedule(cast.lead, cast.branch, events.EventInput(
        title="Full house", starts_local=starts, ends_local=ends, venue_id=hall.id,
        status=EventStatus.PUBLISHED, capacity=1, walk_ins_over_capacity=False))
    registrations.rsvp(make_user("Early Bird"), event.id)  # the one seat
    event_id = event.id
    db.session.commit()
    page = log_in(cast.staff.email)
    page.goto(f"{live_server}/events/{event_id}/door")
    expect(page.locator("#door")).to_have_attribute("data-roster-stored", "true")

    page.fill("#name", "Late Lu")
    page.fill("#phone", "139 0000 2222")
    page.click("#walk-in-form input[type=submit]")
    expect_result(page, "bad", "The meetup is full. A lead can let walk-ins in over capacity.")
    expect(page.locator("#name")).to_have_value("Late Lu")  # typed again by nobody
    expect(page.locator("#phone")).to_have_value("139 0000 2222")
    expect(page.locator("#door-log")).to_contain_text("The meetup is full.")
    expect_waiting(page, 0)


@SQLITE
def test_door_offline_queue_survives_reload_and_syncs(app, log_in, live_server, cast, meetup,
                                                      requests_seen):
    app.config["WTF_CSRF_ENABLED"] = True
    page = log_in(cast.staff.email)
    open_door(page, live_server, meetup)
    go_offline(page)
    before_scans = datetime.now(UTC)
    scan(page, meetup.tickets["王小明"])
    expect_result(page, "queued", "Checked in on this phone (will be sent): 王小明")
    scan(page, meetup.tickets["Émile Qian"])
    expect_result(page, "queued", "Checked in on this phone (will be sent): Émile Qian")
    expect_waiting(page, 2)
    scan(page, meetup.tickets["王小明"])
    expect_result(page, "bad", "王小明 is already checked in (on this phone).")
    page.fill("#name", "Walk-in Wu")
    page.click("#walk-in-form input[type=submit]")
    expect_result(page, "queued", "Checked in on this phone (will be sent): Walk-in Wu")
    expect_waiting(page, 4)
    after_scans = datetime.now(UTC)
    expect_counts(page, (4, 5), (3, 4))

    requests_seen.clear()
    page.reload()
    expect(page.locator("h1")).to_have_text("Board games")
    expect_waiting(page, 4)
    expect_counts(page, (4, 5), (3, 4))
    expect(page.locator("#door-log li")).to_have_count(4)
    assert requests_seen == []  # the page and its files came from the service worker
    page.fill("#door-search", "wxm")
    expect(page.locator("#door-matches li button")).to_have_text("Undo")

    # A phone offline for hours holds an expired token: the app fetches a fresh one and resends.
    page.evaluate("document.querySelector('meta[name=csrf-token]').content = 'expired'")
    back_online = datetime.now(UTC)
    go_online(page)
    expect_waiting(page, 0)
    expect_result(page, "ok", "Welcome, Walk-in Wu!")
    expect_counts(page, (4, 5), (3, 4))
    page.fill("#door-search", "wu")
    expect(page.locator("#door-matches li button")).to_have_text("Undo")  # now a real RSVP

    db.session.expire_all()
    wang, bob, wu = (registration(meetup, n) for n in ("王小明", "Émile Qian", "Walk-in Wu"))
    for person in (wang, bob, wu):
        assert person.checked_in_by_id == cast.staff.id
        assert before_scans <= person.checked_in_at <= after_scans < back_online
    assert [r.name for r in db.session.scalars(select(Registration).where(
        Registration.event_id == meetup.id, Registration.checked_in_at.is_not(None))
        .order_by(Registration.checked_in_at))] == [
        "王小明", "Émile Qian", "Walk-in Wu"]
    assert scan_log(meetup) == [("王小明", ScanOutcome.OK), ("Émile Qian", ScanOutcome.OK),
                                ("王小明", ScanOutcome.ALREADY_CHECKED_IN),
                                ("Walk-in Wu", ScanOutcome.OK)]
    assert requests_seen.count(f"/events/{meetup.id}/door/sync") == 2  # refused, then resent


@SQLITE
def test_two_offline_doors_scan_one_ticket(log_in, live_server, cast, meetup):
    front, back = log_in(cast.staff.email), log_in(cast.lead.email)
    for door in (front, back):
        open_door(door, live_server, meetup)
        go_offline(door)
        scan(door, meetup.tickets["Alice Zhao"])
        expect_result(door, "queued", "Checked in on this phone (will be sent): Alice Zhao")
        expect_waiting(door, 1)

    go_online(front)
    expect_waiting(front, 0)
    expect_result(front, "ok", "Welcome, Alice Zhao!")
    go_online(back)
    expect_waiting(back, 0)
    expect_result(back, "bad", re.compile(
        r"^Duplicate: Alice Zhao was already checked in at \d\d:\d\d by Staff Sun\.$"))
    expect_counts(back, (1, 4), (1, 3))

    db.session.expire_all()
    alice = registration(meetup, "Alice Zhao")
    assert alice.checked_in_by_id == cast.staff.id
    assert scan_log(meetup) == [("Alice Zhao", ScanOutcome.OK),
                                ("Alice Zhao", ScanOutcome.ALREADY_CHECKED_IN)]

    # The other door's check-in reaches a door that did nothing, at its next refresh.
    page = log_in(cast.staff.email)
    open_door(page, live_server, meetup)
    expect_counts(page, (1, 4), (1, 3))
    scan(back, meetup.tickets["Émile Qian"])
    expect_result(back, "ok", "Welcome, Émile Qian (+1)!")
    with page.expect_response(lambda r: "roster.json?since=" in r.url, timeout=25_000):
        pass  # the next refresh, every ~10 s
    expect_counts(page, (3, 4), (2, 3))


def qr_video(text: str, path: Path) -> Path:
    """A few seconds of 640×480 video (YUV4MPEG2, grey) showing the QR code of `text`, for
    Chromium's fake camera."""
    png = io.BytesIO()
    segno.make(text, error="m", micro=False).save(png, kind="png", scale=8, border=4)
    frame = Image.new("L", (640, 480), 255)
    code = Image.open(png).convert("L")
    frame.paste(code, ((640 - code.width) // 2, (480 - code.height) // 2))
    chroma = bytes([128]) * (320 * 240 * 2)
    with path.open("wb") as video:
        video.write(b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg\n")
        for _ in range(20):
            video.write(b"FRAME\n" + frame.tobytes() + chroma)
    return path


@pytest.fixture
def camera_browser(browser, tmp_path: Path, meetup: Meetup) -> Iterator[Any]:
    """A second Chromium (same Playwright) whose camera films Émile Qian's ticket."""
    video = qr_video(meetup.tickets["Émile Qian"], tmp_path / "ticket.y4m")
    filming = browser.browser_type.launch(executable_path=str(CHROMIUM), args=[
        *CHROMIUM_FLAGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}"])
    yield filming
    filming.close()


@SQLITE
def test_door_camera_scan_checks_in(camera_browser, live_server, cast, meetup, csp_violations):
    email = cast.staff.email
    db.session.commit()  # no open read transaction may hold SQLite's lock against the server
    context = camera_browser.new_context(locale="en-US", permissions=["camera"])
    page = context.new_page()
    page.set_default_timeout(15_000)
    watch_csp(page, csp_violations)
    page.goto(f"{live_server}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("input[type=submit]")
    open_door(page, live_server, meetup)

    page.click("#camera-start")
    expect(page.locator("#camera-video")).to_be_visible()
    expect_result(page, "ok", "Welcome, Émile Qian (+1)!")
    expect_waiting(page, 0)
    page.click("#camera-stop")
    expect(page.locator("#camera")).to_be_hidden()
    expect(page.locator("#door-log li")).to_have_count(1)

    db.session.expire_all()
    assert registration(meetup, "Émile Qian").checked_in_by_id == cast.staff.id
    assert scan_log(meetup) == [("Émile Qian", ScanOutcome.OK)]
    assert csp_violations == []
    context.close()
