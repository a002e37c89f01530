"""JSON as the house writes it: dates and times in ISO 8601 (shared/API.md, "Times are ISO 8601
with offset"), not Flask's default HTTP date ("Fri, 04 Dec 2026 18:44:10 GMT")."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask.json.provider import DefaultJSONProvider


def _default(value: Any) -> Any:
    if isinstance(value, date):  # datetimes too: aware ones keep their offset
        return value.isoformat()
    return DefaultJSONProvider.default(value)


class IsoJSONProvider(DefaultJSONProvider):
    default = staticmethod(_default)
