"""What a member can be told about, by email through the outbox."""

from __future__ import annotations

import enum


class Notice(enum.StrEnum):
    CONFIRMED = "confirmed"  # going, with a ticket and the meetup as .ics
    WAITLISTED = "waitlisted"
    PENDING = "pending"  # waits for a lead's approval
    PROMOTED = "promoted"  # moved up from the waitlist: now going
    DECLINED = "declined"
    EVENT_CHANGED = "event_changed"
    EVENT_CANCELLED = "event_cancelled"
    REMINDER = "reminder"
    NUDGE = "nudge"  # to a member, not about an RSVP: come back to the branch's meetups
    FEEDBACK_REQUEST = "feedback_request"  # checked in at a meetup that ended: how was it?


WITH_CALENDAR = frozenset({Notice.CONFIRMED, Notice.PROMOTED})
ABOUT_THE_EVENT = frozenset({Notice.EVENT_CHANGED, Notice.EVENT_CANCELLED})
TO_MEMBERS = frozenset({Notice.NUDGE})  # addressed to a member, not about a registration
