"""A member checked in at last night's meetup gets the feedback request by mail (a real SMTP
server), opens its link on a 390 px phone, logs in, and lands on the feedback page: four stars,
a comment, consent to be quoted; the lead then sees it and features it on the branch page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from branches.services import join_branch
from planner.core.extensions import db
from planner.feedback.models import Feedback
from planner.notifications.commands import deliver_all, queue_feedback_requests
from tests.conftest import PASSWORD
from tests.test_feedback import DAY, held

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_member_gives_feedback_from_the_mails_link_on_a_phone(page, log_in, live_server, cast,
                                                                make_user, smtp):
    member = make_user("马明", locale="zh_CN")
    join_branch(member, cast.branch)
    event = held(cast, [member], title="Dumpling night")
    event_id, email, slug = event.id, member.email, cast.branch.slug
    db.session.commit()
    assert queue_feedback_requests(14 * DAY) == 1
    db.session.commit()
    assert deliver_all().sent == 1
    db.session.commit()
    [mail] = smtp.received
    [link] = re.findall(r"https?://\S+/feedback", mail.get_body().get_content())
    assert link == f"{live_server}/events/{event_id}/feedback"

    page.goto(link)  # not logged in on this phone: the login page, then back to the link
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("main input[type=submit]")
    page.wait_for_url(link)
    expect(page.locator("h1")).to_have_text("感觉怎么样？")
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    star = page.locator(".star").nth(3)
    assert star.bounding_box()["height"] >= 44
    star.click()
    page.fill("#comment", "饺子很好吃，大家都很友好。")
    page.check("#may_quote")
    page.click("#feedback-form input[type=submit]")
    expect(page.locator(".flash")).to_contain_text("感谢你的反馈。")
    expect(page.locator("#feedback-mine")).to_be_visible()
    expect(page.locator(".star input").nth(3)).to_be_checked()

    [given] = db.session.scalars(select(Feedback).where(Feedback.event_id == event_id))
    assert (given.rating, given.comment, given.may_quote) == (4, "饺子很好吃，大家都很友好。", True)
    given_id = given.id
    lead = log_in(cast.lead.email)  # commits: SQLite's writer must not wait for the test
    lead.goto(f"{live_server}/events/{event_id}/feedback/all")
    expect(lead.locator("#feedback-average")).to_contain_text("4.00")
    lead.click(f"#feedback-{given_id} button:has-text('Feature on the branch page')")
    expect(lead.locator(".flash")).to_contain_text("Shown as a testimonial")
    page.goto(f"{live_server}/branches/{slug}")
    expect(page.locator("#testimonials")).to_contain_text("饺子很好吃")
    expect(page.locator("#testimonials")).to_contain_text("马明 · Dumpling night")
