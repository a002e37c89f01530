"""How an RSVP's status, source and approval reason read, on pages and in the door's lists."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from planner.registrations.models import (
    MANUAL_SOURCE,
    WALK_IN_SOURCE,
    ApprovalReason,
    Registration,
    RegistrationStatus,
)

STATUS_LABELS = {
    RegistrationStatus.GOING: _l("Going"), RegistrationStatus.WAITLISTED: _l("Waitlisted"),
    RegistrationStatus.PENDING: _l("Awaiting approval"),
    RegistrationStatus.DECLINED: _l("Declined"), RegistrationStatus.CANCELLED: _l("Cancelled"),
}
APPROVAL_REASONS = {
    ApprovalReason.MEETUP_REQUIRES_APPROVAL: _l("This meetup needs approval for every RSVP."),
    ApprovalReason.NO_SHOWS: _l("Needs approval: several recent no-shows in this branch."),
}


def status_label(registration: Registration) -> str:
    return str(STATUS_LABELS[registration.status])


SOURCE_LABELS = {MANUAL_SOURCE: _l("Added by a lead"), WALK_IN_SOURCE: _l("Walk-in")}


def source_label(registration: Registration) -> str:
    source = registration.source
    return str(SOURCE_LABELS.get(source, source)) if source else ""


def approval_reason_label(registration: Registration) -> str:
    reason = registration.approval_reason
    return str(APPROVAL_REASONS[reason]) if reason else ""
