"""What the meetup domain tells the rest of the site (see planner.core.domain_events)."""

from __future__ import annotations

from dataclasses import dataclass

from planner.core.domain_events import DomainEvent


@dataclass(frozen=True)
class MeetupEdited(DomainEvent):
    """A meetup was edited; `moved` when its time or place changed (attendees must hear);
    `published_now` when the edit published a draft (MeetupPublished follows)."""

    event_id: int
    moved: bool
    published_now: bool = False


@dataclass(frozen=True)
class MeetupCancelled(DomainEvent):
    event_id: int


@dataclass(frozen=True)
class MeetupPublished(DomainEvent):
    """A meetup became visible to members: scheduled as published, or a draft published."""

    event_id: int
