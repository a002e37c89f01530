"""The iCalendar builder: every .ics file and feed the site serves is assembled here.

The rules come from shared/CALENDAR.md: our own stable UIDs, DTSTAMP and LAST-MODIFIED from the
rows (same data, same bytes), a VTIMEZONE for every TZID, one VEVENT per occurrence, no METHOD
and no ORGANIZER. VEVENTs are serialised by icalendar one at a time and kept in a bounded cache,
so a warm feed is mostly a join of cached bytes.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from icalendar import Calendar, Component, Timezone, vDuration
from icalendar import Event as VEvent

from planner.core.urls import public_url, site_root
from planner.events.models import Event

PRODID = "-//Juhui//Juhui meetup planner//ZH"
REFRESH_INTERVAL = timedelta(hours=1)
VEVENT_CACHE_SIZE = 5000
END_CALENDAR = b"END:VCALENDAR\r\n"
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True)
class FeedEntry:
    """One meetup as a feed shows it. `tentative`: the member waits for a seat.
    `changed_at`: when the member's RSVP last changed, if it matters for this feed."""

    event: Event
    tentative: bool = False
    changed_at: datetime | None = None


@dataclass(frozen=True)
class Built:
    """A serialised VEVENT and the TZIDs it refers to."""

    data: bytes
    tzids: frozenset[str]


# --- public API ------------------------------------------------------------------------------

def event_ics(event: Event) -> bytes:
    """A complete VCALENDAR holding this one meetup, in its branch's language."""
    return calendar_ics([FeedEntry(event)], event.branch.locale)


def calendar_ics(entries: Sequence[FeedEntry], locale: str,
                 name: Callable[[], str] | None = None) -> bytes:
    """A VCALENDAR of the entries, text in `locale`. A feed has a `name` (called in that
    locale) and refresh hints; a one-off file has neither, so importing it never creates a
    calendar of its own (Outlook does that for X-WR-CALNAME)."""
    with force_locale(locale):
        built = [_cached_vevent(entry, locale) for entry in entries]
        head = _calendar_head(name() if name else None)
    zones = b"".join(vtimezone(tzid, *_years(tzid, entries))
                     for tzid in sorted(set().union(*(b.tzids for b in built))))
    return head + zones + b"".join(b.data for b in built) + END_CALENDAR


def event_uid(event: Event) -> str:
    """The one place UIDs are made. An occurrence of a series is named by the series and its
    original slot, so moving it keeps its UID."""
    if event.series_id is not None:
        slot = event.original_starts_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        return f"series-{event.series_id}-{slot}@{uid_domain()}"
    return f"event-{event.id}@{uid_domain()}"


def uid_domain() -> str:
    """The host part of every UID: CALENDAR_UID_DOMAIN, else the configured site address, so
    feeds, downloads and mailed files agree wherever they are built. Set it before going live:
    changing it changes every UID."""
    config = current_app.config
    for candidate in (config.get("CALENDAR_UID_DOMAIN"), config.get("SERVER_NAME"),
                      config.get("PUBLIC_URL")):
        if candidate and (host := urlsplit(candidate if "//" in candidate
                                           else f"//{candidate}").hostname):
            return host
    return urlsplit(site_root()).hostname or "juhui.invalid"


# --- VTIMEZONE -------------------------------------------------------------------------------

@lru_cache(maxsize=512)
def vtimezone(tzid: str, first_year: int, last_year: int) -> bytes:
    """VTIMEZONE for tzid covering whole years, fixed for ical.js and Outlook: no COMMENT
    (not allowed inside VTIMEZONE) and one RDATE per line instead of a comma list."""
    zone = Timezone.from_tzid(tzid, first_date=date(first_year, 1, 1),
                              last_date=date(last_year + 1, 1, 1))
    zone.pop("COMMENT", None)
    for observance in zone.subcomponents:
        _one_rdate_per_line(observance)
    return zone.to_ical()


def _one_rdate_per_line(observance: Component) -> None:
    found = observance.pop("RDATE", None)
    if found is None:
        return
    lists = found if isinstance(found, list) else [found]
    for moment in sorted(value.dt for listed in lists for value in listed.dts):
        observance.add("RDATE", moment)


def _years(tzid: str, entries: Iterable[FeedEntry]) -> tuple[int, int]:
    """The whole years the entries in this zone cover: a stable key for the VTIMEZONE cache."""
    zone = ZoneInfo(tzid)
    years = [moment.astimezone(zone).year for entry in entries
             if entry.event.branch.timezone == tzid
             for moment in (entry.event.starts_at, entry.event.ends_at)]
    return min(years), max(years)


# --- VCALENDAR and VEVENT --------------------------------------------------------------------

