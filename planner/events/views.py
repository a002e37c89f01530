"""Meetup pages: branch list and month view, create/edit/cancel/duplicate, near me, and a
venue's week of bookings."""

from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta

from babel.dates import format_skeleton
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import format_date, get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from branches import permissions
from branches import services as branches
from branches.maps import map_links
from branches.models import Branch
from planner.core.errors import Conflict, InvalidInput, NotAllowed
from planner.core.extensions import invite_link_limit
from planner.core.forms import page_day, page_month, show_field_errors
from planner.core.timeutil import utcnow
from planner.core.uploads import takes_uploads
from planner.core.urls import public_url
from planner.events import services
from planner.events.forms import (
    CancelForm,
    ConfirmHoldForm,
    EventForm,
    EventSearchForm,
    HoldForm,
)
from planner.events.localtime import local_to_utc, utc_to_local
from planner.events.models import Booking, Event
from planner.events.posters import meetup_poster
from planner.events.rendering import render_markdown
from planner.pictures.forms import PictureForm, RemovePictureForm, change_cover
from planner.pictures.posters import png_response

bp = Blueprint("events", __name__)


@bp.app_template_global()
def upcoming_meetups(branch: Branch) -> list[Event]:
    """Upcoming meetups for the branch page (registered here so branches need not import us)."""
    return services.upcoming_events(branch, current_user)


@bp.app_template_filter()
def wall_time(instant: datetime, timezone: str) -> datetime:
    return utc_to_local(instant, timezone)


def _managed(branch: Branch) -> Branch:
    if not permissions.can_manage_branch(current_user, branch):
        raise NotAllowed()
    return branch


def _today(timezone: str) -> date:
    return utc_to_local(utcnow(), timezone).date()


@bp.get("/branches/<slug>/events")
def branch_events(slug: str) -> str:
    """The branch's meetups as a month grid and a list."""
    branch = branches.get_branch(slug)
    first = page_month("month", request.args.get("month"),
                       _today(branch.timezone).replace(day=1))
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    start = local_to_utc(datetime.combine(first, time()), branch.timezone)
    end = local_to_utc(datetime.combine(last + timedelta(days=1), time()), branch.timezone)
    events = services.events_between(branch, start, end, current_user)
    by_day: dict[date, list[Event]] = {}
    for event in events:
        by_day.setdefault(utc_to_local(event.starts_at, branch.timezone).date(), []).append(event)
    weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
    return render_template("events/branch_events.html", branch=branch, events=events,
                           weeks=weeks, by_day=by_day, month=first,
                           month_name=format_skeleton("yMMMM", first, locale=get_locale()),
                           weekday_names=[format_date(day, "EEE") for day in weeks[0]],
                           previous=(first - timedelta(days=1)).replace(day=1),
                           following=last + timedelta(days=1))


def _save(form: EventForm, branch: Branch, event: Event | None) -> list[Event] | None:
    """Run the service for the form; on a rule error, put it on the form and return None."""
    try:
        if event is None:
            return services.schedule(current_user, branch, form.to_input(),
                                     form.repeat.to_rule(), form.skipped())
        return services.update_event(current_user, event, form.to_input(),
                                     this_and_following=form.scope.data == "following")
    except services.VenueConflict as conflict:
        show_field_errors(form, conflict)
        form.clash_dates = conflict.extra.get("dates", [])
    except (InvalidInput, Conflict) as error:
        show_field_errors(form, error)
    return None


@bp.route("/branches/<slug>/events/new", methods=["GET", "POST"])
@login_required
def create(slug: str) -> str | Response:
    branch = _managed(branches.get_branch(slug))
    form = EventForm(branch=branch)
    if form.validate_on_submit() and (events := _save(form, branch, None)):
        flash(ngettext("%(num)d meetup scheduled.", "%(num)d meetups scheduled.", len(events)),
              "success")
        return redirect(url_for("events.show", event_id=events[0].id))
    return render_template("events/form.html", branch=branch, form=form, event=None,
                           clash_dates=getattr(form, "clash_dates", []))


@bp.get("/events/<id:event_id>")
def show(event_id: int) -> str:
    event = services.visible_event(current_user, event_id)
    maps = map_links(event.venue, str(get_locale())) if event.venue else []
    return render_template("events/show.html", event=event, branch=event.branch, maps=maps,
                           description=render_markdown(event.description),
                           repeats=services.repeats(event),
                           cover=event.cover_digest or event.branch.cover_digest,
                           cancel_form=CancelForm(), can_manage=permissions.can_manage_branch(
                               current_user, event.branch))


@bp.get("/events/<id:event_id>/poster.png")
@invite_link_limit
def poster(event_id: int) -> Response:
    """The meetup as a picture to share in a chat group; its QR code opens the meetup."""
    event = services.visible_event(current_user, event_id)
    return png_response(meetup_poster(event, public_url("events.show", event_id=event.id)),
                        public=event.is_published)


@bp.route("/events/<id:event_id>/edit", methods=["GET", "POST"])
@login_required
def edit(event_id: int) -> str | Response:
    event = services.get_event(event_id)
    branch = _managed(event.branch)
    form = EventForm(branch=branch)
    if request.method == "GET":
        form.fill(services.event_input(event))
    if form.validate_on_submit() and _save(form, branch, event):
        flash(_("Meetup saved."), "success")
        return redirect(url_for("events.show", event_id=event.id))
    return render_template("events/form.html", branch=branch, form=form, event=event,
                           clash_dates=getattr(form, "clash_dates", []),
                           picture_form=PictureForm(), remove_picture_form=RemovePictureForm())


