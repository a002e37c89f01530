"""Calendar files and feeds over HTTP (conditional GET), the member's feed settings, and the
"add to calendar" and "subscribe" links the pages show."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import TypedDict
from urllib.parse import quote, urlencode

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from branches.models import Branch
from planner.accounts.models import User
from planner.calendars import services
from planner.calendars.forms import CalendarSettingsForm, RotateTokenForm
from planner.calendars.ics import plain
from planner.core.timeutil import utcnow
from planner.core.unit_of_work import writes_during_read
from planner.core.urls import public_url, site_root
from planner.events.models import Event, EventStatus

bp = Blueprint("calendars", __name__)

ICS_CONTENT_TYPE = "text/calendar; charset=utf-8"
PUBLIC_CACHE = "public, max-age=900"
PRIVATE_CACHE = "private, max-age=900"
GOOGLE_DETAILS_LENGTH = 500


# --- files and feeds -------------------------------------------------------------------------

@bp.get("/events/<id:event_id>.ics")
def event_file(event_id: int) -> Response:
    event = services.published_event(event_id) or abort(404)
    response = _conditional(services.event_validator(event, site_root()),
                            lambda: services.event_file(event), PUBLIC_CACHE)
    response.headers["Content-Disposition"] = f'attachment; filename="meetup-{event.id}.ics"'
    return response


@bp.get("/branches/<slug>/calendar.ics")
@writes_during_read  # brings the feed's kept validator up to date after a write or in time
def branch_feed(slug: str) -> Response:
    branch, feed = services.branch_and_feed(slug)
    now = utcnow()
    entries = cache(lambda: services.branch_entries(branch, now))  # read at most once
    return _conditional(services.branch_validator(branch, feed, now, site_root(), entries),
                        lambda: services.branch_feed(branch, now, entries), PUBLIC_CACHE)


@bp.get("/calendar/<token>.ics")
@writes_during_read  # as the branch feed
def personal_feed(token: str) -> Response:
    """No cookie needed: calendar servers (Google's) fetch it. An unknown or rotated token gets
    the site's ordinary 404, the same as any path that does not exist."""
    user = services.user_for_token(token) or abort(404)
    now = utcnow()
    entries = cache(lambda: services.personal_entries(user, now))
    return _conditional(services.personal_validator(user, now, site_root(), entries),
                        lambda: services.personal_feed(user, now, entries), PRIVATE_CACHE)


def _conditional(validator: services.Validator, build: Callable[[], bytes],
                 cache_control: str) -> Response:
    """200 with the file, or 304 without building it when the client's copy is current."""
    if _client_is_current(validator):
        response = Response(status=304)
    else:
        response = Response(services.cached_body(validator, build),
                            content_type=ICS_CONTENT_TYPE)
    response.set_etag(validator.etag)
    response.last_modified = validator.last_modified
    response.headers["Cache-Control"] = cache_control
    return response


def _client_is_current(validator: services.Validator) -> bool:
    """If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2)."""
    if "If-None-Match" in request.headers:
        return request.if_none_match.contains_weak(validator.etag)
    since = request.if_modified_since
    return since is not None and validator.last_modified <= since


# --- the member's settings -------------------------------------------------------------------

@bp.post("/calendar/token/rotate")
@login_required
def rotate_token() -> Response:
    if RotateTokenForm().validate_on_submit():
        services.rotate_token(current_user)
        flash(_("Your calendar link has changed. The old link no longer works: subscribe "
                "again with the new one."), "success")
    return redirect(url_for("accounts.profile", _anchor="calendar"))


@bp.post("/calendar/settings")
@login_required
def settings() -> Response:
    form = CalendarSettingsForm()
    if form.validate_on_submit():
        services.set_includes_branches(current_user, form.include_branches.data)
        flash(_("Your calendar settings are saved."), "success")
    return redirect(url_for("accounts.profile", _anchor="calendar"))


# --- links for the pages ---------------------------------------------------------------------

class SubscribeLinks(TypedDict):
    https: str
    webcal: str
    google: str


class EventLinks(TypedDict):
    download: str
    google: str | None
    outlook: str | None


def subscribe_links(https_url: str) -> SubscribeLinks:
    webcal = "webcal://" + https_url.split("://", 1)[1]
    return {"https": https_url, "webcal": webcal,
            "google": "https://calendar.google.com/calendar/r?cid=" + quote(webcal, safe="")}


@bp.app_template_global()
def branch_feed_links(branch: Branch) -> SubscribeLinks:
    return subscribe_links(public_url("calendars.branch_feed", slug=branch.slug))


@bp.app_template_global()
def personal_feed_links(user: User) -> SubscribeLinks:
    """The member's feed links; the token is made the first time they are shown."""
    token = services.feed_token(user)
    return subscribe_links(public_url("calendars.personal_feed", token=token))


@bp.app_template_global()
def calendar_settings_form(user: User) -> CalendarSettingsForm:
    return CalendarSettingsForm(include_branches=user.calendar_includes_branches,
                                formdata=None)


@bp.app_template_global()
def event_calendar_links(event: Event) -> EventLinks | None:
    """Download, Google and Outlook links; none for drafts, no "add" links once cancelled."""
    if event.status is EventStatus.DRAFT:
        return None
    download = public_url("calendars.event_file", event_id=event.id)
    if event.is_cancelled:
        return {"download": download, "google": None, "outlook": None}
    return {"download": download, "google": _google_link(event), "outlook": _outlook_link(event)}


def _place(event: Event) -> str:
    if event.venue is not None:
        return f"{event.venue.name}, {event.venue.address}"
    return event.online_url or ""


def _details(event: Event) -> str:
    page = public_url("events.show", event_id=event.id)
    text = plain(event.description.strip())
    if len(text) > GOOGLE_DETAILS_LENGTH:
        text = text[:GOOGLE_DETAILS_LENGTH].rstrip() + "…"
    return f"{text}\n\n{page}" if text else page


def _utc(instant: datetime, pattern: str) -> str:
    return instant.astimezone(UTC).strftime(pattern)


def _google_link(event: Event) -> str:
    utc = "%Y%m%dT%H%M%SZ"
    dates = f"{_utc(event.starts_at, utc)}/{_utc(event.ends_at, utc)}"
    return "https://calendar.google.com/calendar/render?" + urlencode(
        {"action": "TEMPLATE", "text": event.title, "dates": dates, "details": _details(event),
         "location": _place(event)})


def _outlook_link(event: Event) -> str:
    iso = "%Y-%m-%dT%H:%M:%SZ"
    return "https://outlook.live.com/calendar/0/deeplink/compose?" + urlencode(
        {"path": "/calendar/action/compose", "rru": "addevent", "subject": event.title,
         "startdt": _utc(event.starts_at, iso), "enddt": _utc(event.ends_at, iso),
         "location": _place(event), "body": _details(event)})
