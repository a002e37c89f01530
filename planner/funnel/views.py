"""Invite-link pages: the public `/i/<code>` landing, the leads' link list with its QR posters,
and the funnel pages with their CSV exports."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from markupsafe import Markup
from werkzeug.wrappers import Response as BaseResponse

from branches.models import Branch
from branches.services import get_branch
from planner import spreadsheets
from planner.api import parse_query
from planner.core.errors import DomainError, NotFound
from planner.core.extensions import invite_link_limit
from planner.core.unit_of_work import writes_during_read
from planner.core.urls import public_url
from planner.events.posters import meetup_poster
from planner.events.services import get_event
from planner.funnel import attribution, charts, qr, services
from planner.funnel.forms import InviteLinkForm, RangeForm, default_range
from planner.funnel.models import CHANNEL_LABELS, Channel, InviteLink
from planner.funnel.report import DIRECT, STAGES, Funnel
from planner.pictures.posters import Poster, png_response

bp = Blueprint("funnel", __name__)

STAGE_LABELS = {"reached": _l("Reached"), "registered": _l("Registered"),
                "attended": _l("Attended"), "returned": _l("Returned")}
CSV_TABLES = ("stages", "channels")


@bp.app_template_global()
def channel_label(channel: str) -> str:
    return str(CHANNEL_LABELS[Channel(channel)]) if channel != DIRECT else _("Direct")


def invite_url(link: InviteLink) -> str:
    return public_url("funnel.land", code=link.code)


@bp.get("/i/<code>")
@invite_link_limit
@writes_during_read
def land(code: str) -> BaseResponse:
    """Count the visit (once per visitor, never bots), remember the link, show the meetup."""
    link = services.active_link(code)
    key, new_visitor = attribution.visitor_key()
    services.record_visit(link, key, request.headers.get("User-Agent"))
    target = (url_for("events.show", event_id=link.event_id) if link.event_id
              else url_for("branches.show", slug=link.branch.slug))
    response = redirect(target)
    attribution.remember(response, link, key, new_visitor)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/i/<code>/poster.png")
@invite_link_limit
def poster_png(code: str) -> Response:
    """The link's poster for a chat group; its QR code opens the link (and so counts)."""
    link = services.active_link(code)
    if link.event is not None:
        poster = meetup_poster(link.event, invite_url(link))
    else:
        poster = Poster(title=link.branch.name, when=None, where=link.branch.city,
                        branch=link.branch.name, link=invite_url(link),
                        caption=_("Scan to join"), cover_digest=link.branch.cover_digest)
    return png_response(poster, public=True)


@bp.route("/events/<id:event_id>/invites", methods=["GET", "POST"])
@login_required
def invites(event_id: int) -> str | BaseResponse:
    event = get_event(event_id)
    form = InviteLinkForm()
    if form.validate_on_submit():
        try:
            link = services.create_link(current_user, event.branch, form.label.data,
                                        form.channel.data, event)
            flash(_("Invite link created: %(url)s", url=invite_url(link)), "success")
            return redirect(url_for("funnel.invites", event_id=event.id))
        except DomainError as error:
            flash(error.message, "error")
    rows = services.event_link_rows(current_user, event)
    return render_template("funnel/invites.html", event=event, branch=event.branch,
                           rows=rows, form=form, invite_url=invite_url)


@bp.get("/events/<id:event_id>/invites.csv")
@login_required
def invites_csv(event_id: int) -> Response:
    rows = services.event_link_rows(current_user, get_event(event_id))
    header = [_("Name"), _("Channel"), _("Link"), _("Visitors"), _("Registered"), _("Attended"),
              _("Branch joins")]
    return spreadsheets.csv_download(
        header, [[row.link.label, channel_label(row.link.channel.value), invite_url(row.link),
                  row.visitors, row.registered, row.attended, row.joined] for row in rows],
        f"invite-links-meetup-{event_id}.csv")


@bp.post("/invites/<id:link_id>/revoke")
@login_required
def revoke(link_id: int) -> BaseResponse:
    link = services.revoke_link(current_user, link_id)
    flash(_("The link %(label)s no longer counts or credits anything.", label=link.label), "info")
    if link.event_id is None:
        return redirect(url_for("funnel.branch_funnel", slug=link.branch.slug))
    return redirect(url_for("funnel.invites", event_id=link.event_id))


