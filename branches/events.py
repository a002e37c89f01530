"""What the branch domain tells the rest of the site (see planner.core.domain_events)."""

from __future__ import annotations

from dataclasses import dataclass

from planner.core.domain_events import DomainEvent


@dataclass(frozen=True)
class MemberJoined(DomainEvent):
    """Someone joined a branch, or asked to; `invite_code` is the invite link that brought them,
    as the edge knew it (the browser's last touch)."""

    membership_id: int
    branch_id: int
    user_id: int
    invite_code: str | None
