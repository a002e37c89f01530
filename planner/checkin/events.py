"""What the door tells the rest of the site (see planner.core.domain_events)."""

from __future__ import annotations

from dataclasses import dataclass

from planner.core.domain_events import DomainEvent


@dataclass(frozen=True)
class CheckedIn(DomainEvent):
    """Someone was let in at a meetup's door: a ticket scanned, a name picked or a walk-in.
    Published once per check-in; a repeated nonce, a second scan or a refusal publishes nothing."""

    registration_id: int
    event_id: int
    scan_id: int
