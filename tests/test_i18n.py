"""Language choice, translations and local time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask_babel import force_locale

from planner.core.i18n import format_instant
from tests.conftest import login


@pytest.mark.parametrize(("header", "expected"), [
    ("zh-CN,zh;q=0.9", "分站"), ("zh", "分站"), ("zh-TW", "分站"), ("en-US,en;q=0.8", "Branches"),
    ("fr-FR", "分站")])
def test_language_from_accept_language(client, header, expected):
    page = client.get("/", headers={"Accept-Language": header})
    assert expected in page.text


def test_switching_language_is_remembered(client, make_user):
    client.post("/language", data={"locale": "en", "next": "/branches"})
    assert ">Branches<" in client.get("/", headers={"Accept-Language": "zh-CN"}).text
    client.post("/language", data={"locale": "zh_CN", "next": "/"})
    assert "附近" in client.get("/", headers={"Accept-Language": "en"}).text
    user = make_user(locale="en")
    login(client, user)
    client.post("/language", data={"locale": "zh_CN"})
    from planner.core.extensions import db

    db.session.refresh(user)
    assert user.locale == "zh_CN"


def test_language_switch_does_not_redirect_off_site(client):
    response = client.post("/language", data={"locale": "en", "next": "//evil.example/"})
    assert response.headers["Location"] == "/"


def test_validation_messages_are_translated(client):
    client.post("/language", data={"locale": "zh_CN"})
    page = client.post("/signup", data={"email": "bad", "password": "x", "display_name": "",
                                        "locale": "zh_CN", "timezone": "Asia/Shanghai"})
    assert "无效的" in page.text or "不正确" in page.text or "电子邮件" in page.text
    assert "This field is required" not in page.text


def test_api_errors_follow_the_language(client):
    zh = client.post("/api/v1/users", json={}, headers={"Accept-Language": "zh-CN"})
    en = client.post("/api/v1/users", json={}, headers={"Accept-Language": "en"})
    assert zh.json["error"]["message"] != en.json["error"]["message"]
    assert en.json["error"]["message"] == "Some fields are not valid."


def test_times_in_branch_timezone_for_the_locale(app):
    def shown(instant, timezone, language, style="short"):
        with force_locale(language):
            return format_instant(instant, timezone, style)

    year = datetime.now(UTC).year
    summer = datetime(year, 7, 1, 12, 0, tzinfo=UTC)
    winter = datetime(year, 1, 15, 12, 0, tzinfo=UTC)
    assert shown(summer, "Europe/London", "en") == "1 Jul, 13:00 (UTC+1)"
    assert shown(winter, "Europe/London", "en") == "15 Jan, 12:00 (UTC+0)"
    assert shown(summer, "Asia/Shanghai", "en") == "1 Jul, 20:00"
    assert shown(summer, "Asia/Shanghai", "zh_CN") == "7月1日 20:00"
    weekday = {"en": summer.strftime("%a"),
               "zh_CN": ["周一", "周二", "周三", "周四", "周五", "周六", "周日"][summer.weekday()]}
    assert shown(summer, "Asia/Shanghai", "en", "medium") == f"{weekday['en']} 1 Jul, 20:00"
    assert shown(summer, "Asia/Shanghai", "zh_CN", "medium") == f"7月1日 {weekday['zh_CN']} 20:00"
    later = summer.replace(year=year + 1)
    assert shown(later, "Asia/Shanghai", "en") == f"1 Jul {year + 1}, 20:00"
    assert shown(later, "Asia/Shanghai", "zh_CN") == f"{year + 1}年7月1日 20:00"
    assert ":00:00" not in shown(summer, "Asia/Shanghai", "en", "full")


def test_the_zone_is_named_only_for_a_viewer_in_another_zone(client, make_user, cast):
    from branches.services import VenueInput, save_venue
    from planner.core.extensions import db
    from planner.events import services as events
    from planner.events.models import EventStatus

    hall = save_venue(cast.lead, cast.branch, VenueInput("Hall", "1 Road", 10))
    [meetup] = events.schedule(cast.lead, cast.branch, events.EventInput(
        title="Tea", starts_local=datetime(2030, 1, 1, 18), ends_local=datetime(2030, 1, 1, 20),
        venue_id=hall.id, status=EventStatus.PUBLISHED))
    traveller = make_user("Traveller")
    traveller.timezone = "Europe/Berlin"
    db.session.commit()

    login(client, cast.member)  # lives in Shanghai's zone, like the branch
    at_home = client.get(f"/events/{meetup.id}").text
    assert "18:00" in at_home and "UTC" not in at_home
    login(client, traveller)
    abroad = client.get(f"/events/{meetup.id}").text
    assert "18:00–20:00 (UTC+8)" in abroad


def test_every_catalogue_message_is_translated():
    from pathlib import Path

    from babel.messages.pofile import read_po

    path = Path(__file__).parent.parent / "planner/translations/zh_Hans_CN/LC_MESSAGES/messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle)
    untranslated = [m.id for m in catalog if m.id and not m.string]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert len(catalog) > 100
    assert untranslated == []
    assert fuzzy == []


def test_branch_is_always_fenzhan_in_chinese():
    """One word for "branch" (分站): the catalogue once mixed in 29 strings of 分会."""
    import re
    from pathlib import Path

    from babel.messages.pofile import read_po

    path = Path(__file__).parent.parent / "planner/translations/zh_Hans_CN/LC_MESSAGES/messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle)

    def forms(value: str | tuple[str, ...]) -> tuple[str, ...]:
        return value if isinstance(value, tuple) else (value,)

    names_branch = [m for m in catalog if m.id and any(
        re.search(r"\bbranch", re.sub(r"%\(\w+\)s", "", text), re.IGNORECASE)
        for text in forms(m.id))]
    assert len(names_branch) > 40
    assert [m.id for m in names_branch if not any("分站" in s for s in forms(m.string))] == []
    assert [m.id for m in catalog if any("分会" in s for s in forms(m.string))] == []


def _signed_up(client, email: str, **choice: str):
    from planner.accounts.services import find_user_by_email

    answer = client.post("/signup", data={"email": email, "password": "a long enough secret",
                                          "display_name": "Newcomer", "timezone": "Asia/Shanghai",
                                          **choice}, headers={"Accept-Language": "en"})
    assert answer.status_code == 302, answer.text
    return find_user_by_email(email)


def test_a_member_who_never_chose_follows_the_browser(client):
    assert _signed_up(client, "new@example.com").locale is None
    assert ">Branches<" in client.get("/", headers={"Accept-Language": "en"}).text
    assert ">Branches<" not in client.get("/", headers={"Accept-Language": "zh-CN"}).text


def test_a_language_chosen_is_kept_and_wins_over_the_browser(client):
    assert _signed_up(client, "chose@example.com", locale="zh_CN").locale == "zh_CN"
    assert ">Branches<" not in client.get("/", headers={"Accept-Language": "en"}).text


def test_create_admin_pins_no_language_unless_asked(runner):
    from planner.accounts.services import find_user_by_email

    for email, extra in (("boss@example.com", []), ("chef@example.com", ["--locale", "en"])):
        result = runner.invoke(args=["create-admin", email, "--password", "a long secret here",
                                     *extra])
        assert result.exit_code == 0, result.output
    assert find_user_by_email("boss@example.com").locale is None
    assert find_user_by_email("chef@example.com").locale == "en"


def test_mail_to_a_member_without_a_choice_speaks_the_branchs_language(cast, make_user):
    from datetime import timedelta

    from sqlalchemy import select

    from planner.core.extensions import db
    from planner.events.models import EventStatus
    from planner.events.services import EventInput, schedule
    from planner.notifications import delivery
    from planner.notifications.models import OutboxMessage
    from planner.registrations.services import rsvp

    member = make_user("Wang", locale="en")
    member.locale = None
    start = datetime.now(UTC).replace(tzinfo=None, microsecond=0) + timedelta(days=9)
    event = schedule(cast.lead, cast.branch, EventInput(
        title="茶话会", starts_local=start, ends_local=start + timedelta(hours=2),
        online_url="https://meet.example/tea", status=EventStatus.PUBLISHED))[0]
    rsvp(member, event.id)
    delivery.deliver_due()  # rendered as it is sent
    subject = db.session.scalars(select(OutboxMessage.subject)
                                 .where(OutboxMessage.user_id == member.id)).one()
    assert cast.branch.locale == "zh_CN" and subject.startswith("报名成功")


def test_the_web_app_manifest_speaks_the_readers_language_and_its_icons_exist(client):
    english = client.get("/manifest.webmanifest")
    chinese = client.get("/manifest.webmanifest", headers={"Accept-Language": "zh-CN"})
    assert english.mimetype == "application/manifest+json"
    assert english.json["short_name"] == "Juhui" and chinese.json["short_name"] == "聚会"
    assert english.json["start_url"] == "/" and english.json["display"] == "standalone"
    for icon in english.json["icons"]:
        with client.get(icon["src"]) as served:
            assert served.status_code == 200, icon
    page = client.get("/").text
    assert 'rel="manifest" href="/manifest.webmanifest"' in page and 'rel="icon"' in page


def test_the_current_language_and_page_are_marked_for_screen_readers(client):
    chinese = client.get("/branches", headers={"Accept-Language": "zh-CN"}).text
    english = client.get("/branches").text
    assert 'value="zh_CN" lang="zh-CN"\n              aria-current="true"' in chinese
    assert 'value="en" lang="en"\n              aria-current="true"' in english
    assert '<a href="/branches" aria-current="page">' in english
    assert '<a href="/events/near" aria-current="page">' not in english


def test_form_fields_carry_no_dangling_attributes_and_dates_speak_the_page_language(
        client, cast):
    import re

    from tests.conftest import login

    def tag(html: str, element_id: str) -> str:
        return re.search(rf'<input[^>]*id="{element_id}"[^>]*>', html).group(0)

    login(client, cast.lead)
    page = client.get(f"/branches/{cast.branch.slug}/events/new").text
    assert '="None"' not in page  # aria-describedby="None" pointed at nothing
    assert 'lang="en"' in tag(page, "starts_at") and 'lang="en"' in tag(page, "ends_at")
    assert "lang=" not in tag(page, "title")
