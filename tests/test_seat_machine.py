"""The seat machine under random sequences of everything people do to it, on the real services
and the real database: RSVP with guests, cancel, approve or decline, change the seats, walk in,
check in and undo it.

After every step: no step seats people beyond the capacity (lowering it removes nobody, so only
then may more be going than there are seats); waitlist positions are 1..n; parties are never
split; and the waitlist follows "first that fits": a party waits only while it is too big for the
seats left, so no smaller, later party can have taken a seat it fitted into. A ticket is valid
(its page shows the QR code) exactly while its RSVP is going.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from planner.checkin import services as door
from planner.core.errors import DomainError
from planner.core.extensions import db
from planner.core.timeutil import utcnow
from planner.core.unit_of_work import unit_of_work
from planner.events import services as events
from planner.events.models import Event, EventStatus
from planner.registrations import services
from planner.registrations.models import Registration, RegistrationStatus
from planner.registrations.waitlist import waitlist_position

MEMBERS = 5
GOING, WAITLISTED = RegistrationStatus.GOING, RegistrationStatus.WAITLISTED
member = st.integers(0, MEMBERS - 1)
guests = st.integers(0, 2)


def test_seat_machine(client, cast, make_user, database_url):
    people = [make_user(f"Seat {n}") for n in range(MEMBERS)]
    branch, lead = cast.branch, cast.lead
    soon = (utcnow() + timedelta(hours=1)).astimezone(ZoneInfo(branch.timezone)).replace(
        tzinfo=None, second=0, microsecond=0)
    db.session.commit()

    class SeatMachine(RuleBasedStateMachine):
        @initialize(capacity=st.integers(1, 6), approval=st.booleans())
        def new_meetup(self, capacity: int, approval: bool) -> None:
            # A meetup an hour from now: RSVPs are open and so is the door.
            with unit_of_work():
                [event] = events.schedule(lead, branch, events.EventInput(
                    title="Seats", starts_local=soon, ends_local=soon + timedelta(hours=2),
                    venue_id=None, online_url="https://meet.example/x", capacity=capacity,
                    max_guests=2, requires_approval=approval, status=EventStatus.PUBLISHED))
            self.event_id = event.id
            self.asked: dict[int, int] = {}  # registration id → guests asked for
            self.codes: set[str] = set()
            self.going_before = 0

        def registration(self, n: int) -> Registration | None:
            return services.registration_of(people[n], db.session.get(Event, self.event_id))

        def attempt(self, action, *args, **kwargs) -> None:
            """One step is one unit of work, as a request is: refused, it leaves nothing."""
            with suppress(DomainError), unit_of_work():
                action(*args, **kwargs)

        @rule(n=member, party=guests)
        def rsvp(self, n: int, party: int) -> None:
            before = self.registration(n)
            repeat = before is not None and before.is_active
            self.attempt(services.rsvp, people[n], self.event_id, party)
            after = self.registration(n)
            if after is not None and not repeat and after.is_active:
                self.asked[after.id] = party

        @rule(n=member)
        def cancel(self, n: int) -> None:
            self.attempt(services.cancel, people[n], self.event_id)

        @rule(n=member, approve=st.booleans())
        def review(self, n: int, approve: bool) -> None:
            if (registration := self.registration(n)) is not None:
                self.attempt(services.review, lead, registration.id, approve=approve)

        @rule(capacity=st.integers(1, 8))
        def change_capacity(self, capacity: int) -> None:
            self.attempt(services.set_capacity, lead, self.event_id, capacity)

        @rule(party=guests)
        def walk_in(self, party: int) -> None:
            self.attempt(door.register_walk_in, lead, self.event_id,
                         door.WalkIn(name="Walk-in", guests=party))

        @rule(n=member)
        def check_in(self, n: int) -> None:
            if (registration := self.registration(n)) is not None and registration.ticket_code:
                self.attempt(door.redeem, lead, self.event_id,
                             ticket_code=registration.ticket_code)

        @rule(n=member)
        def undo_check_in(self, n: int) -> None:
            if (registration := self.registration(n)) is not None:
                self.attempt(door.undo, lead, self.event_id, registration.id)

        def rows(self) -> tuple[Event, list[Registration]]:
            db.session.expire_all()
            event = db.session.get(Event, self.event_id)
            return event, list(db.session.scalars(select(Registration).where(
                Registration.event_id == self.event_id)))

        @invariant()
        def seats_hold(self) -> None:
            event, rows = self.rows()
            going = sum(r.seats for r in rows if r.status is GOING)
            assert going <= event.capacity or going <= self.going_before, (
                going, event.capacity, self.going_before)
            self.going_before = going
            free = event.capacity - going
            waiting = sorted((r for r in rows if r.status is WAITLISTED),
                             key=lambda r: (r.queued_at, r.id))
            assert all(r.seats > free for r in waiting), "a party that fits was left waiting"
            assert [waitlist_position(r) for r in waiting] == list(range(1, len(waiting) + 1))
            for r in rows:
                if r.id in self.asked:
                    assert r.guests == self.asked[r.id], "a party was split"

        @invariant()
        def tickets_valid_exactly_while_going(self) -> None:
            _event, rows = self.rows()
            current = {r.ticket_code: r for r in rows if r.ticket_code}
            assert all(r.ticket_code for r in rows if r.status is GOING)
            self.codes |= set(current)
            for code in self.codes:
                page = client.get(f"/tickets/{code}")
                registration = current.get(code)
                valid = page.status_code == 200 and "ticket-code" in page.text
                assert valid == (registration is not None and registration.status is GOING), (
                    code, page.status_code, registration and registration.status)

    on_postgres = database_url.startswith("postgresql")
    run_state_machine_as_test(SeatMachine, settings=settings(
        max_examples=10 if on_postgres else 30, stateful_step_count=25, deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]))
