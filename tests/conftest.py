"""Fixtures: an app on a real database (SQLite file, and PostgreSQL when TEST_DATABASE_URL is set),
clients, a CLI runner, people in roles, and a live server for concurrency and browser tests."""

from __future__ import annotations

import contextvars
import hashlib
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, has_app_context
from flask.testing import FlaskClient
from hypothesis import Phase, settings
from sqlalchemy import create_engine, text
from werkzeug.serving import make_server
from werkzeug.test import TestResponse

from branches.models import Branch, JoinPolicy, Role
from branches.services import BranchInput, create_branch, join_branch, set_role
from planner import create_app
from planner.accounts.models import User
from planner.core.extensions import db
from planner.core.timeutil import utcnow
from planner.events.localtime import utc_to_local
from tests.mail_server import Inbox, smtp_inbox

REQUIRE_ALL = os.environ.get("JUHUI_REQUIRE_ALL_TESTS") == "1"

# Under mutmut (docs/quality.md), which sets MUTANT_UNDER_TEST: the same examples on every run,
# so a mutant's verdict can be reproduced, and no shrinking, which only makes a failure (a kill)
# readable and can take minutes per mutant.
settings.register_profile("mutation", derandomize=True, database=None,
                          phases=[Phase.explicit, Phase.reuse, Phase.generate])
if "MUTANT_UNDER_TEST" in os.environ:
    settings.load_profile("mutation")


def skip_or_fail(reason: str) -> None:
    """Skip with a clear reason on a newcomer's machine; fail in CI where nothing may be skipped."""
    if REQUIRE_ALL:
        pytest.fail(f"{reason} (JUHUI_REQUIRE_ALL_TESTS=1 forbids skipping)")
    pytest.skip(reason)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test marked postgres_only exercises a PostgreSQL feature (SKIP LOCKED, exclusion
    constraints): its SQLite variant is deselected rather than skipped, as it has no meaning."""
    keep, drop = [], []
    for item in items:
        params = getattr(item, "callspec", None) and item.callspec.params
        on_sqlite = bool(params) and params.get("database_url") == "sqlite"
        (drop if on_sqlite and item.get_closest_marker("postgres_only") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _migrate(url: str, instance: Path) -> None:
    from flask_migrate import upgrade

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    app = create_app(_test_config(url), instance_path=str(instance))
    try:
        with app.app_context():
            upgrade()
            db.engine.dispose()
    finally:
        # migrations/env.py's fileConfig puts a handler on the root logger bound to this
        # session's captured stderr; a later session in the same process (mutmut runs one per
        # mutant) would log into that closed stream.
        root.handlers[:] = handlers
        root.setLevel(level)


def _test_config(url: str) -> dict[str, object]:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": url,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "PASSWORD_HASH_PROFILE": "CHEAPEST",
        # The test client's own host, so links read naturally; tests of a forged Host send
        # another one and expect this.
        "PUBLIC_URL": "http://localhost",
    }


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database, once per backend per test session."""
    instance = tmp_path_factory.mktemp("instance")
    if request.param == "sqlite":
        database = instance / "test.sqlite3"
        _copy_sqlite(_migrated_sqlite(request.config.cache.mkdir("migrated-sqlite")), database)
        return f"sqlite:///{database}"
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url:
        skip_or_fail("PostgreSQL run skipped: set TEST_DATABASE_URL to a PostgreSQL database")
    _reset_postgres(url)
    _migrate(url, instance)
    return url


MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def _migrated_sqlite(cache: Path) -> Path:
    """A SQLite file migrated to head, built once per version of migrations/ and copied into
    each test session: migrating takes seconds, which mutation testing (docs/quality.md) would
    pay again for every mutant. Built under a temporary name, so a parallel run never copies
    a half-built file."""
    files = sorted(p for p in MIGRATIONS.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(MIGRATIONS)).encode() + b"\0" + path.read_bytes())
    built = cache / f"{digest.hexdigest()[:16]}.sqlite3"
    if not built.exists():
        building = cache / f"{built.stem}.{os.getpid()}.building"
        _migrate(f"sqlite:///{building}", cache)
        os.replace(building, built)
    return built


def _copy_sqlite(source: Path, target: Path) -> None:
    with closing(sqlite3.connect(source)) as origin, closing(sqlite3.connect(target)) as copy:
        origin.backup(copy)


