"""Place resolution against the offline gazetteer, geocoder plumbing, distances and boxes.

Pure unit tests: no app, no database, no network.
"""

from __future__ import annotations

import math
import random
import socket

import pytest
from geopy.distance import geodesic
from geopy.geocoders import BaiduV3, Nominatim
from geopy.geocoders.base import Geocoder
from geopy.location import Location
from geopy.point import Point

from branches.geography import (
    AmbiguousPlace,
    BoundingBox,
    OfflineGazetteer,
    Place,
    UnknownPlace,
    bounding_box,
    distance_km,
    make_geocoder,
    normalise_name,
    place_from_coordinates,
    resolve_place,
)

CHENGDU = (30.67, 104.07)
BEIJING = (39.9075, 116.39723)
SHANGHAI = (31.22222, 121.45806)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("geography tests must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


# --- resolving names -------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["成都", "Chengdu", "成都市", " chengdu ", "CHENGDU"])
def test_chengdu_in_any_spelling(query):
    place = resolve_place(query)
    assert place == resolve_place("成都")
    assert (place.name, place.country, place.timezone) == ("Chengdu", "CN", "Asia/Shanghai")
    assert distance_km(place.latitude, place.longitude, *CHENGDU) < 5
    assert place.population > 10_000_000
    assert not place.approximate


@pytest.mark.parametrize("query", ["北京", "北京市", "Beijing", "Peking"])
def test_beijing_in_any_spelling(query):
    assert resolve_place(query).name == "Beijing"


@pytest.mark.parametrize(("query", "expected"), [
    ("Zurich", "Zürich"),  # accents folded
    ("Sao Paulo", "São Paulo"),
    ("ＬＯＮＤＯＮ", "London"),  # full-width letters folded by NFKD
    ("パース", "Perth"),  # kana voicing marks are not accents: Perth ...
    ("バース", "Bath"),  # ... and Bath stay apart
])
def test_name_normalisation(query, expected):
    assert resolve_place(query).name == expected


def test_normalise_name():
    assert normalise_name("  São   Paulo ") == "sao paulo"
    assert normalise_name("成都市") == normalise_name("成都") == "成都"
    assert normalise_name("市") == "市"


def test_london_means_the_dominant_london():
    place = resolve_place("London")
    assert (place.country, place.timezone) == ("GB", "Europe/London")


@pytest.mark.parametrize("country", ["CA", "ca", " Ca "])
def test_country_narrows_the_match(country):
    place = resolve_place("London", country)
    assert (place.name, place.country, place.timezone) == ("London", "CA", "America/Toronto")


def test_country_without_that_city_is_unknown():
    with pytest.raises(UnknownPlace):
        resolve_place("成都", "FR")


@pytest.mark.parametrize("query", ["Springfield", "San Jose"])
def test_names_without_a_dominant_city_are_ambiguous(query):
    # Springfield: 170k (IL), 154k (MA), 114k (MO), ...; San Jose: 1.0M (US) vs 0.3M (CR).
    with pytest.raises(AmbiguousPlace) as raised:
        resolve_place(query)
    candidates = raised.value.candidates
    assert raised.value.query == query
    assert 1 < len(candidates) <= 10
    populations = [c.population for c in candidates]
    assert populations == sorted(populations, reverse=True)
    assert populations[0] < 10 * populations[1]
    assert all(isinstance(c, Place) for c in candidates)


def test_ambiguous_candidates_are_capped_at_ten():
    with pytest.raises(AmbiguousPlace) as raised:
        resolve_place("Santa Cruz")
    assert len(raised.value.candidates) == 10


def test_country_can_settle_an_ambiguous_name():
    place = resolve_place("San Jose", "CR")
    assert (place.country, place.timezone) == ("CR", "America/Costa_Rica")


@pytest.mark.parametrize("query", ["Qwertyville", "zzzxq 不存在的城市", "", "   ", "\t\n", "市"])
def test_unknown_and_empty_names(query):
    with pytest.raises(UnknownPlace) as raised:
        resolve_place(query)
    assert raised.value.query == query


# --- coordinates -----------------------------------------------------------------------------

def test_place_from_coordinates_near_shanghai():
    place = place_from_coordinates(31.30, 121.60)
    assert (place.country, place.timezone) == ("CN", "Asia/Shanghai")
    assert (place.latitude, place.longitude) == (31.30, 121.60)
    assert place.name
    assert not place.approximate


@pytest.mark.parametrize(("latitude", "longitude", "timezone"), [
    (51.50, -0.12, "Europe/London"),
    (-33.87, 151.21, "Australia/Sydney"),
    (40.71, -74.01, "America/New_York"),
    (21.30, -157.85, "Pacific/Honolulu"),
])
def test_place_from_coordinates_timezones(latitude, longitude, timezone):
    assert place_from_coordinates(latitude, longitude).timezone == timezone


def test_nearest_city_search_matches_brute_force():
    from branches.geography import _central_angle, _cities, _nearest_city

    cities = list(_cities().values())
    rng = random.Random(7)
    for _ in range(20):
        latitude, longitude = rng.uniform(-90, 90), rng.uniform(-180, 180)
        nearest = _nearest_city(latitude, longitude)
        best = min(_central_angle(latitude, longitude, c["latitude"], c["longitude"])
                   for c in cities)
        found = _central_angle(latitude, longitude, nearest["latitude"], nearest["longitude"])
        assert found == pytest.approx(best, abs=1e-12)


# --- the geopy interface ---------------------------------------------------------------------

def test_gazetteer_geocode_returns_geopy_locations():
    gazetteer = OfflineGazetteer()
    location = gazetteer.geocode("伦敦")
    assert isinstance(location, Location)
    assert location.raw["countrycode"] == "GB"
    assert location.raw["timezone"] == "Europe/London"
    every = gazetteer.geocode("伦敦", exactly_one=False)
    assert [loc.raw["countrycode"] for loc in every] == ["GB", "CA"]
    canadian = gazetteer.geocode("London", country_codes=["ca"])
    assert canadian.raw["timezone"] == "America/Toronto"
    assert gazetteer.geocode("Qwertyville") is None


def test_gazetteer_raw_is_a_copy():
    gazetteer = OfflineGazetteer()
    gazetteer.geocode("Chengdu").raw["timezone"] = "Mars/Olympus"
    assert resolve_place("Chengdu").timezone == "Asia/Shanghai"


@pytest.mark.parametrize("query", [SHANGHAI, Point(*SHANGHAI), "31.22222, 121.45806"])
def test_gazetteer_reverse_finds_the_nearest_city(query):
    location = OfflineGazetteer().reverse(query)
    assert location.raw["name"] == "Shanghai"
    assert location.raw["timezone"] == "Asia/Shanghai"
    assert (location.latitude, location.longitude) == SHANGHAI


def test_gazetteer_reverse_may_name_a_district():
    # The gazetteer holds city districts too: central Shanghai is nearest to Huangpu.
    location = OfflineGazetteer().reverse((31.23, 121.47))
    assert (location.raw["countrycode"], location.raw["timezone"]) == ("CN", "Asia/Shanghai")
    assert distance_km(location.latitude, location.longitude, 31.23, 121.47) < 5


def test_gazetteer_reverse_many():
    locations = OfflineGazetteer().reverse((51.5, -0.12), exactly_one=False)
    assert [loc.raw["name"] for loc in locations] == ["London"]


class FixedGeocoder(Geocoder):
    """Stands in for an online geocoder: always answers with the same location."""

    def __init__(self, location: Location | None) -> None:
        super().__init__()
        self.location = location
        self.queries: list[str] = []

    def geocode(self, query: str, *, exactly_one: bool = True) -> Location | None:
        assert exactly_one
        self.queries.append(query)
        return self.location


def test_online_geocoder_gets_timezone_from_the_gazetteer():
    westminster = Location("Palace of Westminster, London", Point(51.4995, -0.1248), {})
    geocoder = FixedGeocoder(westminster)
    place = resolve_place("Palace of Westminster, London", geocoder=geocoder)
    assert geocoder.queries == ["Palace of Westminster, London"]
    assert (place.country, place.timezone) == ("GB", "Europe/London")
    assert (place.latitude, place.longitude) == (51.4995, -0.1248)


def test_online_geocoder_without_answer_is_unknown():
    with pytest.raises(UnknownPlace):
        resolve_place("Qwertyville", geocoder=FixedGeocoder(None))


def test_online_geocoder_is_not_asked_about_blank_names():
    geocoder = FixedGeocoder(None)
    with pytest.raises(UnknownPlace):
        resolve_place("  ", geocoder=geocoder)
    assert geocoder.queries == []


def test_make_geocoder():
    assert isinstance(make_geocoder("offline"), OfflineGazetteer)
    assert isinstance(make_geocoder(" Offline "), OfflineGazetteer)
    nominatim = make_geocoder("nominatim", user_agent="juhui-tests")
    assert isinstance(nominatim, Nominatim)
    assert nominatim.headers["User-Agent"] == "juhui-tests"
    assert isinstance(make_geocoder("baidu", api_key="secret"), BaiduV3)


def test_make_geocoder_refuses_baidu_without_key():
    with pytest.raises(ValueError, match="API key"):
        make_geocoder("baidu")


def test_make_geocoder_names_the_allowed_values():
    with pytest.raises(ValueError, match="offline, nominatim, baidu"):
        make_geocoder("google")


def test_offline_geocoder_through_resolve_place():
    assert resolve_place("成都", geocoder=make_geocoder("offline")) == resolve_place("成都")


# --- distances and boxes ---------------------------------------------------------------------

def test_distance_beijing_shanghai():
    assert distance_km(*BEIJING, *SHANGHAI) == pytest.approx(1067, abs=15)
    assert distance_km(*BEIJING, *BEIJING) == 0


def test_bounding_box_is_reasonably_tight():
    box = bounding_box(*CHENGDU, 50)
    degrees_of_50_km = 50 / 111
    assert box.max_lat - CHENGDU[0] == pytest.approx(degrees_of_50_km, rel=0.03)
    assert box.max_lon - CHENGDU[1] == pytest.approx(
        degrees_of_50_km / math.cos(math.radians(CHENGDU[0])), rel=0.03)
    assert not box.wraps


def test_bounding_box_across_the_antimeridian():
    box = bounding_box(-17.7, 179.9, 100)  # Fiji
    assert box.wraps
    assert box.min_lon > box.max_lon
    assert box.contains(-17.7, -179.9)
    assert box.contains(-17.7, 179.5)
    assert not box.contains(-17.7, 0)


def test_bounding_box_around_a_pole_spans_every_longitude():
    box = bounding_box(89.5, 10, 100)
    assert (box.min_lon, box.max_lon, box.max_lat) == (-180, 180, 90)
    assert not box.wraps


def test_bounding_box_for_the_whole_globe():
    box = bounding_box(0, 0, 20040)
    assert box == BoundingBox(-90, 90, -180, 180)


def test_bounding_box_refuses_negative_radius():
    with pytest.raises(ValueError):
        bounding_box(0, 0, -1)


def _random_centre(rng: random.Random) -> tuple[float, float]:
    region = rng.choice(["anywhere", "antimeridian", "north pole", "south pole"])
    if region == "antimeridian":
        return rng.uniform(-80, 80), rng.choice([1, -1]) * rng.uniform(175, 180)
    if region == "north pole":
        return rng.uniform(80, 90), rng.uniform(-180, 180)
    if region == "south pole":
        return rng.uniform(-90, -80), rng.uniform(-180, 180)
    return rng.uniform(-90, 90), rng.uniform(-180, 180)


def _random_radius(rng: random.Random) -> float:
    return 10 ** rng.uniform(-1, math.log10(5000))


def test_bounding_box_holds_every_point_within_the_radius():
    rng = random.Random(20240611)
    for _ in range(500):
        centre = _random_centre(rng)
        radius = _random_radius(rng)
        box = bounding_box(*centre, radius)
        for _ in range(40):
            # Half the points on the circle itself, where a box that is too tight fails first.
            distance = radius if rng.random() < 0.5 else rng.uniform(0, radius)
            point = geodesic(kilometers=distance).destination(Point(*centre), rng.uniform(0, 360))
            assert box.contains(point.latitude, point.longitude), (centre, radius, point)


def test_bounding_box_holds_the_circle_at_every_bearing():
    # The widest longitude is reached at one bearing; sweep them all for the tightest cases.
    for centre in [(0.0, 179.5), (60.0, -179.0), (-75.0, 120.0), (84.0, 45.0), (-88.0, 0.0)]:
        for radius in [1.0, 100.0, 400.0, 1000.0]:
            box = bounding_box(*centre, radius)
            for bearing in range(360):
                point = geodesic(kilometers=radius).destination(Point(*centre), bearing)
                assert box.contains(point.latitude, point.longitude), (centre, radius, bearing)
