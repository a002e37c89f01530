"""Every link that leaves the site is built from PUBLIC_URL, never from the request's Host:
a request sent with `Host: attacker.example` must not put the attacker's address into mail,
calendar files or API answers."""

from __future__ import annotations

import logging

import icalendar

from planner import create_app
from planner.core.extensions import db
from planner.notifications import delivery
from tests.conftest import bearer, login
from tests.mail_server import Inbox
from tests.test_notifications import START, schedule

PUBLIC = "http://localhost"
FORGED = {"Host": "attacker.example"}


def _bodies(inbox: Inbox) -> str:
    return "\n".join(part.get_content() for message in inbox.received
                     for part in message.walk() if part.get_content_maintype() == "text")


def test_a_promotion_mailed_after_a_forged_host_links_to_the_public_site(
        client, smtp: Inbox, cast, make_user):
    meetup = schedule(cast, START, capacity=1)
    waiting = make_user("Waiting Wu")
    for person in (cast.member, waiting):
        assert client.post(f"/api/v1/events/{meetup.id}/registrations", json={},
                           headers=bearer(client, person)).status_code == 201
    cancelled = client.delete(f"/api/v1/events/{meetup.id}/registrations/me",
                              headers=bearer(client, cast.member) | FORGED)
    assert cancelled.status_code in (200, 204), cancelled.text
    delivery.deliver_due()
    [promotion] = [m for m in smtp.received if m["To"] == waiting.email
                   and m["Subject"].startswith("A seat freed up")]
    body = "\n".join(part.get_content() for part in promotion.walk()
                     if part.get_content_maintype() == "text")
    assert f"{PUBLIC}/tickets/" in body
    assert "attacker.example" not in _bodies(smtp)


def test_api_links_ignore_a_forged_host(client, cast):
    meetup = schedule(cast, START)
    body = client.get(f"/api/v1/events/{meetup.id}", headers=FORGED).json
    assert body["url"] == f"{PUBLIC}/events/{meetup.id}"
    assert body["ics_url"] == f"{PUBLIC}/events/{meetup.id}.ics"
    rsvp = client.post(f"/api/v1/events/{meetup.id}/registrations", json={},
                       headers=bearer(client, cast.member) | FORGED).json
    assert rsvp["ticket_qr_url"].startswith(f"{PUBLIC}/tickets/")
    branch = client.get(f"/api/v1/branches/{cast.branch.slug}", headers=FORGED).json
    assert branch["url"] == f"{PUBLIC}/branches/{cast.branch.slug}"


def test_calendar_file_and_pages_ignore_a_forged_host(client, cast):
    meetup = schedule(cast, START)
    calendar = icalendar.Calendar.from_ical(
        client.get(f"/events/{meetup.id}.ics", headers=FORGED).data)
    [vevent] = calendar.walk("VEVENT")
    assert str(vevent["URL"]) == f"{PUBLIC}/events/{meetup.id}"
    login(client, cast.member)
    for page in (f"/events/{meetup.id}", "/profile", f"/branches/{cast.branch.slug}"):
        html = client.get(page, headers=FORGED).text
        assert "attacker.example" not in html, page


def test_invite_link_json_ignores_a_forged_host(client, cast):
    meetup = schedule(cast, START)
    response = client.post(f"/api/v1/events/{meetup.id}/invite-links",
                           json={"label": "Chat group"},
                           headers=bearer(client, cast.lead) | FORGED)
    assert response.status_code == 201, response.text
    assert response.json["url"] == f"{PUBLIC}/i/{response.json['code']}"


def test_production_without_public_url_warns_at_start_up(database_url, tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "x",
                          "PUBLIC_URL": ""}, instance_path=str(tmp_path))
    assert any("PUBLIC_URL is not set" in record.getMessage() for record in caplog.records)
    assert app.config["PUBLIC_URL"] == "http://127.0.0.1:5000"
    with app.app_context():
        db.engine.dispose()


def test_tests_and_development_start_quietly(database_url, tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "x",
                          "TESTING": True, "PUBLIC_URL": ""}, instance_path=str(tmp_path))
    assert not any("PUBLIC_URL" in record.getMessage() for record in caplog.records)
    with app.app_context():
        db.engine.dispose()

