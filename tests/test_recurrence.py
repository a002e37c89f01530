"""Repeat rules: local dates of a series and their UTC slots, across DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from planner.events.localtime import LocalTimeError
from planner.events.recurrence import (
    MAX_OCCURRENCES,
    Frequency,
    RepeatError,
    RepeatRule,
    Slot,
    describe,
    occurrences,
    validate_rule,
)

LONDON = "Europe/London"
SHANGHAI = "Asia/Shanghai"


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute)


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def local_dates(slots: list[Slot]) -> list[date]:
    return [slot.local_date for slot in slots]


def assert_well_formed(slots: list[Slot]) -> None:
    for slot in slots:
        assert slot.starts_at.tzinfo is UTC
        assert slot.ends_at.tzinfo is UTC
        assert slot.starts_at < slot.ends_at


def test_no_rule_gives_one_slot():
    slots = occurrences(at(2026, 1, 15, 19), at(2026, 1, 15, 21), LONDON, None)
    assert slots == [Slot(utc(2026, 1, 15, 19), utc(2026, 1, 15, 21), date(2026, 1, 15))]


def test_weekly_keeps_wall_time_across_spring_change():
    rule = RepeatRule(Frequency.WEEKLY, count=3)
    slots = occurrences(at(2026, 3, 19, 19), at(2026, 3, 19, 21), LONDON, rule)
    assert local_dates(slots) == [date(2026, 3, 19), date(2026, 3, 26), date(2026, 4, 2)]
    assert [slot.starts_at for slot in slots] == [
        utc(2026, 3, 19, 19),
        utc(2026, 3, 26, 19),
        utc(2026, 4, 2, 18),
    ]
    assert [slot.ends_at for slot in slots] == [
        utc(2026, 3, 19, 21),
        utc(2026, 3, 26, 21),
        utc(2026, 4, 2, 20),
    ]
    assert_well_formed(slots)


def test_weekly_keeps_wall_time_across_autumn_change():
    rule = RepeatRule(Frequency.WEEKLY, count=3)
    slots = occurrences(at(2026, 10, 15, 19), at(2026, 10, 15, 21), LONDON, rule)
    assert [slot.starts_at for slot in slots] == [
        utc(2026, 10, 15, 18),
        utc(2026, 10, 22, 18),
        utc(2026, 10, 29, 19),
    ]
    assert_well_formed(slots)


def test_shanghai_series_never_shifts():
    rule = RepeatRule(Frequency.WEEKLY, count=MAX_OCCURRENCES)
    slots = occurrences(at(2026, 1, 3, 19), at(2026, 1, 3, 21), SHANGHAI, rule)
    assert len(slots) == MAX_OCCURRENCES
    assert {slot.starts_at.hour for slot in slots} == {11}
    assert_well_formed(slots)


def test_biweekly_dates():
    rule = RepeatRule(Frequency.BIWEEKLY, count=4)
    slots = occurrences(at(2026, 3, 19, 19), at(2026, 3, 19, 21), LONDON, rule)
    assert local_dates(slots) == [
        date(2026, 3, 19),
        date(2026, 4, 2),
        date(2026, 4, 16),
        date(2026, 4, 30),
    ]
    assert_well_formed(slots)


def test_monthly_second_saturday():
    rule = RepeatRule(Frequency.MONTHLY, count=4)
    slots = occurrences(at(2026, 12, 12, 14), at(2026, 12, 12, 16), LONDON, rule)
    assert local_dates(slots) == [
        date(2026, 12, 12),
        date(2027, 1, 9),
        date(2027, 2, 13),
        date(2027, 3, 13),
    ]
    assert all(slot.local_date.weekday() == 5 for slot in slots)
    assert_well_formed(slots)


def test_monthly_fifth_week_becomes_last_weekday():
    # 2026-05-31 is the fifth Sunday of May; June has only four Sundays.
    rule = RepeatRule(Frequency.MONTHLY, count=4)
    slots = occurrences(at(2026, 5, 31, 11), at(2026, 5, 31, 13), LONDON, rule)
    assert local_dates(slots) == [
        date(2026, 5, 31),
        date(2026, 6, 28),
        date(2026, 7, 26),
        date(2026, 8, 30),
    ]
    assert_well_formed(slots)


def test_until_is_inclusive():
    rule = RepeatRule(Frequency.WEEKLY, until=date(2026, 4, 2))
    slots = occurrences(at(2026, 3, 19, 19), at(2026, 3, 19, 21), LONDON, rule)
    assert local_dates(slots) == [date(2026, 3, 19), date(2026, 3, 26), date(2026, 4, 2)]


def test_until_on_the_first_date_gives_one_slot():
    rule = RepeatRule(Frequency.WEEKLY, until=date(2026, 3, 19))
    slots = occurrences(at(2026, 3, 19, 19), at(2026, 3, 19, 21), LONDON, rule)
    assert local_dates(slots) == [date(2026, 3, 19)]


def test_count_one_gives_one_slot():
    rule = RepeatRule(Frequency.MONTHLY, count=1)
    slots = occurrences(at(2026, 3, 19, 19), at(2026, 3, 19, 21), LONDON, rule)
    assert local_dates(slots) == [date(2026, 3, 19)]


@pytest.mark.parametrize("count", [0, -1, MAX_OCCURRENCES + 1])
def test_count_out_of_range_is_rejected(count):
    rule = RepeatRule(Frequency.WEEKLY, count=count)
    with pytest.raises(RepeatError) as caught:
        occurrences(at(2026, 3, 19, 19), at(2026, 3, 19, 21), LONDON, rule)
    assert caught.value.field == "count"
    assert str(MAX_OCCURRENCES) in str(caught.value)


def test_until_before_first_date_is_rejected():
    rule = RepeatRule(Frequency.WEEKLY, until=date(2026, 3, 18))
    with pytest.raises(RepeatError) as caught:
        occurrences(at(2026, 3, 19, 19), at(2026, 3, 19, 21), LONDON, rule)
    assert caught.value.field == "until"


def test_until_giving_more_than_the_maximum_is_rejected():
    rule = RepeatRule(Frequency.WEEKLY, until=date(2027, 4, 1))
    with pytest.raises(RepeatError) as caught:
        occurrences(at(2026, 3, 19, 19), at(2026, 3, 19, 21), LONDON, rule)
    assert caught.value.field == "until"
    assert str(MAX_OCCURRENCES) in str(caught.value)


def test_until_giving_exactly_the_maximum_is_accepted():
    first = date(2026, 3, 19)
    rule = RepeatRule(Frequency.WEEKLY, until=first + timedelta(weeks=MAX_OCCURRENCES - 1))
    slots = occurrences(at(2026, 3, 19, 19), at(2026, 3, 19, 21), LONDON, rule)
    assert len(slots) == MAX_OCCURRENCES
    assert_well_formed(slots)


def test_overnight_meetup_keeps_its_wall_clock_duration():
    rule = RepeatRule(Frequency.WEEKLY, count=3)
    slots = occurrences(at(2026, 3, 14, 22), at(2026, 3, 15, 2), LONDON, rule)
    assert local_dates(slots) == [date(2026, 3, 14), date(2026, 3, 21), date(2026, 3, 28)]
    assert [(slot.starts_at, slot.ends_at) for slot in slots[:2]] == [
        (utc(2026, 3, 14, 22), utc(2026, 3, 15, 2)),
        (utc(2026, 3, 21, 22), utc(2026, 3, 22, 2)),
    ]
    # The night the clocks go forward, 22:00-02:00 local lasts only three real hours.
    assert (slots[2].starts_at, slots[2].ends_at) == (utc(2026, 3, 28, 22), utc(2026, 3, 29, 1))
    assert_well_formed(slots)


def test_occurrence_in_a_dst_gap_names_the_date():
    rule = RepeatRule(Frequency.WEEKLY, count=3)
    with pytest.raises(RepeatError) as caught:
        occurrences(at(2026, 3, 15, 1, 30), at(2026, 3, 15, 3), LONDON, rule)
    assert caught.value.field == "starts_at"
    assert caught.value.local_date == date(2026, 3, 29)
    assert "2026-03-29" in str(caught.value)
    assert isinstance(caught.value.__cause__, LocalTimeError)


def test_occurrence_in_a_dst_fold_names_the_date():
    rule = RepeatRule(Frequency.WEEKLY, count=2)
    with pytest.raises(RepeatError) as caught:
        occurrences(at(2026, 10, 18, 1, 30), at(2026, 10, 18, 3), LONDON, rule)
    assert caught.value.field == "starts_at"
    assert "2026-10-25" in str(caught.value)


def test_end_in_a_dst_gap_is_reported_on_the_end():
    with pytest.raises(RepeatError) as caught:
        occurrences(at(2026, 3, 29, 0, 30), at(2026, 3, 29, 1, 30), LONDON, None)
    assert caught.value.field == "ends_at"
    assert "2026-03-29" in str(caught.value)


def test_end_not_after_start_is_rejected():
    with pytest.raises(RepeatError) as caught:
        occurrences(at(2026, 3, 19, 21), at(2026, 3, 19, 19), LONDON, None)
    assert caught.value.field == "ends_at"


def test_validate_rule_needs_count_or_until():
    with pytest.raises(RepeatError) as caught:
        validate_rule(RepeatRule(Frequency.WEEKLY))
    assert caught.value.field == "count"


def test_validate_rule_refuses_both_count_and_until():
    with pytest.raises(RepeatError) as caught:
        validate_rule(RepeatRule(Frequency.WEEKLY, count=3, until=date(2026, 5, 1)))
    assert caught.value.field == "until"


def test_validate_rule_refuses_unknown_frequency():
    with pytest.raises(RepeatError) as caught:
        validate_rule(RepeatRule("daily", count=3))  # type: ignore[arg-type]
    assert caught.value.field == "freq"


def test_validate_rule_accepts_a_plain_string_frequency():
    validate_rule(RepeatRule("monthly", count=3))  # type: ignore[arg-type]


def test_repeat_error_is_a_value_error():
    assert issubclass(RepeatError, ValueError)


@pytest.mark.parametrize(
    ("freq", "first", "expected"),
    [
        (Frequency.WEEKLY, at(2026, 3, 19, 19), "Every week"),
        (Frequency.BIWEEKLY, at(2026, 3, 19, 19), "Every two weeks"),
        (Frequency.MONTHLY, at(2026, 12, 12, 14), "Monthly on the second Saturday"),
        (Frequency.MONTHLY, at(2026, 12, 1, 14), "Monthly on the first Tuesday"),
        (Frequency.MONTHLY, at(2026, 5, 31, 11), "Monthly on the last Sunday"),
    ],
)
def test_describe(freq, first, expected):
    assert describe(freq, first) == expected