def _empty_all_tables() -> None:
    tables = list(reversed(db.metadata.sorted_tables))
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in tables)
        db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(table.delete())
    db.session.commit()


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = create_app(_test_config(database_url), instance_path=str(tmp_path))
    # Services called straight from tests speak English, like the test client.
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield app
        db.session.remove()
        _empty_all_tables()
        db.engine.dispose()


class IsolatedClient(FlaskClient):
    """Each request runs as in production: in its own app context, with its own `g` and database
    session, not inside the test's context. The test's session ends its transaction first, so
    it never holds SQLite's write lock while a request wants it."""

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:  # type: ignore[override]
        if has_app_context():  # not when following a redirect inside an isolated request
            db.session.commit()
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture
def make_app(database_url: str, tmp_path: Path):
    """Another app on the same database with some settings changed; its engine is disposed."""
    made: list[Flask] = []

    def make(**overrides: Any) -> Flask:
        other = create_app(_test_config(database_url) | overrides, instance_path=str(tmp_path))
        other.test_client_class = IsolatedClient
        made.append(other)
        return other

    yield make
    for other in made:
        with other.app_context():
            db.engine.dispose()


@pytest.fixture
def smtp(app: Flask) -> Iterator[Inbox]:
    """A real SMTP server on a free local port; MAIL_URL points at it."""
    with smtp_inbox(app) as inbox:
        yield inbox


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A browser that prefers English, so assertions read naturally; tests of Chinese say so."""
    app.test_client_class = IsolatedClient
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """`app` served by a real threaded HTTP server on 127.0.0.1 (a random free port)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["PUBLIC_URL"] = url  # links the site builds lead back to where it is served
    try:
        yield url
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The test's app served by a real threaded HTTP server."""
    with serving(app) as url:
        yield url


# Strong enough for the sign-up rule (zxcvbn score 4; planner/accounts/passwords.py): every
# fixture signs up through it.
PASSWORD = "correct horse battery"


@pytest.fixture
def make_user(app: Flask):
    from planner.accounts.services import Profile, sign_up

    numbers = iter(range(1, 10_000))

    def make(name: str = "Member", *, email: str | None = None, admin: bool = False,
             locale: str = "en") -> User:
        email = email or f"user{next(numbers)}@example.com"
        user = sign_up(email, PASSWORD, Profile(name, None, locale, "Asia/Shanghai"),
                       is_admin=admin)
        db.session.commit()  # the test is the edge: sign-up only flushes
        return user

    return make


@pytest.fixture
def admin(make_user) -> User:
    return make_user("Admin", email="admin@example.com", admin=True)


def make_branch(admin: User, slug: str, city: str, policy: JoinPolicy = JoinPolicy.OPEN) -> Branch:
    """A committed branch (the test is the edge here: services only flush), so live servers
    and other connections see it."""
    branch = create_branch(admin, BranchInput(name=f"{city} branch", city=city, slug=slug,
                                              join_policy=policy))
    db.session.commit()
    return branch


@dataclass
class Cast:
    """One branch and a person in every role, plus a lead of another branch."""

    branch: Branch
    other_branch: Branch
    admin: User
    lead: User
    staff: User
    member: User
    outsider: User
    other_lead: User


@pytest.fixture
def cast(admin: User, make_user) -> Cast:
    branch = make_branch(admin, "chengdu", "成都")
    other = make_branch(admin, "beijing", "北京")
    lead, staff, member = make_user("Lead Li"), make_user("Staff Sun"), make_user("Member Ma")
    outsider, other_lead = make_user("Outsider Ou"), make_user("Other Lead")
    set_role(admin, branch, lead.id, Role.LEAD)
    set_role(admin, other, other_lead.id, Role.LEAD)
    for person in (staff, member):
        join_branch(person, branch)
    set_role(lead, branch, staff.id, Role.STAFF)
    db.session.commit()  # the test is the edge: live servers and other connections see the cast
    return Cast(branch, other, admin, lead, staff, member, outsider, other_lead)


def door_open(branch: Branch, hours: float = 2) -> tuple[datetime, datetime]:
    """Branch-local start and end of a meetup starting within the hour, so its door is open
    (CHECKIN_OPENS_BEFORE): for tests that check people in now."""
    start = utc_to_local(utcnow() + timedelta(hours=1), branch.timezone)
    start = start.replace(tzinfo=None, minute=0, second=0, microsecond=0)
    return start, start + timedelta(hours=hours)


def login(client: FlaskClient, user: User) -> None:
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.text


def bearer(client: FlaskClient, user: User) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json['token']}"}
