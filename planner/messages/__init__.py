"""Leads write to people: to a meetup's people by the state of their RSVP, or to the branch's
members (all of them or an engagement segment). A message is one row and one outbox row per
member; the worker renders and sends each (planner/notifications), so it sits above the
engagement area whose segments it writes to."""
