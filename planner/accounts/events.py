"""What the accounts area tells the rest of the site (see planner.core.domain_events)."""

from __future__ import annotations

from dataclasses import dataclass

from planner.core.domain_events import DomainEvent


@dataclass(frozen=True)
class SignedUp(DomainEvent):
    """Someone made an account; `referral_code` is the personal referral code of the member who
    invited them, as the edge knew it (the browser came by that member's `/r/<code>` link)."""

    user_id: int
    referral_code: str | None
