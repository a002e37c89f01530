"""What each kind of mail takes to be true, checked by the worker as it takes a message to send.

A message is written when something happens and sent moments, or with the mail server down
hours, later. By then the meetup may be cancelled or over, the RSVP cancelled, the meetup moved
again: a message whose premise no longer holds is dropped with the reason, never sent. One that
holds is rendered then, from the state of that moment (rendering.py). One rule per kind
(planner/notifications/kinds.py), looked up by the message's kind.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import datetime
from functools import wraps

from flask import Flask, current_app

from planner.events.models import Event
from planner.notifications.kinds import Notice
from planner.notifications.models import OutboxMessage
from planner.notifications.outbox import dedupe_key
from planner.notifications.services import opted_out
from planner.registrations.models import ACTIVE_STATUSES, Registration, RegistrationStatus


class DropReason(enum.StrEnum):
    ACCOUNT_GONE = "account_gone"
    BRANCH_GONE = "branch_gone"  # the branch a nudge was from
    RSVP_GONE = "rsvp_gone"
    RSVP_CHANGED = "rsvp_changed"  # no longer going, waiting or declined as the mail says
    MEETUP_CANCELLED = "meetup_cancelled"
    MEETUP_UNPUBLISHED = "meetup_unpublished"  # back to a draft
    MEETUP_OVER = "meetup_over"
    MEETUP_STARTED = "meetup_started"
    MEETUP_CHANGED_AGAIN = "meetup_changed_again"  # a newer mail tells the newer time or place
    NOT_CHECKED_IN = "not_checked_in"  # a feedback request to someone no longer checked in
    FEEDBACK_GIVEN = "feedback_given"  # the member rated the meetup already
    FEEDBACK_CLOSED = "feedback_closed"  # too late to rate it (FEEDBACK_DAYS after its end)
    OPTED_OUT = "opted_out"  # the member switched this category of mail off
    MESSAGE_GONE = "message_gone"  # the lead's message was deleted with its meetup or branch


Premise = Callable[[OutboxMessage, datetime], DropReason | None]
RsvpPremise = Callable[[Registration, OutboxMessage, datetime], DropReason | None]
# Whether a feedback request to this checked-in member still makes sense (given, closed), as
# the feedback area answers it: it sits above this one, so create_app hands it in.
FeedbackAsked = Callable[[Registration, datetime], DropReason | None]
FEEDBACK_ASKED = "juhui.feedback.asked"


def ask_feedback_requests(app: Flask, rule: FeedbackAsked) -> None:
    app.extensions[FEEDBACK_ASKED] = rule


def broken_premise(message: OutboxMessage, now: datetime) -> DropReason | None:
    """Why `message` must not be sent at `now`, or None when what it says still holds."""
    if message.user is None:
        return DropReason.ACCOUNT_GONE
    if opted_out(message.user.id, message.kind):  # asked now: they may have switched it off
        return DropReason.OPTED_OUT
    return PREMISES[Notice(message.kind)](message, now)


def _about_an_rsvp(rule: RsvpPremise) -> Premise:
    @wraps(rule)
    def premise(message: OutboxMessage, now: datetime) -> DropReason | None:
        if message.registration is None:
            return DropReason.RSVP_GONE
        return rule(message.registration, message, now)
    return premise


def _meetup_ahead(event: Event, now: datetime) -> DropReason | None:
    if event.is_cancelled:
        return DropReason.MEETUP_CANCELLED
    if not event.is_published:
        return DropReason.MEETUP_UNPUBLISHED
    if event.ends_at <= now:
        return DropReason.MEETUP_OVER
    return None


def _not_started(event: Event, now: datetime) -> DropReason | None:
    return DropReason.MEETUP_STARTED if event.starts_at <= now else None


def _rsvp_is(registration: Registration, *statuses: RegistrationStatus) -> DropReason | None:
    return None if registration.status in statuses else DropReason.RSVP_CHANGED


def _reports_the_current_state(registration: Registration,
                               message: OutboxMessage) -> DropReason | None:
    """The dedupe key names the state a message reports (the meetup's sequence, its start): a
    key that differs from today's means the meetup changed again since it was written."""
    if dedupe_key(Notice(message.kind), registration) == message.dedupe_key:
        return None
    return DropReason.MEETUP_CHANGED_AGAIN


def _carries_the_current_ticket(registration: Registration,
                                message: OutboxMessage) -> DropReason | None:
    """The key names the ticket the message carries (codes are URL-safe, never ":"): a member
    who cancelled and RSVPed again holds a new ticket, which has a mail of its own."""
    if f":{registration.ticket_code}:" in message.dedupe_key:
        return None
    return DropReason.RSVP_CHANGED


@_about_an_rsvp
def going_on_its_ticket(registration: Registration, message: OutboxMessage,
                        now: datetime) -> DropReason | None:
    """"You're going" and "a seat freed up". A meetup moved since keeps the mail: the ticket
    stays valid, and the change has its own mail."""
    return (_meetup_ahead(registration.event, now)
            or _rsvp_is(registration, RegistrationStatus.GOING)
            or _carries_the_current_ticket(registration, message))


def _ahead_and_still(status: RegistrationStatus) -> Premise:
    """"You're on the waitlist", "waiting for approval": the meetup still to come and the RSVP
    still `status`."""
    @_about_an_rsvp
    def rule(registration: Registration, _message: OutboxMessage,
             now: datetime) -> DropReason | None:
        return _meetup_ahead(registration.event, now) or _rsvp_is(registration, status)
    return rule


@_about_an_rsvp
def still_declined(registration: Registration, _message: OutboxMessage,
                   _now: datetime) -> DropReason | None:
    """A decline stays true whatever the meetup does, until a lead approves after all."""
    return _rsvp_is(registration, RegistrationStatus.DECLINED)


@_about_an_rsvp
def change_still_current(registration: Registration, message: OutboxMessage,
                         now: datetime) -> DropReason | None:
    """To whoever is still going or waiting, while no later change superseded it."""
    return (_meetup_ahead(registration.event, now) or _rsvp_is(registration, *ACTIVE_STATUSES)
            or _reports_the_current_state(registration, message))


@_about_an_rsvp
def cancellation_stands(_registration: Registration, _message: OutboxMessage,
                        _now: datetime) -> DropReason | None:
    """A cancelled meetup is never published again (events.services refuses to edit it)."""
    return None


@_about_an_rsvp
def reminder_still_ahead(registration: Registration, message: OutboxMessage,
                         now: datetime) -> DropReason | None:
    """Going, before the start it names: a moved meetup gets a new reminder of its own."""
    event = registration.event
    return (_meetup_ahead(event, now) or _not_started(event, now)
            or _rsvp_is(registration, RegistrationStatus.GOING)
            or _reports_the_current_state(registration, message))


def branch_still_there(message: OutboxMessage, _now: datetime) -> DropReason | None:
    """A nudge only says the branch would like to see the member again; a paused webhook's
    notice, that the branch's endpoint failed."""
    return DropReason.BRANCH_GONE if message.branch is None else None


@_about_an_rsvp
def feedback_still_wanted(registration: Registration, _message: OutboxMessage,
                          now: datetime) -> DropReason | None:
    """"How was it?": to a member still checked in at a meetup not cancelled, who has not
    rated it yet, while it may still be rated (the feedback area's rule)."""
    if registration.event.is_cancelled:
        return DropReason.MEETUP_CANCELLED
    if registration.checked_in_at is None:
        return DropReason.NOT_CHECKED_IN
    rule: FeedbackAsked | None = current_app.extensions.get(FEEDBACK_ASKED)
    return None if rule is None else rule(registration, now)


def lead_message_holds(message: OutboxMessage, _now: datetime) -> DropReason | None:
    """A lead's message says what it says whatever happened since; it goes while it exists."""
    return DropReason.MESSAGE_GONE if message.lead_message is None else None


PREMISES: dict[Notice, Premise] = {
    Notice.CONFIRMED: going_on_its_ticket,
    Notice.PROMOTED: going_on_its_ticket,
    Notice.WAITLISTED: _ahead_and_still(RegistrationStatus.WAITLISTED),
    Notice.PENDING: _ahead_and_still(RegistrationStatus.PENDING),
    Notice.DECLINED: still_declined,
    Notice.EVENT_CHANGED: change_still_current,
    Notice.EVENT_CANCELLED: cancellation_stands,
    Notice.REMINDER: reminder_still_ahead,
    Notice.NUDGE: branch_still_there,
    Notice.FEEDBACK_REQUEST: feedback_still_wanted,
    Notice.LEAD_MESSAGE: lead_message_holds,
    Notice.WEBHOOK_PAUSED: branch_still_there,
}
