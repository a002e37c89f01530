"""What a lead does on the member list from a phone: select everyone at once, then some."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from branches.services import join_branch
from planner.core.extensions import db

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_lead_selects_every_member_on_the_page_then_leaves_one_out(log_in, live_server, cast,
                                                                     make_user):
    for n in range(3):
        join_branch(make_user(f"Newcomer {n}"), cast.branch)
    slug, email = cast.branch.slug, cast.lead.email
    db.session.commit()
    page = log_in(email)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/branches/{slug}/members/engagement")
    boxes = page.locator("#engagement tbody input[type=checkbox]")
    everyone = page.locator("#select-all")
    page.get_by_label("Select everyone on this page").check()
    assert boxes.count() >= 5 and all(box.is_checked() for box in boxes.all())
    boxes.first.uncheck()
    assert everyone.evaluate("box => box.indeterminate") and not everyone.is_checked()
    expect(page.locator("#engagement .badge").first).to_have_css("white-space", "nowrap")
