"""A newcomer signs up, switches languages, finds the branch nearest a typed city, joins it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from branches.services import get_branch, membership_of
from planner.accounts.services import find_user_by_email
from tests.conftest import make_branch

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sign_up_switch_language_find_nearest_and_join(page, live_server, admin, app):
    for slug, city in [("beijing", "北京"), ("shanghai", "上海"), ("chengdu", "成都")]:
        make_branch(admin, slug, city)

    page.goto(f"{live_server}/signup")
    expect(page.locator("h1")).to_have_text("注册")  # zh-CN browser → Chinese first
    page.fill("#email", "xiaoming@example.com")
    page.fill("#password", "a long secret")
    page.fill("#display_name", "小明 <b>")
    page.click("input[type=submit]")
    expect(page.locator(".flash-success")).to_contain_text("小明 <b>")

    page.click("button[lang=en]")
    expect(page.locator("nav")).to_contain_text("Near me")
    page.click("text=Near me")
    page.fill("#place", "杭州")
    page.click("button[type=submit]:has-text('Find')")
    first = page.locator(".branch-card").first
    expect(first).to_contain_text("上海 branch")
    expect(first).to_contain_text(re.compile(r"\d+(\.\d)? km away"))

    page.click("button[lang=zh-CN]")
    first = page.locator(".branch-card").first
    first.locator("a").click()
    page.click("text=加入分站")
    expect(page.locator(".flash-success")).to_contain_text("你已加入")

    membership = membership_of(find_user_by_email("xiaoming@example.com"),
                               get_branch("shanghai"))
    assert membership is not None and membership.is_active


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_nearest_from_the_browser_location(browser, live_server, admin, app):
    make_branch(admin, "chengdu", "成都")
    make_branch(admin, "shanghai", "上海")
    context = browser.new_context(locale="en-US", geolocation={"latitude": 30.6,
                                                               "longitude": 104.0},
                                  permissions=["geolocation"])
    page = context.new_page()
    page.goto(f"{live_server}/branches/nearest")
    page.click("#use-location")
    expect(page.locator(".branch-card").first).to_contain_text("成都 branch")
    assert "lat=30.6" in page.url
    context.close()
