"""What the meetup domain tells the rest of the site (see planner.core.domain_events)."""

from __future__ import annotations

from dataclasses import dataclass

from planner.core.domain_events import DomainEvent


@dataclass(frozen=True)
class MeetupEdited(DomainEvent):
    """A meetup was edited; `moved` when its time or place changed (attendees must hear)."""

    event_id: int
    moved: bool


@dataclass(frozen=True)
class MeetupCancelled(DomainEvent):
    event_id: int