def _calendar_head(name: str | None) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if name:
        calendar.add("name", name)
        calendar.add("x-wr-calname", name)
        calendar.add("refresh-interval", REFRESH_INTERVAL, parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", vDuration(REFRESH_INTERVAL))
    return calendar.to_ical().removesuffix(END_CALENDAR)


class BoundedCache(Generic[K, V]):
    """A thread-safe LRU cache holding at most `capacity` units, as measured by `weigh`
    (1 per item unless told otherwise); the least recently used go first."""

    def __init__(self, capacity: int, weigh: Callable[[V], int] = lambda _value: 1) -> None:
        self._items: OrderedDict[K, V] = OrderedDict()
        self._capacity, self._weigh, self._weight = capacity, weigh, 0
        self._lock = threading.Lock()

    def get(self, key: K, build: Callable[[], V]) -> V:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
        value = build()
        with self._lock:
            if key not in self._items and self._weigh(value) <= self._capacity:
                self._items[key] = value
                self._weight += self._weigh(value)
            while self._weight > self._capacity:
                self._weight -= self._weigh(self._items.popitem(last=False)[1])
        return value

    def __len__(self) -> int:
        return len(self._items)


def app_cache(name: str, capacity: int, weigh: Callable[[Any], int] = lambda _value: 1,
              ) -> BoundedCache[Any, Any]:
    """This app's cache called `name` (one per app, so apps and tests never share entries).
    CALENDAR_CACHE_<NAME> in the config overrides the capacity."""
    extensions = current_app.extensions
    key = f"calendars.{name}"
    if key not in extensions:
        configured = current_app.config.get(f"CALENDAR_CACHE_{name.upper()}", capacity)
        extensions[key] = BoundedCache(configured, weigh)
    return extensions[key]


def vevent_cache() -> BoundedCache[Any, Built]:
    return app_cache("vevents", VEVENT_CACHE_SIZE)


def _cached_vevent(entry: FeedEntry, locale: str) -> Built:
    event, venue = entry.event, entry.event.venue
    key = (event.id, event.sequence, event.updated_at, event.branch.updated_at,
           venue.updated_at if venue else None, entry.tentative, entry.changed_at, locale,
           site_root(), uid_domain())
    return vevent_cache().get(key, lambda: _build_vevent(entry))


def _build_vevent(entry: FeedEntry) -> Built:
    event = entry.event
    zone = ZoneInfo(event.branch.timezone)
    stamp = _stamp(entry)
    component = VEvent()
    component.add("uid", event_uid(event))
    component.add("dtstamp", stamp)
    component.add("last-modified", stamp)
    component.add("created", event.created_at.astimezone(UTC))
    component.add("sequence", event.sequence)
    component.add("dtstart", event.starts_at.astimezone(zone))
    component.add("dtend", event.ends_at.astimezone(zone))
    component.add("summary", _summary(event))
    if location := _location(event):
        component.add("location", location)
    if event.venue is not None and not event.venue.coordinates_approximate:
        component.add("geo", (event.venue.latitude, event.venue.longitude))
    component.add("description", _description(event))
    component.add("url", _event_page(event))
    component.add("status", _status(entry))
    component.add("transp", "TRANSPARENT" if event.is_cancelled else "OPAQUE")
    tzids = {component[name].params.get("TZID") for name in ("DTSTART", "DTEND")}
    return Built(component.to_ical(), frozenset(t for t in tzids if t))


def _stamp(entry: FeedEntry) -> datetime:
    event = entry.event
    moments = [event.updated_at, entry.changed_at,
               event.venue.updated_at if event.venue else None]
    return max(m for m in moments if m is not None).astimezone(UTC)


def _status(entry: FeedEntry) -> str:
    if entry.event.is_cancelled:
        return "CANCELLED"
    return "TENTATIVE" if entry.tentative else "CONFIRMED"


def _summary(event: Event) -> str:
    title = plain(event.title)
    return _("Cancelled: %(title)s", title=title) if event.is_cancelled else title


def _location(event: Event) -> str:
    if event.venue is not None:
        return plain(f"{event.venue.name}, {event.venue.address}")
    return plain(event.online_url or "")


def _description(event: Event) -> str:
    parts = []
    if event.is_cancelled:
        parts.append(" ".join(filter(None, [_("This meetup is cancelled."),
                                            plain(event.cancel_message)])))
    if event.description.strip():
        parts.append(plain(event.description.strip()))
    if event.online_url:
        parts.append(_("Online: %(url)s", url=plain(event.online_url)))
    parts.append(_("Details and RSVP: %(url)s", url=_event_page(event)))
    return "\n\n".join(parts)


def _event_page(event: Event) -> str:
    return public_url("events.show", event_id=event.id)


# Unicode's control characters (category Cc) but tab and newline.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def plain(text: str) -> str:
    """Text fit for an iCalendar TEXT value: newlines as \\n, other control characters gone."""
    return CONTROL_CHARACTERS.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
