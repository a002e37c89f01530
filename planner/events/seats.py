"""How full meetups are, for the meetup JSON (going, waitlisted, seats left).

The RSVPs belong to the registrations area, which builds on this one (an RSVP is for a meetup),
so the events area cannot import it. Instead create_app hands the registrations area's counter
in (`count_seats_with`), as the meetup page gets its seat figures from the template globals
that area registers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from flask import Flask, current_app

from planner.events.models import Event

EXTENSION = "juhui.seat_counter"


class Seats(Protocol):
    @property
    def going(self) -> int: ...  # people, guests included

    @property
    def waitlisted(self) -> int: ...

    @property
    def left(self) -> int | None: ...  # None when the meetup has no limit


SeatCounter = Callable[[Sequence[Event]], Mapping[int, Seats]]


def count_seats_with(app: Flask, counter: SeatCounter) -> None:
    """`counter` answers the seats of many meetups by id, in one query."""
    app.extensions[EXTENSION] = counter


def seats_of(events: Sequence[Event]) -> Mapping[int, Seats]:
    counter: SeatCounter = current_app.extensions[EXTENSION]
    return counter(events)