@bp.get("/invites/<id:link_id>/poster")
@login_required
def poster(link_id: int) -> str:
    """A printable A4 poster: the meetup, a QR code of the link, and the link spelled out."""
    link = services.managed_link(current_user, link_id)
    url = invite_url(link)
    return render_template("funnel/poster.html", link=link, event=link.event,
                           branch=link.branch, url=url, qr_svg=qr.svg(url))


@bp.get("/events/<id:event_id>/funnel")
@login_required
def event_funnel(event_id: int) -> str:
    event = get_event(event_id)
    result = services.meetup_funnel(current_user, event)
    return render_template("funnel/funnel.html", funnel=result, event=event,
                           branch=event.branch, csv_args={"event_id": event.id},
                           csv_endpoint="funnel.event_funnel_csv", **_labels(result))


@bp.get("/events/<id:event_id>/funnel/<table>.csv")
@login_required
def event_funnel_csv(event_id: int, table: str) -> Response:
    event = get_event(event_id)
    return _csv(services.meetup_funnel(current_user, event), table, f"meetup-{event.id}")


@bp.get("/branches/<slug>/funnel")
@login_required
@writes_during_read
def branch_funnel(slug: str) -> str:
    branch = get_branch(slug)
    form = RangeForm(formdata=request.args, meta={"csrf": False})
    start, end = (form.dates(branch.timezone) if form.validate()
                  else default_range(branch.timezone))
    result = services.branch_funnel(current_user, branch, start, end)
    return render_template("funnel/funnel.html", funnel=result, event=None, branch=branch,
                           range_form=form, start=start, end=end,
                           csv_args={"slug": slug, "from": start.isoformat(),
                                     "to": end.isoformat()},
                           csv_endpoint="funnel.branch_funnel_csv",
                           trend_chart=_trend(start, end, branch),
                           referrers=services.top_referrers(current_user, branch),
                           **_labels(result))


@bp.get("/admin/funnel")
@login_required
@writes_during_read
def network_funnel() -> str:
    form = RangeForm(formdata=request.args, meta={"csrf": False})
    start, end = form.dates() if form.validate() else default_range()
    result = services.network_funnel(current_user, start, end)
    return render_template("funnel/funnel.html", funnel=result, event=None, branch=None,
                           range_form=form, start=start, end=end,
                           csv_args={"from": start.isoformat(), "to": end.isoformat()},
                           csv_endpoint="funnel.network_funnel_csv",
                           trend_chart=_trend(start, end), **_labels(result))


@bp.get("/admin/funnel/<table>.csv")
@login_required
@writes_during_read
def network_funnel_csv(table: str) -> Response:
    start, end = parse_query(RangeForm).dates()
    return _csv(services.network_funnel(current_user, start, end), table,
                f"network-{start.isoformat()}-{end.isoformat()}")


@bp.get("/branches/<slug>/funnel/<table>.csv")
@login_required
@writes_during_read
def branch_funnel_csv(slug: str, table: str) -> Response:
    branch = get_branch(slug)
    start, end = parse_query(RangeForm).dates(branch.timezone)
    return _csv(services.branch_funnel(current_user, branch, start, end), table,
                f"{branch.slug}-{start.isoformat()}-{end.isoformat()}")


def _labels(result: Funnel) -> dict[str, object]:
    return {"stage_labels": STAGE_LABELS, "stages": STAGES,
            "stage_chart": charts.bars([(str(STAGE_LABELS[name]), result.overall.stage(name))
                                        for name in STAGES], _("People at each stage"))}


def _trend(start: date, end: date, branch: Branch | None = None) -> Markup:
    months = services.monthly_trend(current_user, start, end, branch)
    return charts.columns([(format_date(month, "MMM yy"), (registered, attended))
                           for month, registered, attended in months],
                          [_("Registered"), _("Attended")], _("Registered and attended per month"))


def _csv(result: Funnel, table: str, name: str) -> Response:
    if table not in CSV_TABLES:
        raise NotFound()
    header, rows = (_stage_table(result) if table == "stages" else _channel_table(result))
    return spreadsheets.csv_download(header, rows, f"funnel-{name}-{table}.csv")


def _stage_table(result: Funnel) -> tuple[list[str], list[Sequence[object]]]:
    return ([_("Stage"), _("People")],
            [[str(STAGE_LABELS[name]), result.overall.stage(name)] for name in STAGES])


def _channel_table(result: Funnel) -> tuple[list[str], list[Sequence[object]]]:
    header = [_("Channel")] + [str(STAGE_LABELS[name]) for name in STAGES]
    return header, [[channel_label(channel)] + [figures.stage(name) for name in STAGES]
                    for channel, figures in result.by_channel]
