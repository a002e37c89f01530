"""Invite links through the browser and the API: the landing page and its cookies, last-touch
attribution of RSVPs and joins, bots, permissions, API shapes, CSV safety and referrals."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from branches.models import Membership
from planner.core.attribution import INVITE_COOKIE
from planner.core.errors import Conflict, InvalidInput, NotAllowed, NotFound
from planner.core.extensions import db
from planner.core.timeutil import utcnow
from planner.events import services as events
from planner.events.models import Event, EventStatus
from planner.funnel import forms, services
from planner.funnel.attribution import VISITOR_COOKIE
from planner.funnel.models import Channel, InviteLink, InviteVisit
from planner.registrations import services as registrations
from planner.registrations.models import Registration
from tests.conftest import bearer, login

NEXT_YEAR = datetime.now(UTC).year + 1
BROWSER = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36"
PREVIEWS = ["TelegramBot (like TwitterBot)", "Slackbot-LinkExpanding 1.0 (+https://api.slack.com)",
            "facebookexternalhit/1.1", "Twitterbot/1.0", "WhatsApp/2.23.20.0 A",
            "Mozilla/5.0 (compatible; Googlebot/2.1)", "SomeCrawler/3", "Link preview", ""]


@pytest.fixture
def meetup(cast) -> Event:
    [made] = events.schedule(cast.lead, cast.branch, events.EventInput(
        title="Hotpot", starts_local=datetime(NEXT_YEAR, 6, 1, 19),
        ends_local=datetime(NEXT_YEAR, 6, 1, 21), online_url="https://meet.example.com/h",
        status=EventStatus.PUBLISHED))
    return made


@pytest.fixture
def links(cast, meetup) -> tuple[InviteLink, InviteLink]:
    return (services.create_link(cast.lead, cast.branch, "Group 1", Channel.CHAT_GROUP, meetup),
            services.create_link(cast.lead, cast.branch, "Poster", Channel.POSTER, meetup))


def visits(link: InviteLink) -> int:
    return db.session.scalar(select(func.count()).where(InviteVisit.link_id == link.id)) or 0


def test_landing_counts_once_sets_httponly_cookies_and_redirects(client, meetup, links) -> None:
    link = links[0]
    response = client.get(f"/i/{link.code}", headers={"User-Agent": BROWSER})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/events/{meetup.id}"
    cookies = response.headers.getlist("Set-Cookie")
    assert {c.split("=", 1)[0] for c in cookies} == {VISITOR_COOKIE, INVITE_COOKIE}
    assert all("HttpOnly" in c and "SameSite=Lax" in c for c in cookies)
    assert "127.0.0.1" not in client.get_cookie(VISITOR_COOKIE).value
    client.get(f"/i/{link.code}", headers={"User-Agent": BROWSER})
    assert visits(link) == 1
    client.delete_cookie(VISITOR_COOKIE)  # another person on another phone
    client.get(f"/i/{link.code}", headers={"User-Agent": BROWSER})
    assert visits(link) == 2


@pytest.mark.parametrize("agent", PREVIEWS)
def test_link_previews_and_bots_are_not_visitors(client, links, agent: str) -> None:
    response = client.get(f"/i/{links[0].code}", headers={"User-Agent": agent})
    assert response.status_code == 302
    assert visits(links[0]) == 0


def test_wechat_browser_is_a_person() -> None:
    assert not services.is_automated(
        "Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 MicroMessenger/8.0.40 NetType/WIFI")


def test_branch_wide_link_lands_on_the_branch(client, cast) -> None:
    link = services.create_link(cast.lead, cast.branch, "Branch post", Channel.SOCIAL_POST)
    response = client.get(f"/i/{link.code}", headers={"User-Agent": BROWSER})
    assert response.headers["Location"] == f"/branches/{cast.branch.slug}"


def test_revoked_or_unknown_link_is_not_found_and_counts_nothing(client, cast, links) -> None:
    services.revoke_link(cast.lead, links[0].id)
    assert client.get(f"/i/{links[0].code}", headers={"User-Agent": BROWSER}).status_code == 404
    assert client.get("/i/nope", headers={"User-Agent": BROWSER}).status_code == 404
    assert visits(links[0]) == 0


def test_rsvp_after_two_links_credits_the_last_touch(client, make_user, meetup, links) -> None:
    person = make_user("Visitor")
    login(client, person)
    for link in links:
        client.get(f"/i/{link.code}", headers={"User-Agent": BROWSER})
    assert client.post(f"/events/{meetup.id}/rsvp", data={"guests": 0}).status_code == 302
    registration = db.session.scalar(select(Registration).where(
        Registration.user_id == person.id))
    assert (registration.invite_link_id, registration.source) == (links[1].id, "Poster")
    assert [visits(link) for link in links] == [1, 1]


def test_a_forged_attribution_cookie_credits_nothing(client, make_user, meetup, links) -> None:
    person = make_user("Forger")
    login(client, person)
    client.set_cookie(INVITE_COOKIE, links[0].code)
    client.post(f"/events/{meetup.id}/rsvp", data={"guests": 0})
    registration = db.session.scalar(select(Registration).where(
        Registration.user_id == person.id))
    assert registration.invite_link_id is None


def test_branch_join_after_a_link_is_credited(client, make_user, cast, links) -> None:
    person = make_user("Joiner")
    login(client, person)
    client.get(f"/i/{links[0].code}", headers={"User-Agent": BROWSER})
    assert client.post(f"/branches/{cast.branch.slug}/join").status_code == 302
    membership = db.session.scalar(select(Membership).where(Membership.user_id == person.id))
    assert membership.invite_link_id == links[0].id
    rows = services.event_link_rows(cast.lead, links[0].event)
    assert [(r.visitors, r.registered, r.joined) for r in rows] == [(1, 0, 1), (0, 0, 0)]


def test_a_join_is_credited_from_the_code_the_edge_passes_not_from_the_request(
        make_user, cast, links) -> None:
    """The service reads no cookie: outside any browser, the code given is what counts, and a
    link of another branch is not credited."""
    from branches.services import join_branch

    other_link = services.create_link(cast.other_lead, cast.other_branch, "Elsewhere",
                                      Channel.CHAT_GROUP)
    credited = join_branch(make_user("Bot"), cast.branch, links[0].code)
    foreign = join_branch(make_user("Stray"), cast.branch, other_link.code)
    assert (credited.invite_link_id, foreign.invite_link_id) == (links[0].id, None)


def test_an_rsvp_is_credited_from_the_code_the_edge_passes_not_from_the_request(
        make_user, cast, meetup, links) -> None:
    """The RSVP service reads no cookie: it publishes Rsvped with the code given, and the
    funnel credits a live link of that meetup under the link's name; a link of another branch
    credits nothing."""
    other_link = services.create_link(cast.other_lead, cast.other_branch, "Elsewhere",
                                      Channel.CHAT_GROUP)
    credited = registrations.rsvp(make_user("Bot"), meetup.id, invite_code=links[1].code)
    foreign = registrations.rsvp(make_user("Stray"), meetup.id, invite_code=other_link.code)
    assert (credited.invite_link_id, credited.source) == (links[1].id, "Poster")
    assert (foreign.invite_link_id, foreign.source) == (None, None)


def test_api_rsvp_with_invite_code_credits_only_a_link_of_that_meetup(
        client, cast, make_user, meetup, links) -> None:
    other_link = services.create_link(cast.other_lead, cast.other_branch, "Beijing group",
                                      Channel.CHAT_GROUP)
    first, second = make_user("Api One"), make_user("Api Two")
    for person, code in ((first, links[0].code), (second, other_link.code)):
        response = client.post(f"/api/v1/events/{meetup.id}/registrations",
                               json={"invite": code}, headers=bearer(client, person))
        assert response.status_code == 201, response.text
    credited = dict(db.session.execute(select(Registration.user_id, Registration.invite_link_id)
                                       .where(Registration.event_id == meetup.id)).all())
    assert credited == {first.id: links[0].id, second.id: None}


def test_api_create_link_and_funnel_shapes(client, cast, meetup) -> None:
    headers = bearer(client, cast.lead)
    response = client.post(f"/api/v1/events/{meetup.id}/invite-links",
                           json={"label": "Group 9", "channel": "chat_group"}, headers=headers)
    assert response.status_code == 201, response.text
    body = response.json
    assert set(body) == {"id", "code", "url", "label", "channel", "event_id", "revoked_at"}
    assert len(body["code"]) >= 16 and body["url"] == f"http://localhost/i/{body['code']}"
    bad = client.post(f"/api/v1/events/{meetup.id}/invite-links",
                      json={"label": "", "channel": "fax"}, headers=headers)
    assert bad.status_code == 422 and set(bad.json["error"]["fields"]) == {"label", "channel"}
    client.get(f"/i/{body['code']}", headers={"User-Agent": BROWSER})
    funnel = client.get(f"/api/v1/events/{meetup.id}/funnel", headers=headers).json
    assert funnel == {
        "stages": [{"name": "reached", "count": 1}, {"name": "registered", "count": 0},
                   {"name": "attended", "count": 0}, {"name": "returned", "count": 0}],
        "by_channel": [{"channel": "chat_group", "reached": 1, "registered": 0,
                        "attended": 0, "returned": 0}],
        "guests": {"registered": 0, "attended": 0},
        "no_show_rate": None, "first_timer_share": None}
    since = (utcnow() - timedelta(days=1)).date()  # the visit was today
    branch = client.get(f"/api/v1/branches/{cast.branch.slug}/funnel?from={since}"
                        f"&to={NEXT_YEAR}-12-31", headers=headers)
    assert branch.status_code == 200 and branch.json["stages"][0] == {"name": "reached",
                                                                       "count": 1}
    backwards = client.get(f"/api/v1/branches/{cast.branch.slug}/funnel?from={NEXT_YEAR}-12-31"
                           f"&to={NEXT_YEAR}-01-01", headers=headers)
    assert backwards.status_code == 422
    revoked = client.post(f"/api/v1/invite-links/{body['id']}/revoke", headers=headers)
    assert revoked.status_code == 200 and revoked.json["revoked_at"] is not None
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert {"/api/v1/events/{event_id}/invite-links", "/api/v1/events/{event_id}/funnel",
            "/api/v1/branches/{slug}/funnel"} <= set(paths)


@pytest.mark.parametrize("who", ["staff", "member", "outsider", "other_lead"])
def test_only_leads_of_the_branch_see_links_and_funnels(client, cast, meetup, links,
                                                        who: str) -> None:
    person = getattr(cast, who)
    login(client, person)
    slug = cast.branch.slug
    for path in (f"/events/{meetup.id}/funnel", f"/events/{meetup.id}/invites",
                 f"/events/{meetup.id}/invites.csv", f"/events/{meetup.id}/funnel/stages.csv",
                 f"/branches/{slug}/funnel", f"/branches/{slug}/funnel/channels.csv",
                 f"/invites/{links[0].id}/poster"):
        assert client.get(path).status_code == 403, path
    assert client.post(f"/invites/{links[0].id}/revoke").status_code == 403
    assert client.post(f"/events/{meetup.id}/invites",
                       data={"label": "Mine", "channel": "poster"}).status_code == 403
    headers = bearer(client, person)
    assert client.get(f"/api/v1/events/{meetup.id}/funnel", headers=headers).status_code == 403
    assert client.get(f"/api/v1/branches/{slug}/funnel", headers=headers).status_code == 403
    assert client.post(f"/api/v1/events/{meetup.id}/invite-links", headers=headers,
                       json={"label": "x", "channel": "poster"}).status_code == 403
    with pytest.raises(NotAllowed):
        services.network_funnel(person, meetup.starts_at.date(), meetup.starts_at.date())
    assert db.session.scalar(select(func.count()).select_from(InviteLink)) == 2


@pytest.mark.parametrize("who", ["lead", "admin"])
def test_leads_and_admins_use_the_pages(client, cast, meetup, links, who: str) -> None:
    login(client, getattr(cast, who))
    page = client.get(f"/events/{meetup.id}")
    assert f"/events/{meetup.id}/invites" in page.text
    assert f"/events/{meetup.id}/funnel" in page.text
    created = client.post(f"/events/{meetup.id}/invites",
                          data={"label": "Moments", "channel": "social_post"})
    assert created.status_code == 302
    listing = client.get(f"/events/{meetup.id}/invites")
    assert listing.status_code == 200 and "Moments" in listing.text and "Group 1" in listing.text
    poster = client.get(f"/invites/{links[1].id}/poster")
    assert poster.status_code == 200 and "<svg" in poster.text and links[1].code in poster.text
    funnel = client.get(f"/events/{meetup.id}/funnel")
    assert funnel.status_code == 200 and "What the figures mean" in funnel.text
    branch = client.get(f"/branches/{cast.branch.slug}/funnel?from={NEXT_YEAR}-01-01"
                        f"&to={NEXT_YEAR}-12-31")
    assert branch.status_code == 200 and "Returned" in branch.text
    assert client.get(f"/events/{meetup.id}/funnel/other.csv").status_code == 404


def test_members_do_not_see_the_lead_links_on_the_meetup_page(client, cast, meetup) -> None:
    login(client, cast.member)
    assert f"/events/{meetup.id}/invites" not in client.get(f"/events/{meetup.id}").text


def test_csv_exports_are_formula_safe_with_a_bom(client, cast, meetup) -> None:
    services.create_link(cast.lead, cast.branch, '=HYPERLINK("http://evil.example","x")',
                         Channel.OTHER, meetup)
    login(client, cast.lead)
    response = client.get(f"/events/{meetup.id}/invites.csv")
    assert response.mimetype == "text/csv"
    assert response.data.startswith("\ufeff".encode())
    lines = response.data.decode("utf-8-sig").splitlines()
    assert lines[0] == "Name,Channel,Link,Visitors,Registered,Attended,Branch joins"
    assert lines[1].startswith('"\'=HYPERLINK(""http://evil.example"",""x"")",Other,')
    stages = client.get(f"/events/{meetup.id}/funnel/stages.csv").data.decode("utf-8-sig")
    assert stages.splitlines() == ["Stage,People", "Reached,0", "Registered,0", "Attended,0",
                                   "Returned,0"]


def test_only_leads_create_and_revoke(cast, meetup) -> None:
    with pytest.raises(NotAllowed):
        services.create_link(cast.staff, cast.branch, "Mine", Channel.POSTER, meetup)
    with pytest.raises(InvalidInput):
        services.create_link(cast.other_lead, cast.other_branch, "Wrong", Channel.POSTER, meetup)
    link = services.create_link(cast.lead, cast.branch, "Ok", Channel.POSTER, meetup)
    with pytest.raises(NotAllowed):
        services.revoke_link(cast.other_lead, link.id)
    assert services.revoke_link(cast.lead, link.id).revoked_at is not None
    assert services.link_for_rsvp(link.code, meetup) is None


def test_referrals_first_wins_no_self_and_no_cycles(cast, make_user) -> None:
    older, newer, newest = make_user("Older"), make_user("Newer"), make_user("Newest")
    code = services.referral_code(older)
    assert services.referral_code(older) == code and len(code) >= 16
    assert services.refer(newer, code) == older
    with pytest.raises(Conflict):  # the first referrer wins
        services.refer(newer, services.referral_code(cast.lead))
    with pytest.raises(InvalidInput):  # nobody refers themselves
        services.refer(newest, services.referral_code(newest))
    with pytest.raises(InvalidInput):  # newer → older would close the loop older → newer
        services.refer(older, services.referral_code(newer))
    with pytest.raises(NotFound):
        services.refer(newest, "no-such-code")
    assert services.refer(newest, services.referral_code(newer)) == newer
    db.session.commit()
    with pytest.raises(IntegrityError):  # the database refuses a loop too
        db.session.execute(update(type(older)).where(type(older).id == older.id)
                           .values(referred_by_id=newest.id))
        db.session.flush()
    db.session.rollback()


def test_default_range_ends_today_where_the_branch_is(monkeypatch) -> None:
    """20:00 UTC on 29 November is already 30 November in Shanghai: a branch funnel counts
    branch-local days, so its default range must not stop at Shanghai's yesterday."""
    monkeypatch.setattr(forms, "utcnow", lambda: datetime(2026, 11, 29, 20, tzinfo=UTC))
    assert forms.default_range("Asia/Shanghai") == (date(2026, 9, 1), date(2026, 11, 30))
    assert forms.default_range()[1] == date(2026, 11, 29)
