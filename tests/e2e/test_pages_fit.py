"""Every page each role reaches, in both languages, on a phone (390×844) and a laptop (1366×900):
nothing scrolls sideways, axe finds no serious or critical violation, primary actions (and the
navigation and language buttons) are at least 44 px tall, and a screenshot of each is kept
(test-artifacts/pages/).

The gallery test writes the README's pictures under test-artifacts/gallery; `make screenshots`
points it (JUHUI_SCREENSHOTS) at docs/screenshots instead."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page

from branches.services import VenueInput, add_topic, save_venue
from planner.accounts.models import User
from planner.checkin import services as checkin
from planner.core.extensions import db
from planner.events import services as events
from planner.events.models import EventStatus
from planner.feedback import services as feedback
from planner.funnel import services as funnel
from planner.funnel.models import Channel
from planner.messages import services as messages
from planner.notifications.kinds import Category
from planner.notifications.services import unsubscribe_token
from planner.pictures import services as pictures
from planner.registrations import services as registrations
from tests.conftest import PASSWORD, Cast, door_open
from tests.e2e.conftest import ARTIFACTS
from tests.test_pictures import photo

pytestmark = pytest.mark.browser
SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "laptop": {"width": 1366, "height": 900}}
LANGUAGES = {"zh_CN": "zh-CN", "en": "en-US"}
PRIMARY_ACTIONS = (".button.primary, main button[type=submit], main input[type=submit], "
                   ".site-nav a, .site-nav button, .language-switch button")
TOUCH_TARGET_PX = 44
AXE = Axe()


@dataclass
class Site:
    """The pages of one seeded branch, by who reaches them."""

    cast: Cast
    pages: dict[str, dict[str, str]]  # role → page name → path


def seed(cast: Cast) -> Site:
    """A branch in use: two venues, three topics, a meetup (with a cover picture and two
    topics) starting within the hour with people going, one checked in, one waitlisted, an
    invite link, and a later meetup."""
    hall = save_venue(cast.lead, cast.branch, VenueInput("Teahouse", "12 Kuanzhai Alley", 3))
    library = save_venue(cast.lead, cast.branch, VenueInput("Library", "1 Renmin Road", 40))
    for topic in ("诗歌 Poetry", "读书", "Tea ceremony"):
        add_topic(cast.lead, cast.branch, topic)
    starts, ends = door_open(cast.branch)
    [meetup] = events.schedule(cast.lead, cast.branch, events.EventInput(
        title="Poetry night in the teahouse — bring a poem you love", starts_local=starts,
        ends_local=ends, venue_id=hall.id, status=EventStatus.PUBLISHED,
        tags=("诗歌 Poetry", "Tea ceremony"),
        description="We read aloud, in any language, then talk over tea."))
    meetup.max_guests = 2
    events.set_cover(cast.lead, meetup, pictures.store(photo((1600, 900))))
    going = registrations.rsvp(cast.member, meetup.id, guests=1)
    registrations.rsvp(cast.staff, meetup.id)
    registrations.rsvp(cast.outsider, meetup.id)  # waitlisted: three seats are taken
    checkin.redeem(cast.lead, meetup.id, ticket_code=going.ticket_code, nonce="seed-1")
    link = funnel.create_link(cast.lead, cast.branch, "成都诗歌群 Chengdu poetry group",
                              Channel.CHAT_GROUP, meetup)
    last_week = held_last_week(cast, library.id)
    messages.write_to_meetup(cast.lead, meetup, messages.Draft(
        "Bring a poem — 带一首诗", "Doors open at **seven**."), ["going"])
    token = unsubscribe_token(cast.member.id, Category.MESSAGES)
    db.session.commit()
    slug, event = cast.branch.slug, f"/events/{meetup.id}"
    return Site(cast, {
        "visitor": {"home": "/", "branches": "/branches", "branch": f"/branches/{slug}",
                    "branch-events": f"/branches/{slug}/events", "meetup": event,
                    "near": "/events/near", "nearest": "/branches/nearest", "login": "/login",
                    "signup": "/signup", "venue-week": f"/venues/{hall.id}/bookings",
                    "search": f"/events/search?branch={slug}&q=poem+tea",
                    "unsubscribe": f"/unsubscribe/{token}"},
        "member": {"home": "/", "meetup": event, "my-meetups": "/me/meetups",
                   "profile": "/profile", "ticket": f"/tickets/{going.ticket_code}",
                   "card": "/me/card", "mail-preferences": "/profile/mail",
                   "branch": f"/branches/{slug}", "feedback": f"/events/{last_week}/feedback"},
        "staff": {"door": f"{event}/door", "checkin-list": f"{event}/checkin-list",
                  "meetup": event},
        "lead": {"branch": f"/branches/{slug}", "settings": f"/branches/{slug}/settings",
                 "members": f"/branches/{slug}/members",
                 "engagement": f"/branches/{slug}/members/engagement",
                 "audit": f"/branches/{slug}/audit", "branch-funnel": f"/branches/{slug}/funnel",
                 "new-meetup": f"/branches/{slug}/events/new", "edit-meetup": f"{event}/edit",
                 "registrations": f"{event}/registrations", "invites": f"{event}/invites",
                 "meetup-funnel": f"{event}/funnel", "who-is-here": f"{event}/here",
                 "poster": f"/invites/{link.id}/poster",
                 "new-venue": f"/branches/{slug}/venues/new",
                 "edit-venue": f"/branches/{slug}/venues/{hall.id}/edit",
                 "venue-week": f"/venues/{hall.id}/bookings",
                 "feedback": f"/events/{last_week}/feedback/all",
                 "meetup-messages": f"{event}/messages",
                 "branch-messages": f"/branches/{slug}/messages"},
        "admin": {"new-branch": "/branches/new", "health": "/admin/branches/health",
                  "network-funnel": "/admin/funnel"},
    })


def held_last_week(cast: Cast, venue_id: int) -> int:
    """A meetup of last week the member was checked in at and rated, with a long comment the
    lead featured (the branch page quotes it); its id."""
    starts, ends = door_open(cast.branch)
    [meetup] = events.schedule(cast.lead, cast.branch, events.EventInput(
        title="Dumpling night: we fold, boil and eat together", starts_local=starts,
        ends_local=ends, venue_id=venue_id, status=EventStatus.PUBLISHED))
    ticket = registrations.rsvp(cast.member, meetup.id)
    checkin.redeem(cast.lead, meetup.id, ticket_code=ticket.ticket_code, nonce="seed-2")
    meetup.starts_at -= timedelta(days=7)
    meetup.ends_at -= timedelta(days=7)
    given, _new = feedback.give(cast.member, meetup.id, feedback.FeedbackInput(
        5, "Warm people, good dumplings and a host who remembered everyone's name. "
        "Averylongwordwithoutanyspacesthatmustwrapratherthanscrollsideways.", may_quote=True))
    feedback.set_featured(cast.lead, given.id, True)
    return meetup.id


def speak(users: list[User], locale: str) -> None:
    """Each account's saved language (a saved choice wins over the browser's)."""
    for user in users:
        user.locale = locale
    db.session.commit()


def open_as(browser: Browser, live_server: str, email: str | None, locale: str,
            viewport: dict[str, int]) -> Page:
    context = browser.new_context(locale=LANGUAGES[locale], viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(15_000)
    if email:
        page.goto(f"{live_server}/login")
        page.fill("#email", email)
        page.fill("#password", PASSWORD)
        page.click("main input[type=submit]")
        page.wait_for_url(lambda url: "/login" not in url)
    return page


def problems(page: Page) -> list[str]:
    """What is wrong with the page as it stands, in words."""
    found = []
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    if overflow > 0:
        wide = page.evaluate("""() => [...document.querySelectorAll('main *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
            .slice(0, 3).map(e => e.tagName.toLowerCase() + '.' + e.className)""")
        found.append(f"scrolls sideways by {overflow} px ({', '.join(wide)})")
    for violation in AXE.run(page).response["violations"]:
        if violation["impact"] in ("serious", "critical"):
            targets = [node["target"] for node in violation["nodes"][:3]]
            found.append(f"axe {violation['impact']}: {violation['id']} {targets}")
    for box, label in page.eval_on_selector_all(
            PRIMARY_ACTIONS, """els => els.filter(e => e.offsetParent !== null)
            .map(e => [e.getBoundingClientRect().height, (e.innerText || e.value).trim()])"""):
        if box < TOUCH_TARGET_PX:
            found.append(f"primary action {label!r} is {box:.0f} px tall")
    return found


def audit(browser: Browser, live_server: str, site: Site, role: str, locale: str,
          viewport: str, shots: Path) -> dict[str, list[str]]:
    email = None if role == "visitor" else getattr(site.cast, role).email
    db.session.commit()  # reading the email began a transaction; SQLite's writers wait for it
    page = open_as(browser, live_server, email, locale, VIEWPORTS[viewport])
    failed: list[str] = []  # favicon, styles, scripts, manifest: anything the page asked for
    page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.status} {r.url}"))
    report = {}
    shots.mkdir(parents=True, exist_ok=True)
    for name, path in site.pages[role].items():
        response = page.goto(f"{live_server}{path}")
        assert response is not None and response.status == 200, (path, response)
        page.wait_for_load_state("networkidle")
        report[name] = problems(page) + failed
        failed.clear()
        page.screenshot(path=str(shots / f"{role}-{name}-{locale}-{viewport}.png"), full_page=True)
    page.context.close()
    return {name: found for name, found in report.items() if found}


@SQLITE
@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("locale", LANGUAGES)
@pytest.mark.parametrize("role", ["visitor", "member", "staff", "lead", "admin"])
def test_every_page_fits_and_passes_axe(browser, live_server, cast, role, locale, viewport):
    site = seed(cast)
    speak([cast.admin, cast.lead, cast.staff, cast.member, cast.outsider], locale)
    assert audit(browser, live_server, site, role, locale, viewport, ARTIFACTS / "pages") == {}


GALLERY = {"member": ["meetup"], "staff": ["door"], "lead": ["registrations", "branch"]}


@SQLITE
def test_gallery_for_the_readme(browser, live_server, cast):
    site = seed(cast)
    speak([cast.lead, cast.staff, cast.member], "zh_CN")
    target = Path(os.environ.get("JUHUI_SCREENSHOTS", ARTIFACTS / "gallery"))
    for role, names in GALLERY.items():
        site.pages[role] = {name: site.pages[role][name] for name in names}
        audit(browser, live_server, site, role, "zh_CN", "phone", target)
    assert {p.name for p in target.glob("*-phone.png")} >= {
        f"{role}-{name}-zh_CN-phone.png" for role, names in GALLERY.items() for name in names}