@bp.post("/events/<id:event_id>/cover")
@takes_uploads("PICTURE_UPLOAD_MAX_CONTENT_LENGTH")
@login_required
def cover(event_id: int) -> Response:
    event = services.get_event(event_id)
    _managed(event.branch)
    change_cover(lambda picture: services.set_cover(current_user, event, picture))
    return redirect(url_for("events.edit", event_id=event.id, _anchor="cover"))


@bp.post("/events/<id:event_id>/cancel")
@login_required
def cancel(event_id: int) -> Response:
    event = services.get_event(event_id)
    form = CancelForm()
    if form.validate_on_submit():
        services.cancel_event(current_user, event, form.message.data,
                              this_and_following=form.scope.data == "following")
        flash(_("Meetup cancelled."), "info")
    else:
        flash(_("Tell members why the meetup is cancelled."), "error")
    return redirect(url_for("events.show", event_id=event.id))


@bp.post("/events/<id:event_id>/duplicate")
@login_required
def duplicate(event_id: int) -> Response:
    event = services.get_event(event_id)
    try:
        copy = services.duplicate_event(current_user, event)
    except (Conflict, InvalidInput) as error:
        flash(error.message, "error")
        return redirect(url_for("events.show", event_id=event.id))
    flash(_("Copied to the same time next week, as a draft."), "success")
    return redirect(url_for("events.edit", event_id=copy.id))


@bp.get("/events/near")
def near() -> str:
    form = EventSearchForm(request.args)
    nearby, origin = [], None
    if form.validate() and (form.place.data or form.point()):
        try:
            origin = form.point() or branches.point_of(form.place.data, None, None)
        except InvalidInput as error:
            show_field_errors(form, error)
        if origin is not None:
            nearby = services.events_near(*origin, radius_km=form.radius_km.data or 50)
    return render_template("events/near.html", form=form, nearby=nearby, origin=origin)


@bp.get("/events/search")
def search() -> str:
    """Meetups to come by words and topic, in one branch or across the network."""
    form = EventSearchForm(request.args)
    branch = branches.get_branch(form.branch.data) if form.branch.data else None
    found: list[Event] | None = None
    if form.validate() and form.searches():
        found = services.search_events(current_user, words=form.q.data or "",
                                       topic=form.tag.data or "", branch=branch,
                                       start=utcnow(), end=utcnow() + timedelta(days=366))
    return render_template("events/search.html", form=form, branch=branch, found=found)


@bp.route("/venues/<id:venue_id>/bookings", methods=["GET", "POST"])
def venue_week(venue_id: int) -> str | Response:
    """A venue's bookings for one week, and (for leads) a form to hold it."""
    venue = branches.get_venue(venue_id)
    zone = venue.branch.timezone
    monday = _week_start(request.args.get("week"), zone)
    form = HoldForm()
    if request.method == "POST":
        _managed(venue.branch)
        if form.validate_on_submit():
            try:
                services.hold_venue(current_user, venue, form.to_input())
            except (InvalidInput, Conflict) as error:
                show_field_errors(form, error)
            else:
                flash(_("Venue held."), "success")
                return redirect(url_for("events.venue_week", venue_id=venue.id,
                                        week=monday.isoformat()))
    start = local_to_utc(datetime.combine(monday, time()), zone)
    end = local_to_utc(datetime.combine(monday + timedelta(days=7), time()), zone)
    bookings = services.bookings_between(venue, start, end)
    days = [monday + timedelta(days=n) for n in range(7)]
    by_day = {day: [b for b in bookings if utc_to_local(b.blocked_from, zone).date() <= day
                    <= utc_to_local(b.blocked_until, zone).date()] for day in days}
    return render_template("events/venue_week.html", venue=venue, branch=venue.branch,
                           days=days, by_day=by_day, form=form, monday=monday,
                           can_manage=permissions.can_manage_branch(current_user, venue.branch))


def _week_start(text: str | None, timezone: str) -> date:
    day = page_day("week", text, _today(timezone))
    return day - timedelta(days=day.weekday())


@bp.post("/bookings/<id:booking_id>/confirm")
@login_required
def confirm_hold(booking_id: int) -> Response:
    booking = services.get_booking(booking_id)
    if ConfirmHoldForm().validate_on_submit():
        try:
            services.confirm_hold(current_user, booking)
            flash(_("Hold confirmed."), "success")
        except Conflict as error:
            flash(error.message, "error")
    return redirect(url_for("events.venue_week", venue_id=booking.venue_id,
                            week=_local_day(booking)))


def _local_day(booking: Booking) -> str:
    return utc_to_local(booking.starts_at, booking.venue.branch.timezone).date().isoformat()


@bp.post("/bookings/<id:booking_id>/release")
@login_required
def release(booking_id: int) -> Response:
    booking = services.get_booking(booking_id)
    try:
        services.release_booking(current_user, booking)
        flash(_("Hold released."), "info")
    except Conflict as error:
        flash(error.message, "error")
    return redirect(url_for("events.venue_week", venue_id=booking.venue_id))
