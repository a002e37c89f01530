"""Engagement pages: a branch's members by segment, a page at a time or as CSV, with bulk nudges
and removals (leads), branch health across the network (admins), and the personal referral link
`/r/<code>`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as BaseResponse

from branches import permissions
from branches.forms import role_label
from branches.models import Branch, Role
from branches.services import get_branch
from planner import spreadsheets
from planner.accounts.models import User
from planner.api import parse_query
from planner.core.attribution import remember_referral
from planner.core.errors import DomainError, NotAllowed
from planner.core.extensions import invite_link_limit
from planner.core.i18n import format_share
from planner.core.unit_of_work import writes_during_read
from planner.core.urls import public_url
from planner.engagement import services
from planner.engagement.forms import NUDGE, QUIET_MONTHS, BulkActionForm, HealthForm, SegmentForm
from planner.engagement.health import COMING_SOON, BranchHealth
from planner.engagement.segments import REGULAR_DAYS, SEGMENT_LABELS, MemberEngagement, Segment
from planner.engagement.services import MEMBERS_PER_PAGE
from planner.funnel import services as funnel
from planner.funnel.forms import default_range
from planner.funnel.referrals import referrer

bp = Blueprint("engagement", __name__)


@bp.app_template_global()
def segment_label(segment: Segment) -> str:
    return str(SEGMENT_LABELS[segment])


@bp.app_template_global()
def referral_url(user: User) -> str:
    """The member's personal invite link (the code is made on first use)."""
    return public_url("engagement.referral", code=funnel.referral_code(user))


@bp.get("/r/<code>")
@invite_link_limit
@writes_during_read
def referral(code: str) -> BaseResponse:
    """Remember who invited this browser (signed cookie, 30 days) and go to sign-up."""
    referrer(code)
    if current_user.is_authenticated:
        return redirect(url_for("branches.index"))
    response = redirect(url_for("accounts.signup"))
    remember_referral(response, code)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/branches/<slug>/members/engagement")
@login_required
def members(slug: str) -> str:
    branch = get_branch(slug)
    segment = _chosen_segment()
    result = services.member_engagement(current_user, branch, segment,
                                        request.args.get("page", 1, type=int), MEMBERS_PER_PAGE)
    return render_template("engagement/members.html", branch=branch, result=result,
                           segment=segment, header=member_header(), bulk_form=BulkActionForm(),
                           segments=list(Segment))


@bp.get("/branches/<slug>/members/engagement.csv")
@login_required
def members_csv(slug: str) -> Response:
    """Every member of the chosen segment (not only one page), with the page's columns."""
    branch = get_branch(slug)
    segment = _chosen_segment()
    rows = services.member_export(current_user, branch, segment)
    return spreadsheets.csv_download(
        member_header(), map(member_cells(branch.timezone), rows),
        f"{branch.slug}-members-{segment.value if segment else 'everyone'}.csv")


def _chosen_segment() -> Segment | None:
    """?segment=, or everyone when it is missing or not a segment."""
    form = SegmentForm(formdata=request.args, meta={"csrf": False})
    return Segment(form.segment.data) if form.validate() and form.segment.data else None


def member_header() -> list[str]:
    return [_("Name"), _("Role"), _("Joined"), _("Meetups attended"),
            _("Attended in the last %(days)d days", days=REGULAR_DAYS), _("Last attended"),
            _("No-shows"), _("Segments")]


def member_cells(timezone: str) -> Callable[[MemberEngagement], Sequence[object]]:
    """A member's row of the CSV; the labels are translated once, not once per member."""
    zone = ZoneInfo(timezone)
    roles = {role: role_label(role) for role in Role}
    labels = {segment: segment_label(segment) for segment in Segment}

    def local(instant: datetime) -> str:  # one a spreadsheet sorts: 2026-03-01 19:00+08:00
        return instant.astimezone(zone).isoformat(sep=" ", timespec="minutes")

    def cells(row: MemberEngagement) -> Sequence[object]:
        last = row.last_attended_at
        return [row.name, roles[row.role], local(row.joined_at), row.attended,
                row.attended_recently, local(last) if last else "—", row.no_shows,
                ", ".join(labels[s] for s in Segment if s in row.segments)]

    return cells


