"""Time helpers: every instant is aware and in UTC; local time only at the edges."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo, available_timezones


def utcnow() -> datetime:
    return datetime.now(UTC)


@cache
def all_timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_timezone(name: str) -> bool:
    return name in all_timezones()


def to_local(instant: datetime, timezone: str) -> datetime:
    return instant.astimezone(ZoneInfo(timezone))
