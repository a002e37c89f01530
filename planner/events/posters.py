"""The share poster of a meetup: what it says, in the reader's language."""

from __future__ import annotations

from flask_babel import gettext as _

from planner.core.i18n import format_span
from planner.events.models import Event
from planner.pictures.posters import Poster


def meetup_poster(event: Event, link: str) -> Poster:
    """A poster whose QR code opens `link` (the meetup's page, or an invite link to it)."""
    venue = event.venue
    where = f"{venue.name} · {venue.address}" if venue else _("Online")
    return Poster(title=event.title,
                  when=format_span(event.starts_at, event.ends_at, event.branch.timezone, "full"),
                  where=where, branch=event.branch.name, link=link, caption=_("Scan to RSVP"),
                  cover_digest=event.cover_digest or event.branch.cover_digest)
