"""The permission matrix: every role against every protected action, through the JSON API
(which calls the same services as the pages) and through branches.permissions directly."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from branches import permissions
from branches.models import Role
from branches.services import set_role
from planner.core.extensions import db
from planner.feedback.models import Feedback
from tests.conftest import bearer, login
from tests.test_event_queries import add_meetups, counted_queries

ROLES = ["anonymous", "outsider", "member", "staff", "lead", "other_lead", "admin"]
MANAGERS = {"lead", "admin"}


def _actions(cast):
    """(name, method, url, json body, roles allowed) for each protected action."""
    slug = cast.branch.slug
    member_id, staff_id = cast.member.id, cast.staff.id
    venue = {"name": "Hall", "address": "1 Road", "capacity": 20}
    return [
        ("create branch", "POST", "/api/v1/branches",
         {"name": "Hangzhou", "city": "杭州", "slug": "hz"}, {"admin"}),
        ("list members", "GET", f"/api/v1/branches/{slug}/members", None, MANAGERS),
        ("audit log", "GET", f"/api/v1/branches/{slug}/audit", None, MANAGERS),
        ("make staff", "PUT", f"/api/v1/branches/{slug}/members/{member_id}",
         {"role": "staff"}, MANAGERS),
        ("appoint lead", "PUT", f"/api/v1/branches/{slug}/members/{staff_id}",
         {"role": "lead"}, {"admin"}),
        ("remove member", "DELETE", f"/api/v1/branches/{slug}/members/{member_id}",
         {"reason": "testing"}, MANAGERS),
        ("add venue", "POST", f"/api/v1/branches/{slug}/venues", venue, MANAGERS),
        # Staff work the door; writing to every member is the leads' (issue 15).
        ("message members", "POST", f"/api/v1/branches/{slug}/messages",
         {"subject": "Hello", "body": "News", "to": "members"}, MANAGERS),
        ("list messages", "GET", "/api/v1/events/{meetup}/messages", None, MANAGERS),
        ("message the going", "POST", "/api/v1/events/{meetup}/messages",
         {"subject": "Hello", "body": "See you", "to": ["going"]}, MANAGERS),
    ]


def _headers(client, cast, role):
    return {} if role == "anonymous" else bearer(client, getattr(cast, role))


@pytest.mark.parametrize("role", ROLES)
def test_api_permission_matrix(client, cast, role):
    meetup = _meetup_with_a_member_going(cast)
    headers = _headers(client, cast, role)
    for name, method, url, body, allowed in _actions(cast):
        response = client.open(url.format(meetup=meetup.id), method=method, json=body,
                               headers=headers)
        if role == "anonymous":
            expected = {401}
        elif role in allowed:
            expected = {200, 201, 202, 204}
        else:
            expected = {403}
        assert response.status_code in expected, (role, name, response.text)


def _meetup_with_a_member_going(cast):
    from planner.core.extensions import db
    from planner.registrations import services as registrations
    from tests.test_notifications import START, schedule

    meetup = schedule(cast, START, capacity=5)
    registrations.rsvp(cast.member, meetup.id)
    db.session.commit()
    return meetup


def test_lead_of_one_branch_cannot_manage_another(client, cast):
    headers = bearer(client, cast.other_lead)
    slug = cast.branch.slug
    assert client.get(f"/api/v1/branches/{slug}/members", headers=headers).status_code == 403
    assert client.post(f"/api/v1/branches/{slug}/venues", headers=headers,
                       json={"name": "X", "address": "Y", "capacity": 5}).status_code == 403
    own = client.get(f"/api/v1/branches/{cast.other_branch.slug}/members", headers=headers)
    assert own.status_code == 200


@pytest.mark.parametrize("role", ROLES)
def test_permission_functions(app, cast, role):
    user = None if role == "anonymous" else getattr(cast, role)
    branch = cast.branch
    assert permissions.can_create_branch(user) is (role == "admin")
    assert permissions.can_appoint_lead(user, branch) is (role == "admin")
    assert permissions.can_manage_branch(user, branch) is (role in MANAGERS)
    assert permissions.can_manage_venues(user, branch) is (role in MANAGERS)
    assert permissions.can_view_audit_log(user, branch) is (role in MANAGERS)
    assert permissions.can_check_in_at(user, branch) is (role in {"staff", "lead", "admin"})
    door = SimpleNamespace(branch=branch)  # any meetup of the branch
    assert permissions.can_check_in(user, door) is (role in {"staff", "lead", "admin"})
    assert permissions.can_manage_invites(user, branch) is (role in MANAGERS)
    assert permissions.can_view_engagement(user, branch) is (role in MANAGERS)
    assert permissions.can_view_network(user) is (role == "admin")
    assert permissions.can_read_feedback(user, door) is (role in MANAGERS)
    assert permissions.can_feature_feedback(user, branch) is (role in MANAGERS)
    assert permissions.can_manage_meetup(user, door) is (role in MANAGERS)
    assert permissions.can_message_meetup(user, door) is (role in MANAGERS)
    assert permissions.can_message_branch(user, branch) is (role in MANAGERS)


@pytest.mark.parametrize("role", ROLES)
def test_feedback_permission_matrix(client, cast, role):
    """Leads read a meetup's feedback and feature comments; members (even the author), door
    staff, outsiders and other branches' leads do neither, through the API or the pages."""
    from planner.feedback import services as feedback
    from tests.test_feedback import held

    event = held(cast, [cast.member])
    given, _created = feedback.give(cast.member, event.id, feedback.FeedbackInput(
        5, "Quote me", may_quote=True))
    db.session.commit()
    headers = _headers(client, cast, role)
    read = client.get(f"/api/v1/events/{event.id}/feedback", headers=headers)
    feature = client.put(f"/api/v1/feedback/{given.id}/featured", json={"featured": True},
                         headers=headers)
    expected = 401 if role == "anonymous" else 200 if role in MANAGERS else 403
    assert (read.status_code, feature.status_code) == (expected, expected), role
    db.session.expire_all()
    assert (db.session.get(Feedback, given.id).featured_at is not None) is (role in MANAGERS)
    if role != "anonymous":
        login(client, getattr(cast, role))
    page = client.get(f"/events/{event.id}/feedback/all").status_code
    assert page == (302 if role == "anonymous" else 200 if role in MANAGERS else 403), role


