"""Links that open a venue in the map apps people use: 高德 (Amap) and 百度 first for Chinese
readers, Apple and Google Maps first for others. Links only: no tiles, no third-party script.
Coordinates are WGS-84 (what the geocoder gives); the Chinese apps are told so and convert."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from flask_babel import lazy_gettext as _l

from branches.models import Venue


@dataclass(frozen=True)
class MapLink:
    app: str
    label: str
    url: str


def _amap(venue: Venue) -> str:
    if venue.coordinates_approximate:
        return "https://uri.amap.com/search?" + urlencode({"keyword": venue.address})
    return "https://uri.amap.com/marker?" + urlencode({
        "position": f"{venue.longitude},{venue.latitude}", "name": venue.name,
        "coordinate": "wgs84", "callnative": 1})


def _baidu(venue: Venue) -> str:
    if venue.coordinates_approximate:
        return "https://api.map.baidu.com/geocoder?" + urlencode({
            "address": venue.address, "output": "html", "src": "juhui"})
    return "https://api.map.baidu.com/marker?" + urlencode({
        "location": f"{venue.latitude},{venue.longitude}", "title": venue.name,
        "content": venue.address, "coord_type": "wgs84", "output": "html", "src": "juhui"})


def _apple(venue: Venue) -> str:
    if venue.coordinates_approximate:
        return "https://maps.apple.com/?" + urlencode({"q": venue.address})
    return "https://maps.apple.com/?" + urlencode({
        "ll": f"{venue.latitude},{venue.longitude}", "q": venue.name})


def _google(venue: Venue) -> str:
    where = venue.address if venue.coordinates_approximate else (
        f"{venue.latitude},{venue.longitude}")
    return "https://www.google.com/maps/search/?" + urlencode({"api": 1, "query": where})


APPS = {"amap": (_l("Amap (高德)"), _amap), "baidu": (_l("Baidu Maps (百度)"), _baidu),
        "apple": (_l("Apple Maps"), _apple), "google": (_l("Google Maps"), _google)}
ORDER = {"zh": ("amap", "baidu", "apple", "google"), "other": ("google", "apple", "amap", "baidu")}


def map_links(venue: Venue, locale: str) -> list[MapLink]:
    order = ORDER["zh" if locale.startswith("zh") else "other"]
    return [MapLink(app, str(APPS[app][0]), APPS[app][1](venue)) for app in order]
