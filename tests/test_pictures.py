"""Cover pictures (issue 16): what a lead uploads is decoded, turned upright, stripped of its
metadata, kept in the database in the sizes pages need and served from the site; bad files
are refused naming the field."""

from __future__ import annotations

import struct
import zlib
from datetime import datetime
from io import BytesIO

import pytest
from PIL import ExifTags, Image
from sqlalchemy import func, select

from planner.core.extensions import db
from planner.events import services as events
from planner.events.models import Event, EventStatus
from planner.events.recurrence import Frequency, RepeatRule
from planner.pictures.models import Picture
from tests.conftest import bearer, login

GPS = ExifTags.IFD.GPSInfo


def photo(size: tuple[int, int] = (400, 300), *, colour: str = "teal", fmt: str = "JPEG",
          orientation: int | None = None, gps: bool = False) -> bytes:
    """A picture as a phone sends it: optionally rotated by EXIF and carrying a position."""
    image = Image.new("RGB", size, colour)
    image.paste("orange", (0, 0, size[0] // 2, size[1] // 4))  # a mark to tell up from down
    exif = Image.Exif()
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    if gps:
        exif[ExifTags.Base.Make] = "PhoneMaker"
        exif.get_ifd(GPS).update({ExifTags.GPS.GPSLatitudeRef: "N",
                                  ExifTags.GPS.GPSLatitude: (30.0, 39.0, 36.0)})
    out = BytesIO()
    image.save(out, fmt, exif=exif.tobytes())
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width` × `height` pixels: a decompression bomb."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


@pytest.fixture
def meetup(cast):
    [event] = events.schedule(cast.lead, cast.branch, events.EventInput(
        title="Tea", starts_local=datetime(2030, 1, 1, 18), ends_local=datetime(2030, 1, 1, 20),
        online_url="https://meet.example/tea", status=EventStatus.PUBLISHED))
    db.session.commit()
    return event


def upload(client, url: str, data: bytes, name: str = "photo.jpg", **kwargs):
    return client.put(url, data={"file": (BytesIO(data), name)},
                      content_type="multipart/form-data", **kwargs)


def fetched(client, cover_url: str) -> Image.Image:
    response = client.get(cover_url.removeprefix("http://localhost"))
    assert response.status_code == 200, response.text
    return Image.open(BytesIO(response.data))


def test_a_lead_sets_a_cover_through_the_api_and_the_meetup_json_links_it(client, cast, meetup):
    token = bearer(client, cast.lead)
    answer = upload(client, f"/api/v1/events/{meetup.id}/cover", photo(), headers=token)
    assert answer.status_code == 200, answer.text
    cover_url = answer.json["cover_url"]
    assert cover_url.startswith("http://localhost/pictures/") and cover_url.endswith("/wide.webp")
    assert client.get(f"/api/v1/events/{meetup.id}").json["cover_url"] == cover_url

    served = client.get(cover_url.removeprefix("http://localhost"))
    assert served.mimetype == "image/webp"
    assert served.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert Image.open(BytesIO(served.data)).size == (400, 300)  # never enlarged
    again = client.get(cover_url.removeprefix("http://localhost"),
                       headers={"If-None-Match": served.headers["ETag"]})
    assert again.status_code == 304

    assert client.delete(f"/api/v1/events/{meetup.id}/cover", headers=token).status_code == 204
    assert client.get(f"/api/v1/events/{meetup.id}").json["cover_url"] is None
    assert db.session.scalar(select(func.count()).select_from(Picture)) == 0  # nothing left over


def test_every_size_is_served_and_the_preview_size_is_cropped_to_fill(client, cast, meetup):
    cover_url = upload(client, f"/api/v1/events/{meetup.id}/cover", photo((3000, 1000)),
                       headers=bearer(client, cast.lead)).json["cover_url"]
    wide = fetched(client, cover_url)
    card = fetched(client, cover_url.replace("wide.webp", "card.webp"))
    share = fetched(client, cover_url.replace("wide.webp", "share.jpg"))
    assert (wide.size, card.size, share.size) == ((1600, 533), (640, 213), (1200, 630))
    assert (wide.format, card.format, share.format) == ("WEBP", "WEBP", "JPEG")
    assert client.get(cover_url.replace("wide.webp", "huge.png")
                      .removeprefix("http://localhost")).status_code == 404
    assert client.get("/pictures/" + "0" * 64 + "/wide.webp").status_code == 404


def test_a_phone_photo_comes_back_upright_and_without_its_position(client, cast, meetup):
    # Orientation 6: the camera was turned, the pixels lie on their side (400 × 300).
    sent = photo((400, 300), orientation=6, gps=True)
    assert Image.open(BytesIO(sent)).getexif().get_ifd(GPS)  # the upload does carry a position
    cover_url = upload(client, f"/api/v1/events/{meetup.id}/cover", sent,
                       headers=bearer(client, cast.lead)).json["cover_url"]
    for name in ("wide.webp", "card.webp", "share.jpg"):
        response = client.get(cover_url.replace("wide.webp", name)
                              .removeprefix("http://localhost"))
        picture = Image.open(BytesIO(response.data))
        assert not picture.getexif() and not picture.info.get("exif"), name
        assert b"PhoneMaker" not in response.data and b"Exif" not in response.data, name
    upright = fetched(client, cover_url)
    assert upright.size == (300, 400)
    # The orange mark was top-left of the sideways pixels; turned upright it is top-right.
    assert upright.convert("RGB").getpixel((290, 10))[0] > 200
    assert upright.convert("RGB").getpixel((10, 10))[0] < 100


@pytest.mark.parametrize(("data", "name", "problem"), [
    (b"just some words, not a picture", "photo.jpg", "is not a picture that can be read"),
    (photo(fmt="GIF"), "anim.gif", "Send a JPEG, PNG or WebP picture."),
    (png_claiming(100_000, 100_000), "bomb.png", "too many pixels: at most 40 million"),
    (png_claiming(8_000, 6_000), "big.png", "too many pixels: at most 40 million"),
    (photo()[:200], "cut.jpg", "is not a picture that can be read"),
])
def test_a_file_that_is_not_a_fit_picture_is_refused_naming_the_field(client, cast, meetup, data,
                                                                     name, problem):
    answer = upload(client, f"/api/v1/events/{meetup.id}/cover", data, name,
                    headers=bearer(client, cast.lead))
    assert answer.status_code == 422, answer.text
    [message] = answer.json["error"]["fields"]["file"]
    assert problem in message
    assert db.session.get(Event, meetup.id).cover_digest is None
    assert db.session.scalar(select(func.count()).select_from(Picture)) == 0


def test_a_missing_file_and_a_json_body_are_refused_naming_the_field(client, cast, meetup):
    token = bearer(client, cast.lead)
    for answer in (client.put(f"/api/v1/events/{meetup.id}/cover", headers=token),
                   client.put(f"/api/v1/events/{meetup.id}/cover", json={"file": "x"},
                              headers=token)):
        assert answer.status_code == 422
        assert answer.json["error"]["fields"]["file"] == ["Choose a picture (JPEG, PNG or WebP)."]


def test_a_file_over_ten_megabytes_is_refused_before_it_is_read(client, cast, meetup, app):
    token = bearer(client, cast.lead)
    # The body as raw bytes: the test client would spool a file this big to disk.
    body = (b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.jpg"\r\n\r\n'
            + b"\xff" * (11 * 2**20) + b"\r\n--b--\r\n")
    too_big = client.put(f"/api/v1/events/{meetup.id}/cover", data=body, headers=token,
                         content_type="multipart/form-data; boundary=b")
    assert too_big.status_code == 413 and too_big.json["error"]["code"]
    # Just over the file limit, inside the request's room for the form around it.
    app.config["PICTURE_MAX_BYTES"] = 1000
    over = upload(client, f"/api/v1/events/{meetup.id}/cover", photo((600, 600)), headers=token)
    assert over.status_code == 422
    assert over.json["error"]["fields"]["file"] == ["The picture is too large: at most 0 MB."]


def test_other_routes_keep_the_sites_two_megabyte_limit(client, cast, meetup):
    answer = client.post("/api/v1/auth/token", data=b"x" * (3 * 2**20),
                         content_type="application/json")
    assert answer.status_code == 413


def test_only_the_branchs_leads_may_change_its_covers(client, cast, meetup, make_user):
    for person in (cast.member, cast.staff, cast.other_lead):
        token = bearer(client, person)
        assert upload(client, f"/api/v1/events/{meetup.id}/cover", photo(),
                      headers=token).status_code == 403
        assert upload(client, f"/api/v1/branches/{cast.branch.slug}/cover", photo(),
                      headers=token).status_code == 403
        assert client.delete(f"/api/v1/events/{meetup.id}/cover",
                             headers=token).status_code == 403
    assert upload(client, f"/api/v1/events/{meetup.id}/cover", photo()).status_code == 401
    assert db.session.scalar(select(func.count()).select_from(Picture)) == 0


def test_a_series_shares_its_picture_and_a_duplicate_keeps_it(client, cast):
    series = events.schedule(cast.lead, cast.branch, events.EventInput(
        title="Weekly", starts_local=datetime(2030, 1, 1, 18), ends_local=datetime(2030, 1, 1, 20),
        online_url="https://meet.example/w", status=EventStatus.PUBLISHED),
        RepeatRule(Frequency.WEEKLY, count=3))
    db.session.commit()
    token = bearer(client, cast.lead)
    cover_url = upload(client, f"/api/v1/events/{series[1].id}/cover", photo(),
                       headers=token).json["cover_url"]
    assert {client.get(f"/api/v1/events/{e.id}").json["cover_url"] for e in series} == {cover_url}

    copy = client.post(f"/api/v1/events/{series[0].id}/duplicate", headers=token).json
    assert copy["cover_url"] == cover_url
    # Removing it from the series leaves it with the copy, which still uses it.
    assert client.delete(f"/api/v1/events/{series[2].id}/cover", headers=token).status_code == 204
    assert {client.get(f"/api/v1/events/{e.id}").json["cover_url"] for e in series} == {None}
    assert fetched(client, copy["cover_url"]).format == "WEBP"


def test_the_same_file_is_kept_once_and_a_replaced_one_is_forgotten(client, cast, meetup):
    token = bearer(client, cast.lead)
    first = upload(client, f"/api/v1/branches/{cast.branch.slug}/cover", photo(),
                   headers=token).json["cover_url"]
    assert upload(client, f"/api/v1/events/{meetup.id}/cover", photo(),
                  headers=token).json["cover_url"] == first
    assert db.session.scalar(select(func.count()).select_from(Picture)) == 1
    # The meetup moves on to another picture: the first stays, the branch still shows it.
    other = upload(client, f"/api/v1/events/{meetup.id}/cover", photo(colour="navy"),
                   headers=token).json["cover_url"]
    assert other != first
    assert client.get(f"/api/v1/branches/{cast.branch.slug}").json["cover_url"] == first
    # Now nothing shows the first one: it is deleted with its sizes.
    upload(client, f"/api/v1/branches/{cast.branch.slug}/cover", photo(colour="navy"),
           headers=token)
    assert db.session.scalar(select(func.count()).select_from(Picture)) == 1
    assert client.get(first.removeprefix("http://localhost")).status_code == 404


def test_a_second_app_server_serves_what_the_first_was_sent(client, cast, meetup, make_app):
    cover_url = upload(client, f"/api/v1/events/{meetup.id}/cover", photo(),
                       headers=bearer(client, cast.lead)).json["cover_url"]
    other = make_app().test_client()
    served = other.get(cover_url.removeprefix("http://localhost"))
    assert served.status_code == 200
    assert served.data == client.get(cover_url.removeprefix("http://localhost")).data


def test_a_lead_uploads_and_removes_a_cover_on_the_pages(client, cast, meetup):
    login(client, cast.lead)
    edit = client.get(f"/events/{meetup.id}/edit").text
    assert 'enctype="multipart/form-data"' in edit
    assert 'accept="image/jpeg,image/png,image/webp"' in edit
    done = client.post(f"/events/{meetup.id}/cover", data={"file": (BytesIO(photo()), "p.jpg")},
                       content_type="multipart/form-data", follow_redirects=True)
    assert "Picture saved." in done.text
    digest = db.session.get(Event, meetup.id).cover_digest
    page = client.get(f"/events/{meetup.id}").text
    assert f'src="/pictures/{digest}/wide.webp"' in page
    assert f"/pictures/{digest}/card.webp 640w" in page

    refused = client.post(f"/events/{meetup.id}/cover",
                          data={"file": (BytesIO(b"%PDF-1.7"), "menu.jpg")},
                          content_type="multipart/form-data", follow_redirects=True)
    assert "Picture: This file is not a picture that can be read" in refused.text
    assert db.session.get(Event, meetup.id).cover_digest == digest  # the old one stays

    removed = client.post(f"/events/{meetup.id}/cover", data={"remove": "Remove picture"},
                          follow_redirects=True)
    assert "Picture removed." in removed.text
    assert db.session.get(Event, meetup.id).cover_digest is None


def test_members_cannot_post_the_cover_forms(client, cast, meetup):
    login(client, cast.member)
    answer = client.post(f"/events/{meetup.id}/cover", data={"file": (BytesIO(photo()), "p.jpg")},
                         content_type="multipart/form-data")
    assert answer.status_code == 403
    assert client.post(f"/branches/{cast.branch.slug}/cover",
                       data={"remove": "x"}).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(Picture)) == 0


def test_a_pasted_link_previews_with_title_time_and_picture(client, cast, meetup):
    login(client, cast.lead)
    client.post(f"/branches/{cast.branch.slug}/cover", data={"file": (BytesIO(photo()), "p.jpg")},
                content_type="multipart/form-data")
    digest = db.session.get(Event, meetup.id).branch.cover_digest
    client.post("/logout")
    page = client.get(f"/events/{meetup.id}", headers={"Host": "attacker.example"}).text
    assert '<meta property="og:title" content="Tea">' in page
    assert f'<meta property="og:url" content="http://localhost/events/{meetup.id}">' in page
    # The meetup has no picture of its own: the branch's stands in for it.
    assert (f'<meta property="og:image" content="http://localhost/pictures/{digest}/share.jpg">'
            in page)
    assert '<meta name="twitter:card" content="summary_large_image">' in page
    description = page.split('<meta property="og:description" content="')[1].split('"')[0]
    assert description == "Tuesday 1 January 2030, 18:00–20:00 · 成都 branch"
    branch_page = client.get(f"/branches/{cast.branch.slug}").text
    assert f'src="/pictures/{digest}/wide.webp"' in branch_page
    assert '<meta property="og:title" content="成都 branch">' in branch_page
