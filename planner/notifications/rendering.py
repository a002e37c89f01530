"""What a message says, rendered as the worker takes it to send (planner/notifications/delivery.py).

The outbox row only names what to tell whom; the words, the links and the calendar file are made
here, from the state of that moment, in the member's language of that moment (their own choice,
else their branch's). So a meetup retitled or a waitlist that moved since the change is told as
it is now, and nothing of this runs while the change's transaction holds the meetup's lock. Whether
the message may still be sent at all was asked first (premises.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import nh3
from flask import render_template
from flask_babel import force_locale
from markdown_it import MarkdownIt

from branches.models import Branch
from planner.accounts.models import User
from planner.core.i18n import format_span
from planner.core.urls import public_url
from planner.events.models import Event
from planner.notifications.kinds import (
    ABOUT_THE_EVENT,
    TO_MEMBERS,
    WITH_CALENDAR,
    Notice,
    category_of,
)
from planner.notifications.models import LeadMessage, OutboxMessage
from planner.notifications.services import unsubscribe_token
from planner.registrations.models import Registration, RegistrationStatus
from planner.registrations.waitlist import waitlist_position

SUBJECT_LENGTH = 300


@dataclass(frozen=True)
class Rendered:
    to_address: str
    subject: str
    body: str
    ics: bytes | None
    html: str | None = None  # an HTML alternative (a lead's Markdown), sanitised
    # The one-click unsubscribe link of optional mail (RFC 8058); None for essential mail.
    unsubscribe_url: str | None = None


class NothingToRender(LookupError):
    """The member, RSVP or branch the message names is gone (premises.py drops such a message
    before it gets here)."""


def render(message: OutboxMessage) -> Rendered:
    """The message as it is to be sent now."""
    notice, user = Notice(message.kind), message.user
    if user is None:
        raise NothingToRender(f"message {message.id}: no member")
    unsubscribe = unsubscribe_url(user, notice)
    if notice is Notice.LEAD_MESSAGE:
        if message.lead_message is None:
            raise NothingToRender(f"message {message.id}: no lead's message")
        return lead_message_mail(message.lead_message, user, unsubscribe)
    if notice in TO_MEMBERS:
        if message.branch is None:
            raise NothingToRender(f"message {message.id}: no branch")
        return _to_member(notice, user, message.branch, unsubscribe)
    if message.registration is None:
        raise NothingToRender(f"message {message.id}: no RSVP")
    return _about_an_rsvp(notice, user, message.registration, unsubscribe)


def unsubscribe_url(user: User, kind: str) -> str | None:
    """The signed link that switches this kind's category off; None for essential mail."""
    category = category_of(kind)
    if category is None:
        return None
    return public_url("notifications.unsubscribe", token=unsubscribe_token(user.id, category))


def _about_an_rsvp(notice: Notice, user: User, registration: Registration,
                   unsubscribe: str | None) -> Rendered:
    event = registration.event
    with force_locale(user.locale or event.branch.locale):
        subject, body = _subject_and_body(render_template(
            f"notifications/{notice}.txt", registration=registration, event=event,
            branch=event.branch, venue=event.venue, user=user,
            when=_when(event), event_url=public_url("events.show", event_id=event.id),
            ticket_url=ticket_url(registration),
            feedback_url=(public_url("feedback.give", event_id=event.id)
                          if notice is Notice.FEEDBACK_REQUEST else None),
            position=_waitlist_position(notice, registration), unsubscribe_url=unsubscribe))
    return Rendered(user.email, subject, body, _calendar(notice, registration),
                    unsubscribe_url=unsubscribe)


def _when(event: Event) -> str:
    return format_span(event.starts_at, event.ends_at, event.branch.timezone, "full",
                       name_zone=True)


def _to_member(notice: Notice, user: User, branch: Branch, unsubscribe: str | None) -> Rendered:
    """A notice to the member rather than about one RSVP (a nudge back to the branch)."""
    with force_locale(user.locale or branch.locale):
        subject, body = _subject_and_body(render_template(
            f"notifications/{notice}.txt", user=user, branch=branch,
            branch_url=public_url("branches.show", slug=branch.slug),
            settings_url=public_url("branches.settings", slug=branch.slug),
            unsubscribe_url=unsubscribe))
    return Rendered(user.email, subject, body, None, unsubscribe_url=unsubscribe)


# --- a lead's message ----------------------------------------------------------------------

# CommonMark without raw HTML; what it makes is cleaned again by nh3 (links get rel=noopener).
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False})


def markdown_html(text: str) -> str:
    """A lead's Markdown as safe HTML: no raw HTML, no scripts, no javascript: links."""
    return nh3.clean(_MARKDOWN.render(text), url_schemes={"http", "https", "mailto"})


def lead_message_mail(message: LeadMessage, user: User, unsubscribe: str | None) -> Rendered:
    """The lead's subject and words, framed by the fixed parts in the member's language."""
    branch, event = message.branch, message.event
    context = {
        "user": user, "branch": branch, "event": event, "message": message,
        "subject": " ".join(message.subject.split()),
        "author": message.author.display_name if message.author else branch.name,
        "when": _when(event) if event else None,
        "event_url": public_url("events.show", event_id=event.id) if event else None,
        "unsubscribe_url": unsubscribe, "body_html": markdown_html(message.body),
    }
    with force_locale(user.locale or branch.locale):
        subject, body = _subject_and_body(render_template("notifications/lead_message.txt",
                                                          **context))
        html = render_template("notifications/lead_message.html", **context)
    return Rendered(user.email, subject, body, None, html=html, unsubscribe_url=unsubscribe)


def _subject_and_body(text: str) -> tuple[str, str]:
    """The template's first line is the subject, the rest the body."""
    subject, _newline, body = text.strip().partition("\n")
    return " ".join(subject.split())[:SUBJECT_LENGTH], _tidy(body)


def _tidy(body: str) -> str:
    """Templates stay readable; mails get no trailing spaces and at most one blank line."""
    lines = "\n".join(line.rstrip() for line in body.splitlines())
    return re.sub(r"\n{3,}", "\n\n", lines).strip() + "\n"


def _waitlist_position(notice: Notice, registration: Registration) -> int | None:
    if notice is not Notice.WAITLISTED:
        return None
    return waitlist_position(registration)


def _calendar(notice: Notice, registration: Registration) -> bytes | None:
    """The meetup's file for a mail that puts it in the member's calendar, and for a change or
    cancellation to those who got it (going): the same UID with a higher SEQUENCE moves or
    cancels the entry there."""
    holds_the_file = (notice in ABOUT_THE_EVENT
                      and registration.status is RegistrationStatus.GOING)
    if notice not in WITH_CALENDAR and not holds_the_file:
        return None
    from planner.calendars.ics import event_ics  # written beside this package; imported late

    return event_ics(registration.event)


def ticket_url(registration: Registration) -> str | None:
    """The ticket's page, while the member is going (a ticket is only valid then)."""
    if registration.status is not RegistrationStatus.GOING or not registration.ticket_code:
        return None
    return public_url("registrations.ticket", code=registration.ticket_code)
