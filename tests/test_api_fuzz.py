"""schemathesis against the generated OpenAPI document, in-process (WSGI), as a lead.

Every operation gets a bounded number of generated requests, valid and invalid (about 15, or
JUHUI_FUZZ_EXAMPLES), half of them aimed at the ids of real rows so that the handlers behind
the 404 are reached too. Each answer must not be a server error, must match the documented
schema, and its status must be one the document lists for that operation.
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from branches.services import VenueInput, save_venue
from planner.core.extensions import db
from planner.core.timeutil import utcnow
from planner.events.localtime import utc_to_local
from planner.events.models import BookingStatus, EventStatus
from planner.events.services import EventInput, HoldInput, hold_venue, schedule
from planner.funnel.models import Channel
from planner.funnel.services import create_link
from planner.registrations.services import rsvp_answer
from tests.conftest import bearer

EXAMPLES = int(os.environ.get("JUHUI_FUZZ_EXAMPLES", "15"))
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
# Operations whose real target would spoil the rest of the run (the lead leaving the branch,
# revoking the token the run uses) get only generated values.
UNSTEERED = {"/api/v1/branches/{slug}/leave", "/api/v1/me/tokens/{token_id}"}


@dataclass(frozen=True)
class World:
    """Real rows, by path parameter name, and the lead's token."""

    ids: dict[str, Any]
    headers: dict[str, str]


@pytest.fixture
def world(client, cast) -> World:
    venue = save_venue(cast.lead, cast.branch, VenueInput("Hall", "1 Road", 40))
    start = utc_to_local(utcnow() + timedelta(days=10), cast.branch.timezone).replace(
        minute=0, second=0, microsecond=0)
    event = schedule(cast.lead, cast.branch, EventInput(
        "Go club", start, start + timedelta(hours=2), venue_id=venue.id,
        status=EventStatus.PUBLISHED))[0]
    hold = hold_venue(cast.lead, venue, HoldInput(start + timedelta(days=1),
                                                  start + timedelta(days=1, hours=2),
                                                  BookingStatus.TENTATIVE, "Shoot"))
    registration = rsvp_answer(cast.member, event.id, 0).registration
    link = create_link(cast.lead, cast.branch, "Chat group", Channel.CHAT_GROUP, event=event)
    db.session.commit()
    ids = {"slug": cast.branch.slug, "event_id": event.id, "venue_id": venue.id,
           "booking_id": hold.id, "registration_id": registration.id,
           "user_id": cast.member.id, "link_id": link.id}
    return World(ids, bearer(client, cast.lead))


def _isolated(app: Flask) -> Callable[..., Iterable[bytes]]:
    """The app as a WSGI callable whose every request runs in a context of its own (as in
    production), not inside the test's app context; the test's session lets go first."""

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        db.session.commit()
        return contextvars.Context().run(app, environ, start_response)

    return wsgi


def _steer(schema: Any, world: World) -> None:
    @schema.hook
    def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any]) -> Any:
        if not path_parameters or context.operation.path in UNSTEERED:
            return st.just(path_parameters)
        real = {name: world.ids.get(name, value) for name, value in path_parameters.items()}
        return st.sampled_from([path_parameters, real])


def _fuzz(operation: Any, mode: GenerationMode, world: World,
          failures: dict[str, str]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=max(1, EXAMPLES // 2), deadline=None, derandomize=True,
              database=None, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        try:
            case.call_and_validate(headers=world.headers, checks=CHECKS)
        except FailureGroup as group:
            kinds = sorted({failure.title for failure in group.exceptions})
            failures.setdefault(f"{operation.label}: {', '.join(kinds)}", str(group))
        except Exception as error:  # the testing app lets a view's error through
            failures.setdefault(f"{operation.label}: raised {type(error).__name__}",
                                f"{error!r}\n{case.as_curl_command()}")

    try:
        run()
    except Unsatisfiable:  # nothing to make invalid: no parameters, no body
        assert mode is GenerationMode.NEGATIVE, operation.label


def test_the_api_answers_every_generated_request_as_documented(app, world):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", _isolated(app))
    _steer(schema, world)
    failures: dict[str, str] = {}  # the first example of each kind of failure
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(operation, mode, world, failures)
    assert not failures, "\n".join([f"{len(failures)} kinds of failure:", *failures,
                                     "", "First examples:", *failures.values()])
