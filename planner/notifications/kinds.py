"""What a member can be told about, by email through the outbox, and which of it they may
switch off: the one place a kind of mail is put in a category (`CATEGORY_KINDS`)."""

from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l


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
    LEAD_MESSAGE = "lead_message"  # what a lead wrote to a meetup's people or the branch
    WEBHOOK_PAUSED = "webhook_paused"  # to a branch's leads: an endpoint failed too often


WITH_CALENDAR = frozenset({Notice.CONFIRMED, Notice.PROMOTED})
ABOUT_THE_EVENT = frozenset({Notice.EVENT_CHANGED, Notice.EVENT_CANCELLED})
# Addressed to a member, not about a registration (the branch it is from is on the row).
TO_MEMBERS = frozenset({Notice.NUDGE, Notice.WEBHOOK_PAUSED})


class Category(enum.StrEnum):
    """What a member chooses to receive (GET|PUT /me/notifications, the mail page)."""

    REMINDERS = "reminders"
    CHANGES = "changes"
    MESSAGES = "messages"  # from the leads
    NUDGES = "nudges"
    FEEDBACK = "feedback"  # requests for feedback after a meetup


class Essential(enum.StrEnum):
    """Mail nobody can switch off; named so that a request to switch one off is refused by
    name."""

    TICKETS = "tickets"  # confirmation, waitlist, approval, a ticket when promoted
    CANCELLATIONS = "cancellations"  # a meetup they hold a ticket or a place for is cancelled
    ACCOUNT = "account"  # password and account mail, a lead's notice about their webhooks


# The kinds each category holds, by name: a kind another area adds (the feedback request)
# belongs to its category by the name it is queued under.
CATEGORY_KINDS: dict[Category, frozenset[str]] = {
    Category.REMINDERS: frozenset({Notice.REMINDER.value}),
    Category.CHANGES: frozenset({Notice.EVENT_CHANGED.value}),
    Category.MESSAGES: frozenset({Notice.LEAD_MESSAGE.value}),
    Category.NUDGES: frozenset({Notice.NUDGE.value}),
    Category.FEEDBACK: frozenset({"feedback_request"}),
}
ESSENTIAL_KINDS: dict[Essential, frozenset[str]] = {
    Essential.TICKETS: frozenset({Notice.CONFIRMED, Notice.PROMOTED, Notice.WAITLISTED,
                                  Notice.PENDING, Notice.DECLINED}),
    Essential.CANCELLATIONS: frozenset({Notice.EVENT_CANCELLED}),
    Essential.ACCOUNT: frozenset({Notice.WEBHOOK_PAUSED}),
}

CATEGORY_LABELS = {
    Category.REMINDERS: _l("Reminders before a meetup you are going to"),
    Category.CHANGES: _l("A meetup you RSVPed to moved or changed"),
    Category.MESSAGES: _l("Messages from the leads of your branches and meetups"),
    Category.NUDGES: _l("A word from a branch you have not been to in a while"),
    Category.FEEDBACK: _l("Requests for feedback after a meetup you attended"),
}
ESSENTIAL_LABELS = {
    Essential.TICKETS: _l("Your tickets, waitlist places and approvals"),
    Essential.CANCELLATIONS: _l("A meetup you RSVPed to is cancelled"),
    Essential.ACCOUNT: _l("Your account and password"),
}


def category_of(kind: str) -> Category | None:
    """The category a kind of mail is switched off by; None for essential mail."""
    for category, kinds in CATEGORY_KINDS.items():
        if kind in kinds:
            return category
    return None
