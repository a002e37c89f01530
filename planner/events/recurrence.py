"""Repeat rules for meetups: which local dates a series falls on, and their UTC slots.

Each occurrence keeps the wall-clock time of the first one, so a 19:00 London meetup stays at
19:00 local in summer and winter and its UTC time shifts with daylight saving time.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import islice
from typing import Literal

from babel.dates import get_day_names
from dateutil.rrule import MONTHLY, WEEKLY, rrule, weekday
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from planner.events.localtime import LocalTimeError, elapsed, to_utc, wall_time

MAX_OCCURRENCES = 52

ORDINALS = {1: _l("first"), 2: _l("second"), 3: _l("third"), 4: _l("fourth"), -1: _l("last")}

Field = Literal["count", "until", "freq", "starts_at", "ends_at"]


class Frequency(enum.StrEnum):
    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"
    # The same weekday of the month, e.g. "second Saturday" (or "last Sunday").
    MONTHLY = "monthly"


@dataclass(frozen=True)
class RepeatRule:
    freq: Frequency
    count: int | None = None  # total occurrences, including the first
    until: date | None = None  # last allowed local date, inclusive


@dataclass(frozen=True)
class Slot:
    starts_at: datetime  # aware UTC
    ends_at: datetime  # aware UTC
    local_date: date  # local date of the start


class RepeatError(ValueError):
    """A repeat rule (or the series it produces) that cannot be accepted.

    `field` names the form field to attach the message to; `local_date` is set when one
    particular occurrence is the problem.
    """

    def __init__(self, field: Field, message: object, local_date: date | None = None) -> None:
        self.field: Field = field
        self.message = str(message)
        self.local_date = local_date
        super().__init__(message)


def validate_rule(rule: RepeatRule) -> None:
    """Check the rule on its own; `occurrences` additionally checks it against the first date."""
    try:
        Frequency(rule.freq)
    except ValueError:
        raise RepeatError("freq", _l("Choose how often the meetup repeats.")) from None
    if rule.count is None and rule.until is None:
        raise RepeatError("count", _l("Give either a number of meetups or an end date."))
    if rule.count is not None and rule.until is not None:
        raise RepeatError("until", _l(
            "Give either a number of meetups or an end date, not both."))
    if rule.count is not None and not 1 <= rule.count <= MAX_OCCURRENCES:
        raise RepeatError(
            "count", _l("The number of meetups must be between 1 and %(maximum)d.",
                        maximum=MAX_OCCURRENCES)
        )


def week_of_month(day: date) -> int:
    """1 to 4 for the first to fourth such weekday of its month; -1 for a fifth (the last)."""
    nth = (day.day - 1) // 7 + 1
    return -1 if nth == 5 else nth


def _rrule_options(freq: Frequency, first_date: date) -> dict[str, object]:
    if freq is Frequency.WEEKLY:
        return {"freq": WEEKLY, "interval": 1}
    if freq is Frequency.BIWEEKLY:
        return {"freq": WEEKLY, "interval": 2}
    nth_weekday = weekday(first_date.weekday(), week_of_month(first_date))
    return {"freq": MONTHLY, "byweekday": nth_weekday}


def occurrence_dates(first_date: date, rule: RepeatRule) -> list[date]:
    """Local dates of the series, the first date included; the rule must be valid."""
    options = _rrule_options(Frequency(rule.freq), first_date)
    dtstart = datetime.combine(first_date, time())
    if rule.until is None:
        dates = rrule(dtstart=dtstart, count=rule.count, **options)
        return [moment.date() for moment in dates]
    dates = rrule(dtstart=dtstart, until=datetime.combine(rule.until, time()), **options)
    # One more than allowed is enough to know the end date is too far away.
    found = [moment.date() for moment in islice(dates, MAX_OCCURRENCES + 1)]
    if len(found) > MAX_OCCURRENCES:
        raise RepeatError(
            "until",
            _l("That end date gives more than %(maximum)d meetups, the maximum. "
               "Choose an earlier end date.", maximum=MAX_OCCURRENCES),
        )
    return found


def _to_utc(local: datetime, timezone: str, field: Field, local_date: date) -> datetime:
    try:
        return to_utc(local, timezone)
    except LocalTimeError as error:
        message = (_l("On %(date)s, %(time)s does not exist in %(zone)s because the clocks "
                      "go forward. Choose another time.", date=local_date.isoformat(),
                      time=f"{local:%H:%M}", zone=timezone)
                   if error.reason == "nonexistent" else
                   _l("On %(date)s, %(time)s happens twice in %(zone)s because the clocks go "
                      "back. Choose another time.", date=local_date.isoformat(),
                      time=f"{local:%H:%M}", zone=timezone))
        raise RepeatError(field, message, local_date=local_date) from error


def _slot(local_date: date, start_time: time, duration: timedelta, timezone: str) -> Slot:
    local_start = datetime.combine(local_date, start_time)
    local_end = local_start + duration  # wall-clock arithmetic: may end on a later day
    return Slot(
        starts_at=_to_utc(local_start, timezone, "starts_at", local_date),
        ends_at=_to_utc(local_end, timezone, "ends_at", local_date),
        local_date=local_date,
    )


def occurrences(
    first_local_start: datetime,
    first_local_end: datetime,
    timezone: str,
    rule: RepeatRule | None,
) -> list[Slot]:
    """UTC slots of the series starting at the given times in `timezone` (naive wall times, or
    aware ones, which the first slot takes exactly as given).

    With no rule there is a single slot. Raises RepeatError for an invalid rule, for an end not
    after the start, and for an occurrence whose wall time is in a DST gap or fold.
    """
    if elapsed(first_local_start, first_local_end, timezone) <= timedelta(0):
        raise RepeatError("ends_at", _l("The end must be after the start."))
    wall_start, wall_end = (wall_time(first_local_start, timezone),
                            wall_time(first_local_end, timezone))
    first_date = wall_start.date()
    if rule is None:
        dates = [first_date]
    else:
        validate_rule(rule)
        if rule.until is not None and rule.until < first_date:
            raise RepeatError("until", _l("The end date must not be before the first date."))
        dates = occurrence_dates(first_date, rule)
    first = Slot(starts_at=_to_utc(first_local_start, timezone, "starts_at", first_date),
                 ends_at=_to_utc(first_local_end, timezone, "ends_at", first_date),
                 local_date=first_date)
    duration = wall_end - wall_start
    return [first, *(_slot(local_date, wall_start.time(), duration, timezone)
                     for local_date in dates[1:])]


def describe(freq: Frequency | str, first_local_start: datetime) -> str:
    """How often the series repeats, in the current language, e.g. "Every two weeks"."""
    freq = Frequency(freq)
    if freq is Frequency.WEEKLY:
        return str(_l("Every week"))
    if freq is Frequency.BIWEEKLY:
        return str(_l("Every two weeks"))
    first_date = first_local_start.date()
    weekday = get_day_names("wide", locale=get_locale() or "en")[first_date.weekday()]
    return str(_l("Monthly on the %(ordinal)s %(weekday)s",
                  ordinal=ORDINALS[week_of_month(first_date)], weekday=weekday))
