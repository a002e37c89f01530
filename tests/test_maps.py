"""A meetup's place opens in the map apps people use, local ones first; no raw coordinates."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qs, urlsplit

from branches.maps import map_links
from branches.services import VenueInput, save_venue
from planner.core.extensions import db
from planner.events import services as events
from planner.events.models import EventStatus


def query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def test_chinese_readers_get_amap_and_baidu_first_others_google_and_apple(cast):
    hall = save_venue(cast.lead, cast.branch, VenueInput("Hall & Tea", "1 Jinli Road", 10))
    hall.latitude, hall.longitude, hall.coordinates_approximate = 30.6571, 104.0481, False
    assert [link.app for link in map_links(hall, "zh_CN")] == ["amap", "baidu", "apple", "google"]
    assert [link.app for link in map_links(hall, "en")] == ["google", "apple", "amap", "baidu"]
    links = {link.app: link.url for link in map_links(hall, "en")}
    assert query(links["amap"])["position"] == "104.0481,30.6571"  # Amap wants longitude first
    assert query(links["amap"])["coordinate"] == "wgs84"
    assert query(links["baidu"])["location"] == "30.6571,104.0481"
    assert query(links["baidu"])["coord_type"] == "wgs84"
    assert query(links["apple"]) == {"ll": "30.6571,104.0481", "q": "Hall & Tea"}
    assert query(links["google"])["query"] == "30.6571,104.0481"


def test_a_venue_placed_only_at_the_city_centre_is_looked_up_by_its_address(cast):
    hall = save_venue(cast.lead, cast.branch, VenueInput("Hall", "1 Jinli Road", 10))
    hall.coordinates_approximate = True
    for link in map_links(hall, "zh_CN"):
        assert "1 Jinli Road" in link.url.replace("+", " ").replace("%20", " ")
        assert str(hall.latitude) not in link.url


def test_the_meetup_page_links_the_map_apps_instead_of_coordinates(client, cast):
    hall = save_venue(cast.lead, cast.branch, VenueInput("Hall", "1 Jinli Road", 10))
    hall.latitude, hall.longitude, hall.coordinates_approximate = 30.6571, 104.0481, False
    [meetup] = events.schedule(cast.lead, cast.branch, events.EventInput(
        title="Tea", starts_local=datetime(2030, 1, 1, 18), ends_local=datetime(2030, 1, 1, 20),
        venue_id=hall.id, status=EventStatus.PUBLISHED))
    db.session.commit()
    english = client.get(f"/events/{meetup.id}").text
    chinese = client.get(f"/events/{meetup.id}", headers={"Accept-Language": "zh-CN"}).text
    assert "30.6571, 104.0481" not in english  # raw coordinates, as the page showed them
    assert english.index("Google Maps") < english.index("Amap")
    assert chinese.index("高德地图") < chinese.index("谷歌地图")
    assert 'href="https://uri.amap.com/marker?position=' in english