@bp.post("/branches/<slug>/members/engagement")
@login_required
def bulk(slug: str) -> BaseResponse:
    branch = get_branch(slug)
    if not permissions.can_view_engagement(current_user, branch):
        raise NotAllowed()
    form = BulkActionForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
    else:
        try:
            _apply(form, branch)
        except DomainError as error:
            for message in _messages(error):
                flash(message, "error")
    return redirect(url_for("engagement.members", slug=slug,
                            segment=request.args.get("segment") or None))


def _apply(form: BulkActionForm, branch: Branch) -> None:
    if form.action.data == NUDGE:
        nudged = services.nudge(current_user, branch, form.members.data)
        flash(ngettext("%(num)d nudge queued (each member gets at most one a day).",
                       "%(num)d nudges queued (each member gets at most one a day).",
                       nudged.queued), "success")
        for name in nudged.too_new:
            flash(_("%(name)s was not nudged: they joined the branch too recently.", name=name),
                  "info")
        return
    removal = services.remove(current_user, branch, form.members.data, form.reason.data or "")
    flash(ngettext("%(num)d member removed.", "%(num)d members removed.",
                   len(removal.removed)), "info")
    for name, why in removal.refused:
        flash(_("%(name)s was not removed: %(reason)s", name=name, reason=why), "error")


def _messages(error: DomainError) -> list[str]:
    return [message for messages in error.fields.values() for message in messages] or [
        error.message]


@bp.get("/admin/branches/health")
@login_required
@writes_during_read
def health() -> str:
    form = HealthForm(formdata=request.args, meta={"csrf": False})
    (start, end), months = ((form.dates(), form.quiet_months()) if form.validate()
                            else (default_range(), QUIET_MONTHS))
    rows = services.branch_health(current_user, start, end, months)
    return render_template("engagement/health.html", rows=rows, form=form, start=start, end=end,
                           months=months, soon_days=COMING_SOON.days, header=health_header(),
                           cells=health_cells)


@bp.get("/admin/branches/health.csv")
@login_required
@writes_during_read
def health_csv() -> Response:
    form = parse_query(HealthForm)
    start, end = form.dates()
    rows = services.branch_health(current_user, start, end, form.quiet_months())
    return spreadsheets.csv_download(health_header(), [health_cells(row) for row in rows],
                                     f"branch-health-{start.isoformat()}-{end.isoformat()}.csv")


def health_header() -> list[str]:
    return [_("Branch"), _("Members"), _("Meetups"), _("Reached"), _("Registered"),
            _("Attended"), _("Returned"), _("No-show rate"), _("First-timer share"),
            _("90-day return rate"), _("Time to fill (hours)"), _("Last meetup"), _("Quiet"),
            _("Feedback by month")]


def health_cells(row: BranchHealth) -> Sequence[object]:
    figures = row.figures
    return [row.branch.name, row.members, row.meetups, figures.reached, figures.registered,
            figures.attended, figures.returned, format_share(figures.no_show_rate),
            format_share(figures.first_timer_share), format_share(row.return_rate),
            "—" if row.fill_hours is None else round(row.fill_hours, 1),
            row.last_meetup_at.date().isoformat() if row.last_meetup_at else "—",
            _("yes") if row.quiet else _("no"), feedback_by_month(row)]


def feedback_by_month(row: BranchHealth) -> str:
    """"2026-10: 4.50 (3); 2026-11: 4.00 (1)", or a dash without feedback."""
    return "; ".join(f"{month.month}: {month.average:.2f} ({month.count})"
                     for month in row.feedback) or "—"
