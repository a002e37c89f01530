"""Wall-clock time in a branch's zone to UTC and back, refusing DST gaps and folds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from planner.events.localtime import LocalTimeError, local_to_utc, utc_to_local

LONDON = "Europe/London"
SHANGHAI = "Asia/Shanghai"


def test_london_winter_time_is_utc():
    assert local_to_utc(datetime(2026, 1, 15, 19, 0), LONDON) == datetime(
        2026, 1, 15, 19, 0, tzinfo=UTC
    )


def test_london_summer_time_is_one_hour_ahead():
    assert local_to_utc(datetime(2026, 7, 15, 19, 0), LONDON) == datetime(
        2026, 7, 15, 18, 0, tzinfo=UTC
    )


def test_result_is_aware_utc():
    instant = local_to_utc(datetime(2026, 7, 15, 19, 0), LONDON)
    assert instant.tzinfo is UTC
    assert instant.utcoffset() == timedelta(0)


def test_wall_time_in_spring_gap_is_nonexistent():
    with pytest.raises(LocalTimeError) as caught:
        local_to_utc(datetime(2026, 3, 29, 1, 30), LONDON)
    assert caught.value.reason == "nonexistent"
    assert "2026-03-29 01:30" in str(caught.value)
    assert "does not exist" in str(caught.value)


def test_wall_time_in_autumn_fold_is_ambiguous():
    with pytest.raises(LocalTimeError) as caught:
        local_to_utc(datetime(2026, 10, 25, 1, 30), LONDON)
    assert caught.value.reason == "ambiguous"
    assert "2026-10-25 01:30" in str(caught.value)
    assert "twice" in str(caught.value)


def test_local_time_error_is_a_value_error():
    assert issubclass(LocalTimeError, ValueError)


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (datetime(2026, 3, 29, 0, 59), datetime(2026, 3, 29, 0, 59, tzinfo=UTC)),
        (datetime(2026, 3, 29, 2, 0), datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
        (datetime(2026, 10, 25, 0, 59), datetime(2026, 10, 24, 23, 59, tzinfo=UTC)),
        (datetime(2026, 10, 25, 2, 0), datetime(2026, 10, 25, 2, 0, tzinfo=UTC)),
    ],
)
def test_times_just_outside_the_transitions_convert(local, expected):
    assert local_to_utc(local, LONDON) == expected


@pytest.mark.parametrize(
    "local",
    [
        datetime(2026, 1, 15, 12, 0),
        datetime(2026, 3, 29, 1, 30),
        datetime(2026, 7, 15, 12, 0),
        datetime(2026, 10, 25, 1, 30),
    ],
)
def test_shanghai_has_no_dst_and_is_always_plus_eight(local):
    assert local_to_utc(local, SHANGHAI) == (local - timedelta(hours=8)).replace(tzinfo=UTC)


def test_aware_input_is_refused():
    with pytest.raises(ValueError, match="naive"):
        local_to_utc(datetime(2026, 1, 15, 19, 0, tzinfo=UTC), LONDON)


def test_utc_to_local_gives_naive_wall_time():
    local = utc_to_local(datetime(2026, 7, 15, 18, 0, tzinfo=UTC), LONDON)
    assert local == datetime(2026, 7, 15, 19, 0)
    assert local.tzinfo is None


def test_utc_to_local_shanghai():
    assert utc_to_local(datetime(2026, 1, 15, 12, 0, tzinfo=UTC), SHANGHAI) == datetime(
        2026, 1, 15, 20, 0
    )


def test_utc_to_local_refuses_naive_input():
    with pytest.raises(ValueError, match="aware"):
        utc_to_local(datetime(2026, 7, 15, 18, 0), LONDON)


@pytest.mark.parametrize("timezone", [LONDON, SHANGHAI, "America/New_York"])
def test_round_trip(timezone):
    local = datetime(2026, 5, 2, 9, 45, 30)
    assert utc_to_local(local_to_utc(local, timezone), timezone) == local
