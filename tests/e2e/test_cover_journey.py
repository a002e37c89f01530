"""On a phone, a lead gives a meetup a cover picture taken with the phone's camera; the
meetup page shows it, turned upright, and a pasted link previews with it."""

from __future__ import annotations

from datetime import UTC, datetime
from io import BytesIO

import pytest
from PIL import Image
from playwright.sync_api import expect

from planner.events import services as events
from planner.events.models import EventStatus
from tests.test_pictures import photo

pytestmark = pytest.mark.browser
YEAR = datetime.now(UTC).year + 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_lead_adds_a_cover_picture_on_a_phone(log_in, live_server, cast):
    [meetup] = events.schedule(cast.lead, cast.branch, events.EventInput(
        title="读书会", starts_local=datetime(YEAR, 4, 9, 19), ends_local=datetime(YEAR, 4, 9, 21),
        online_url="https://meet.example/read", status=EventStatus.PUBLISHED))
    meetup_id = meetup.id
    cast.lead.locale = None  # no choice saved: the phone's Chinese wins
    page = log_in(cast.lead.email, locale="zh-CN", viewport={"width": 390, "height": 844},
                  has_touch=True, is_mobile=True)
    page.wait_for_url(lambda url: "/login" not in url)

    page.goto(f"{live_server}/events/{meetup_id}/edit")
    cover = page.locator("#cover")
    cover.locator("input[type=file]").set_input_files(files=[{
        "name": "IMG_0001.jpg", "mimeType": "image/jpeg",
        "buffer": photo((800, 600), orientation=6, gps=True)}])
    cover.locator("input[type=submit]").tap()
    expect(page.locator(".flash-success")).to_have_text("图片已保存。")
    expect(page.locator("#cover img.cover")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0

    page.goto(f"{live_server}/events/{meetup_id}")
    picture = page.locator("article img.cover")
    expect(picture).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    # The phone asked for the size that fits it, and got the picture upright (taller than wide).
    source = picture.evaluate("img => img.currentSrc")
    assert source.endswith("/card.webp")
    served = Image.open(BytesIO(page.request.get(source).body()))
    assert served.height > served.width
    preview = page.locator('meta[property="og:image"]').get_attribute("content")
    assert preview == source.replace("card.webp", "share.jpg")
