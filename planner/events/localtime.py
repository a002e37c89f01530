"""Turning wall-clock times typed in a branch's time zone into UTC instants, and back.

A naive wall time can be impossible (it falls in the gap when clocks go forward) or happen
twice (in the fold when clocks go back). Both are refused rather than guessed, so that a
meetup never silently moves by an hour. A time typed with its offset ("2027-10-31T02:30+01:00")
names one instant even in a fold, and is taken exactly as given (`to_utc`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

Reason = Literal["nonexistent", "ambiguous"]


class LocalTimeError(ValueError):
    """A wall time that does not exist, or exists twice, in the given time zone."""

    def __init__(self, reason: Reason, local: datetime, timezone: str) -> None:
        self.reason: Reason = reason
        self.local = local
        self.timezone = timezone
        super().__init__(_message(reason, local, timezone))


def _message(reason: Reason, local: datetime, timezone: str) -> str:
    wall = f"{local:%Y-%m-%d %H:%M}"
    if reason == "nonexistent":
        return (
            f"{wall} does not exist in {timezone}: the clocks go forward at that time. "
            "Please choose another time."
        )
    return (
        f"{wall} happens twice in {timezone}: the clocks go back at that time. "
        "Please choose another time."
    )


def _require_naive(local: datetime) -> None:
    if local.tzinfo is not None:
        raise ValueError("local_to_utc expects a naive wall-clock datetime")


def _is_nonexistent(local: datetime, zone: ZoneInfo) -> bool:
    round_trip = local.replace(tzinfo=zone).astimezone(UTC).astimezone(zone)
    return round_trip.replace(tzinfo=None) != local


def _is_ambiguous(local: datetime, zone: ZoneInfo) -> bool:
    earlier = local.replace(tzinfo=zone, fold=0).utcoffset()
    later = local.replace(tzinfo=zone, fold=1).utcoffset()
    return earlier != later


def local_to_utc(local: datetime, timezone: str) -> datetime:
    """Convert naive wall time in the IANA `timezone` to an aware UTC datetime.

    Raises LocalTimeError if the wall time is in a DST gap ("nonexistent") or fold ("ambiguous").
    """
    _require_naive(local)
    zone = ZoneInfo(timezone)
    local = local.replace(fold=0)
    if _is_nonexistent(local, zone):
        raise LocalTimeError("nonexistent", local, timezone)
    if _is_ambiguous(local, zone):
        raise LocalTimeError("ambiguous", local, timezone)
    return local.replace(tzinfo=zone).astimezone(UTC)


def to_utc(typed: datetime, timezone: str) -> datetime:
    """A time as typed, in UTC: an aware one by its own offset, a naive one as wall time in
    `timezone` (LocalTimeError in a gap or fold, as local_to_utc)."""
    if typed.tzinfo is not None:
        return typed.astimezone(UTC)
    return local_to_utc(typed, timezone)


def wall_time(typed: datetime, timezone: str) -> datetime:
    """A time as typed, as naive wall time in `timezone` (for wall-clock arithmetic)."""
    if typed.tzinfo is None:
        return typed
    return typed.astimezone(ZoneInfo(timezone)).replace(tzinfo=None)


def elapsed(start: datetime, end: datetime, timezone: str) -> timedelta:
    """From one typed time to another: exact when both carry an offset (in a fold the wall
    times may even run backwards), else by the wall clock, as the lead reads them."""
    if start.tzinfo is not None and end.tzinfo is not None:
        return end - start
    return wall_time(end, timezone) - wall_time(start, timezone)


def utc_to_local(instant: datetime, timezone: str) -> datetime:
    """Naive wall time in `timezone` for an aware instant, e.g. to pre-fill a form."""
    if instant.tzinfo is None:
        raise ValueError("utc_to_local expects an aware datetime")
    return instant.astimezone(ZoneInfo(timezone)).replace(tzinfo=None, fold=0)