@pytest.mark.parametrize("role", ROLES)
def test_html_manager_pages(client, cast, role):
    from tests.conftest import login

    if role != "anonymous":
        login(client, getattr(cast, role))
    slug = cast.branch.slug
    meetup = _meetup_with_a_member_going(cast)
    for url in (f"/branches/{slug}/members", f"/branches/{slug}/audit",
                f"/branches/{slug}/settings", f"/branches/{slug}/venues/new",
                f"/branches/{slug}/messages", f"/events/{meetup.id}/messages"):
        status = client.get(url).status_code
        if role == "anonymous":
            assert status == 302, url
        else:
            assert status == (200 if role in MANAGERS else 403), (role, url)
    new_branch = client.get("/branches/new").status_code
    assert new_branch == {"anonymous": 302, "admin": 200}.get(role, 403)


def test_a_page_reads_the_viewers_roles_once_whatever_it_shows(client, cast):
    """The branch page asks who may do what for every venue and meetup it lists."""
    login(client, cast.lead)
    add_meetups(cast, 6, first_day=1)
    with counted_queries() as statements:
        assert client.get("/branches/chengdu").status_code == 200
    role_reads = [s for s in statements if "FROM memberships" in s and "memberships.user_id" in s
                  and "memberships.branch_id =" not in s]
    assert len(role_reads) == 1, role_reads


def test_a_role_given_in_the_unit_of_work_counts_at_once(cast):
    assert not permissions.can_check_in_at(cast.member, cast.branch)  # roles now known
    set_role(cast.lead, cast.branch, cast.member.id, Role.STAFF)
    assert permissions.can_check_in_at(cast.member, cast.branch)
