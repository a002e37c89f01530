"""The commands in API.md: create-admin and demo."""

from __future__ import annotations

from sqlalchemy import func, select

from branches.models import Branch
from planner.accounts.models import User
from planner.accounts.passwords import verify_password
from planner.accounts.services import find_user_by_email
from planner.checkin.models import CheckinScan
from planner.core.extensions import db
from planner.events.models import Event
from planner.funnel.models import InviteLink, InviteVisit
from planner.registrations.models import Registration
from tests.conftest import PASSWORD

NEW_PASSWORD = "quiet lantern orchard"


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_create_admin_creates_then_promotes(runner, make_user):
    result = runner.invoke(args=["create-admin", "Boss@Example.com", "--password", PASSWORD])
    assert result.exit_code == 0, result.output
    db.session.rollback()  # what the command committed, not what its session still holds
    boss = find_user_by_email("boss@example.com")
    assert boss.is_admin and verify_password(boss.password_hash, PASSWORD)
    make_user(email="later@example.com")
    result = runner.invoke(args=["create-admin", "later@example.com", "--password", NEW_PASSWORD])
    assert "now a network admin" in result.output
    db.session.rollback()
    later = find_user_by_email("later@example.com")
    assert later.is_admin and verify_password(later.password_hash, NEW_PASSWORD)


def test_create_admin_refuses_a_short_or_weak_password(runner, make_user):
    for weak in ("short", "password123", "boss@example.com"):
        result = runner.invoke(args=["create-admin", "boss@example.com", "--password", weak])
        assert result.exit_code != 0, weak
        assert "--password" in result.output, weak
        assert find_user_by_email("boss@example.com") is None
    make_user(email="later@example.com")
    result = runner.invoke(args=["create-admin", "later@example.com", "--password", "qwerty12"])
    assert "too easy to guess" in result.output
    db.session.rollback()
    later = find_user_by_email("later@example.com")
    assert not later.is_admin and verify_password(later.password_hash, PASSWORD)


def test_demo_loads_a_network_once(runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "admin@juhui.example" in result.output and "password" in result.output
    slugs = set(db.session.scalars(select(Branch.slug)))
    assert {"beijing", "shanghai", "chengdu", "hangzhou"} <= slugs
    assert count(Event) >= 8 and count(Registration) >= 5
    checked_in = db.session.scalar(select(func.count()).select_from(Registration).where(
        Registration.checked_in_at.is_not(None)))
    assert checked_in >= 2 and count(CheckinScan) == checked_in
    assert count(InviteLink) == 2 and count(InviteVisit) == 17
    assert db.session.scalar(select(func.count()).select_from(Registration).where(
        Registration.invite_link_id.is_not(None))) == 3
    users = count(User)
    again = runner.invoke(args=["demo"])
    assert "already has data" in again.output
    assert count(User) == users
