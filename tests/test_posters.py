"""Share posters (issue 16): a PNG for chat groups whose QR code opens the meetup or the invite
link, with its Chinese text drawn in a CJK typeface (not as empty boxes)."""

from __future__ import annotations

from datetime import datetime
from io import BytesIO

import pytest
import zxingcpp
from PIL import Image, ImageChops, ImageDraw

from branches.services import VenueInput, save_venue
from planner.core.extensions import db
from planner.events import services as events
from planner.events.models import EventStatus
from planner.funnel import services as funnel
from planner.funnel.models import Channel, InviteVisit
from planner.pictures import posters
from planner.pictures import services as pictures
from tests.conftest import login
from tests.test_pictures import photo

TITLE = "周六读书会：红楼梦"


@pytest.fixture
def meetup(cast):
    hall = save_venue(cast.lead, cast.branch, VenueInput("方所书店", "中纱帽街 8 号", 30))
    [event] = events.schedule(cast.lead, cast.branch, events.EventInput(
        title=TITLE, starts_local=datetime(2030, 1, 5, 14), ends_local=datetime(2030, 1, 5, 16),
        venue_id=hall.id, status=EventStatus.PUBLISHED))
    db.session.commit()
    return event


def decoded(png: bytes) -> list[str]:
    return [found.text for found in zxingcpp.read_barcodes(Image.open(BytesIO(png)))]


def test_the_meetup_poster_opens_the_meetup_and_says_when_and_where(client, cast, meetup):
    answer = client.get(f"/events/{meetup.id}/poster.png")
    assert answer.status_code == 200 and answer.mimetype == "image/png"
    assert answer.headers["Cache-Control"] == "public, max-age=600"
    assert Image.open(BytesIO(answer.data)).size == (1080, 1440)
    assert decoded(answer.data) == [f"http://localhost/events/{meetup.id}"]
    poster = posters.Poster(title=TITLE, when="Saturday 5 January 2030, 14:00–16:00",
                            where="方所书店 · 中纱帽街 8 号", branch="成都 branch",
                            link=f"http://localhost/events/{meetup.id}", caption="Scan to RSVP")
    assert answer.data == posters.render(poster)  # the page's words, in the reader's language


def test_an_invite_links_poster_opens_the_link_and_counts_no_visit(client, cast, meetup):
    link = funnel.create_link(cast.lead, cast.branch, "读书群", Channel.CHAT_GROUP, meetup)
    branch_link = funnel.create_link(cast.lead, cast.branch, "Posters", Channel.POSTER, None)
    db.session.commit()
    assert decoded(client.get(f"/i/{link.code}/poster.png").data) == [
        f"http://localhost/i/{link.code}"]
    assert decoded(client.get(f"/i/{branch_link.code}/poster.png").data) == [
        f"http://localhost/i/{branch_link.code}"]
    assert db.session.query(InviteVisit).count() == 0  # only opening the link counts
    funnel.revoke_link(cast.lead, link.id)
    db.session.commit()
    assert client.get(f"/i/{link.code}/poster.png").status_code == 404


def test_chinese_text_is_drawn_with_cjk_glyphs_not_boxes(app):
    """Pillow's own font has no Chinese: the same poster drawn with it differs exactly where
    the Chinese title is, and each character of the title is a glyph of its own in the
    typeface the site uses, unlike a character no typeface has (drawn as the same box)."""
    font = posters.installed_typeface().font(68, bold=True)

    def glyph(char: str) -> bytes:
        canvas = Image.new("L", (90, 90))
        ImageDraw.Draw(canvas).text((0, 0), char, fill=255, font=font)
        return canvas.tobytes()

    missing = glyph("\U0010fffd")
    glyphs = {glyph(char) for char in "周六读书会红楼梦"}
    assert missing not in glyphs and len(glyphs) == 8

    poster = posters.Poster(title=TITLE, when=None, where=None, branch="成都分站",
                            link="http://localhost/i/x", caption="扫码报名")
    drawn = Image.open(BytesIO(posters.render(poster))).convert("L")
    fallback = Image.open(BytesIO(posters.render(
        poster, posters.Typeface(None, None)))).convert("L")
    title_band = (64, 356, 1016, 444)  # below the 300 px header, the first title line
    ink = drawn.crop(title_band).point(lambda level: level < 128 and 255).getbbox()
    assert ink is not None and ink[2] - ink[0] > 400  # eight characters' worth of ink
    assert ImageChops.difference(drawn.crop(title_band), fallback.crop(title_band)).getbbox()


def test_the_cover_picture_heads_the_poster(client, cast, meetup):
    events.set_cover(cast.lead, meetup, pictures.store(photo((1600, 900), colour="#0000ff")))
    db.session.commit()
    poster = Image.open(BytesIO(client.get(f"/events/{meetup.id}/poster.png").data))
    red, green, blue = poster.convert("RGB").getpixel((1000, 500))
    assert blue > 200 and red < 60 and green < 60


def test_a_drafts_poster_is_for_its_leads_only(client, cast):
    [draft] = events.schedule(cast.lead, cast.branch, events.EventInput(
        title="Secret", starts_local=datetime(2030, 1, 5, 14), ends_local=datetime(2030, 1, 5, 16),
        online_url="https://meet.example/s", status=EventStatus.DRAFT))
    db.session.commit()
    assert client.get(f"/events/{draft.id}/poster.png").status_code == 404
    login(client, cast.lead)
    answer = client.get(f"/events/{draft.id}/poster.png")
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "private, no-store"


def test_the_meetup_page_offers_the_link_and_the_poster(client, cast, meetup):
    page = client.get(f"/events/{meetup.id}").text
    share = page[page.index('id="share"'):]
    assert f'value="http://localhost/events/{meetup.id}"' in share
    assert f'href="/events/{meetup.id}/poster.png"' in share


def test_long_titles_and_links_wrap_inside_the_poster(app):
    font = posters.installed_typeface().font(40)
    lines = posters._wrapped("读书会 " * 40, font, 500, 3)
    assert len(lines) == 3 and lines[-1].endswith("…")
    assert all(font.getlength(line) <= 500 for line in lines)
    url = "http://localhost/i/" + "A" * 60
    assert "".join(posters._wrapped(url, font, 300, 9)) == url  # broken anywhere, nothing lost
