"""JSON API for network admins: branch health (see planner/engagement/health.py)."""

from __future__ import annotations

from typing import TypedDict

from flask import Response, jsonify
from flask_babel import lazy_gettext as _l

from planner.api import api_user, operation, parse_query
from planner.core.unit_of_work import writes_during_read
from planner.engagement import services
from planner.engagement.forms import HealthForm
from planner.engagement.health import BranchHealth


class MonthFeedbackOut(TypedDict):
    month: str
    count: int
    average: float


class BranchHealthOut(TypedDict):
    slug: str
    name: str
    members: int
    meetups: int
    reached: int | None
    registered: int
    attended: int
    returned: int
    no_show_rate: float | None
    first_timer_share: float | None
    return_rate: float | None
    time_to_fill_hours: float | None
    last_meetup_at: str | None
    quiet: bool
    feedback_by_month: list[MonthFeedbackOut]


class HealthOut(TypedDict):
    start: str
    end: str
    quiet_months: int
    branches: list[BranchHealthOut]


def health_json(row: BranchHealth) -> BranchHealthOut:
    figures = row.figures
    return {"slug": row.branch.slug, "name": row.branch.name, "members": row.members,
            "meetups": row.meetups, "reached": figures.reached,
            "registered": figures.registered, "attended": figures.attended,
            "returned": figures.returned, "no_show_rate": figures.no_show_rate,
            "first_timer_share": figures.first_timer_share, "return_rate": row.return_rate,
            "time_to_fill_hours": (None if row.fill_hours is None
                                   else round(row.fill_hours, 2)),
            "last_meetup_at": row.last_meetup_at.isoformat() if row.last_meetup_at else None,
            "quiet": row.quiet,
            "feedback_by_month": [{"month": month.month, "count": month.count,
                                   "average": month.average} for month in row.feedback]}


@operation("/network/health", "GET",
           _l("Every branch's health side by side over meetups in a date range (admins)"),
           query=HealthForm, response=HealthOut, errors=(403, 422))
@writes_during_read
def network_health() -> Response:
    form = parse_query(HealthForm)
    start, end = form.dates()
    rows = services.branch_health(api_user(), start, end, form.quiet_months())
    return jsonify({"start": start.isoformat(), "end": end.isoformat(),
                    "quiet_months": form.quiet_months(),
                    "branches": [health_json(row) for row in rows]})
