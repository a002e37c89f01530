"""Production readiness: health probes, the database going away and coming back, request ids and
structured logs, security headers and the content security policy, API rate limits and Redis
failing open."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from flask import Flask
from sqlalchemy import func, make_url, select, text

from branches.models import Venue
from branches.services import VenueInput, save_venue
from planner import ROOT, create_app
from planner.core.extensions import db
from planner.events import services as events
from planner.events.models import EventStatus
from planner.funnel import services
from planner.funnel.models import Channel
from planner.ops.headers import CONTENT_SECURITY_POLICY
from planner.ops.health import probe_client
from planner.ops.logs import make_formatter
from tests.conftest import IsolatedClient, _test_config, login, skip_or_fail

DEAD_REDIS = "redis://127.0.0.1:1/0"
EN = {"Accept-Language": "en"}
UNAVAILABLE = ("The service is unavailable for a moment. Nothing was saved; please try again "
               "shortly.")


@pytest.fixture(params=["sqlite", "postgresql"])
def dead_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    """An app whose database cannot be reached: a PostgreSQL port where nothing listens, or a
    SQLite file in a folder that does not exist."""
    url = ("postgresql+psycopg://postgres@127.0.0.1:1/x" if request.param == "postgresql"
           else f"sqlite:///{tmp_path / 'missing' / 'juhui.sqlite3'}")
    app = create_app(_test_config(url), instance_path=str(tmp_path / "instance"))
    app.test_client_class = IsolatedClient
    yield app
    with app.app_context():
        db.engine.dispose()


# --- health probes -------------------------------------------------------------------------------

def test_healthz_answers_without_touching_the_database(dead_app):
    response = dead_app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_is_ok_when_the_database_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "failed": [], "checks": {"database": "ok"}}


def test_readyz_names_the_unreachable_database(dead_app):
    response = dead_app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "failed": ["database"],
                             "checks": {"database": "failed"}}


def test_readyz_names_the_unreachable_redis(make_app):
    response = make_app(REDIS_URL=DEAD_REDIS).test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "failed": ["redis"],
                             "checks": {"database": "ok", "redis": "failed"}}


def test_readyz_keeps_one_redis_connection_across_probes(make_app, redis_url):
    """Issue 18: a probe every few seconds must not open a new Redis connection each time.
    The server itself says how many connections the probe holds, and that it is the same one."""
    probed = make_app(REDIS_URL=redis_url)
    client = probed.test_client()
    server = redis.Redis.from_url(redis_url)

    def probe_connections() -> list[int]:
        assert client.get("/readyz").json["checks"]["redis"] == "ok"
        with probed.app_context():
            name = probe_client().connection_pool.connection_kwargs["client_name"]
        return [entry["id"] for entry in server.client_list() if entry["name"] == name]

    first = probe_connections()
    assert len(first) == 1
    assert all(probe_connections() == first for _ in range(4))


def test_probes_need_no_login_and_no_csrf_token(make_app):
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200


# --- the database is down ------------------------------------------------------------------------

def test_a_page_that_queries_answers_503_with_retry_after(dead_app):
    client = dead_app.test_client()
    page = client.get("/", headers=EN)
    assert page.status_code == 503
    assert page.headers["Retry-After"] == "30"
    assert page.mimetype == "text/html"
    assert "<h1>503</h1>" in page.text and UNAVAILABLE in page.text

    wants_json = client.get("/", headers=EN | {"Accept": "application/json"})
    assert wants_json.status_code == 503
    assert wants_json.headers["Retry-After"] == "30"
    assert wants_json.json == {"error": {"code": "service_unavailable", "message": UNAVAILABLE}}


def test_the_api_answers_503_json_even_for_a_token_it_cannot_check(dead_app):
    response = dead_app.test_client().get("/api/v1/me", headers=EN | {
        "Authorization": "Bearer some-token"})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert response.json["error"]["code"] == "service_unavailable"


def test_a_signed_in_member_gets_503_not_500(dead_app, client, make_user):
    """Loading the member from the session is the first query; the error page must not try again."""
    login(client, make_user())
    dead_client = dead_app.test_client()
    dead_client.set_cookie("session", client.get_cookie("session").value)
    response = dead_client.get("/profile", headers=EN)
    assert response.status_code == 503
    assert UNAVAILABLE in response.text
    assert "Log in" in response.text  # the page is drawn for nobody in particular


def lose_the_connection() -> None:
    """The database ends the session's connection. PostgreSQL: its backend is terminated from a
    second connection, as a restart or an administrator would. SQLite has no server to lose;
    the file's connection is closed under the session, which SQLAlchemy reads as a disconnect
    too."""
    if db.engine.dialect.name == "sqlite":
        db.session.connection().connection.dbapi_connection.close()
        return
    backend = db.session.scalar(text("SELECT pg_backend_pid()"))
    with db.engine.connect() as second:
        assert second.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})


@pytest.fixture
def after_the_write() -> list[Callable[[], None]]:
    """What the writing site's view does right after its write: nothing, unless a test says."""
    return []


@pytest.fixture
def writing_site(app: Flask, cast, after_the_write) -> Flask:
    """A route that adds a venue; the edge commits it once the view has returned."""
    branch_id = cast.branch.id

    @app.post("/add-a-venue")
    def add_a_venue():
        db.session.add(Venue(branch_id=branch_id, name="Half", address="x", capacity=5,
                             latitude=0, longitude=0))
        db.session.flush()
        for step in after_the_write:
            step()
        return "saved"

    return app


def venues() -> int:
    db.session.rollback()  # read what is committed now
    return db.session.scalar(select(func.count()).select_from(Venue)) or 0


def test_a_connection_lost_mid_request_rolls_everything_back(writing_site, after_the_write,
                                                            client):
    """The connection ends after a write, inside the view (its next statement fails): 503,
    nothing kept, and the next request is served on a new connection."""
    after_the_write.extend([lose_the_connection, lambda: db.session.execute(text("SELECT 1"))])
    response = client.post("/add-a-venue", headers=EN)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert venues() == 0
    assert client.get("/", headers=EN).status_code == 200


@pytest.mark.parametrize("accept", ["application/json", "text/html"])
def test_a_connection_lost_before_the_commit_answers_503_and_saves_nothing(writing_site, client,
                                                                          accept):
    """The view is done, then the connection ends: the edge's commit fails. A registered
    after-request hook runs before the edge's (Flask runs them last-registered first)."""
    def lose_the_connection_after_the_view(response):
        lose_the_connection()
        return response

    writing_site.after_request(lose_the_connection_after_the_view)
    response = client.post("/add-a-venue", headers=EN | {"Accept": accept})
    writing_site.after_request_funcs[None].remove(lose_the_connection_after_the_view)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    if accept == "application/json":
        assert response.json == {"error": {"code": "service_unavailable",
                                           "message": UNAVAILABLE}}
    else:
        assert response.mimetype == "text/html"
        assert "<h1>503</h1>" in response.text and UNAVAILABLE in response.text
    assert venues() == 0
    assert client.post("/add-a-venue", headers=EN).text == "saved"  # on a new connection
    assert venues() == 1


def test_a_connection_lost_before_the_teardown_keeps_the_answer(writing_site, client):
    """The edge has committed; a later hook reads (so the session holds a connection again)
    and the connection ends before the teardown, whose rollback then fails: that must stay
    inside Flask, and the answer and the saved venue stand."""
    def read_then_lose_the_connection(response):
        lose_the_connection()
        return response

    writing_site.after_request_funcs[None].insert(0, read_then_lose_the_connection)
    response = client.post("/add-a-venue", headers=EN)
    assert (response.status_code, response.text) == (200, "saved")
    assert venues() == 1
    assert client.get("/", headers=EN).status_code == 200


@dataclass
class Relay:
    """A TCP relay in front of PostgreSQL that a test unplugs (the server "goes down": listener
    and open connections closed) and plugs back in on the same port."""

    target: tuple[str, int]
    port: int = 0
    sockets: list[socket.socket] = field(default_factory=list)
    stopped: threading.Event = field(default_factory=threading.Event)

    def plug(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port))
        listener.settimeout(0.1)
        self.port = listener.getsockname()[1]
        self.sockets = [listener]
        self.stopped = threading.Event()
        threading.Thread(target=self._accept, args=(listener, self.stopped), daemon=True).start()

    def unplug(self) -> None:
        self.stopped.set()
        for sock in self.sockets:
            with contextlib.suppress(OSError):  # a listener, or a peer already gone
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket, stopped: threading.Event) -> None:
        while not stopped.is_set():
            try:
                client, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            client.settimeout(None)
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):  # unplugged
        while data := source.recv(65536):
            sink.sendall(data)


@dataclass
class Outage:
    url: str
    down: Callable[[], None]
    up: Callable[[], None]


@pytest.fixture
def outage(database_url: str, tmp_path: Path) -> Iterator[Outage]:
    """The test database behind a switch: a relay for PostgreSQL; for SQLite, a symlink to the
    database's folder that disappears (the file cannot be opened) and comes back."""
    if database_url.startswith("sqlite"):
        real_folder = Path(make_url(database_url).database).parent
        link = tmp_path / "database-folder"
        yield Outage(f"sqlite:///{link / Path(make_url(database_url).database).name}",
                     down=lambda: link.unlink(missing_ok=True),
                     up=lambda: link.symlink_to(real_folder, target_is_directory=True))
        return
    url = make_url(database_url)
    relay = Relay((url.host or "127.0.0.1", url.port or 5432))
    relay.plug()
    relayed = url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
    yield Outage(relayed, down=relay.unplug, up=relay.plug)
    relay.unplug()


def test_the_app_recovers_by_itself_when_the_database_returns(outage, make_app):
    client = make_app(SQLALCHEMY_DATABASE_URI=outage.url).test_client()
    outage.down()
    assert client.get("/", headers=EN).status_code == 503
    assert client.get("/readyz").status_code == 503
    outage.up()
    assert client.get("/", headers=EN).status_code == 200
    assert client.get("/readyz").status_code == 200


@pytest.mark.postgres_only
def test_postgresql_sessions_run_without_jit(app):
    """JIT made the first funnel query 650 ms instead of 95 ms (bench/bench_network.py)."""
    assert db.session.scalar(text("SELECT current_setting('jit')")) == "off"


@pytest.mark.postgres_only
def test_pooled_connections_broken_by_a_restart_are_replaced(outage, make_app):
    """pool_pre_ping: after the server comes back, no request fails on a dead pooled connection."""
    client = make_app(SQLALCHEMY_DATABASE_URI=outage.url).test_client()
    assert client.get("/", headers=EN).status_code == 200
    outage.down()
    assert client.get("/", headers=EN).status_code == 503
    outage.up()
    assert [client.get("/", headers=EN).status_code for _ in range(3)] == [200, 200, 200]


# --- request ids and logs ------------------------------------------------------------------------

def access_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "planner.access"]


def test_a_sane_incoming_request_id_is_kept_and_on_every_record(app, client, caplog):
    @app.get("/say-something")
    def say_something():
        logging.getLogger("branches.somewhere").warning("something happened")
        return "ok"

    caplog.set_level(logging.INFO)
    response = client.get("/say-something", headers={"X-Request-ID": "edge-4f2a:1"})
    assert response.headers["X-Request-ID"] == "edge-4f2a:1"
    [said] = [r for r in caplog.records if r.name == "branches.somewhere"]
    [access] = access_records(caplog)
    assert said.request_id == access.request_id == "edge-4f2a:1"


@pytest.mark.parametrize("incoming", [None, "", "has space", "<script>", "x" * 129, "a\u00e9"])
def test_a_missing_or_odd_request_id_is_replaced_by_a_random_one(client, caplog, incoming):
    caplog.set_level(logging.INFO)
    headers = {} if incoming is None else {"X-Request-ID": incoming}
    first = client.get("/healthz", headers=headers).headers["X-Request-ID"]
    second = client.get("/healthz", headers=headers).headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first) and re.fullmatch(r"[0-9a-f]{32}", second)
    assert first != second
    assert [r.request_id for r in access_records(caplog)] == [first, second]


def test_one_access_line_per_request_in_json_or_text(client, caplog):
    caplog.set_level(logging.INFO)
    client.get("/healthz", headers={"X-Request-ID": "req-1"})
    client.post("/nowhere", headers={"X-Request-ID": "req-2"})
    first, second = access_records(caplog)

    line = json.loads(make_formatter("json").format(second))
    assert isinstance(line.pop("duration_ms"), float)
    assert line.pop("time").endswith("+00:00")
    assert line == {"level": "INFO", "logger": "planner.access", "message": line["message"],
                    "method": "POST", "path": "/nowhere", "status": 404, "request_id": "req-2"}
    assert re.fullmatch(r"POST /nowhere 404 \d+\.\dms", line["message"])

    readable = make_formatter("text").format(first)
    assert re.search(r" INFO planner\.access \[req-1\] GET /healthz 200 \d+\.\dms$", readable)


def test_a_fresh_process_with_log_format_json_writes_json_lines(tmp_path):
    """The handler set up by create_app itself (no test runner in the way), as under gunicorn."""
    script = ("from planner import create_app\n"
              "create_app().test_client().get('/healthz', headers={'X-Request-ID': 'probe-7'})\n")
    env = os.environ | {"LOG_FORMAT": "json", "SECRET_KEY": "x", "PUBLIC_URL": "https://juhui.example",
                        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    env.pop("REDIS_URL", None)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60, check=True)
    [line] = [json.loads(text_line) for text_line in done.stderr.splitlines()]
    assert {key: line[key] for key in ("logger", "method", "path", "status", "request_id")} == {
        "logger": "planner.access", "method": "GET", "path": "/healthz", "status": 200,
        "request_id": "probe-7"}


# --- security headers and the content security policy --------------------------------------------

INLINE_CODE = {
    # <script type="application/json"> holds data, which the policy does not block.
    "inline <script>": re.compile(r"<script(?![^>]*\s(?:src=|type=\"application/json\"))[^>]*>",
                                  re.IGNORECASE),
    "<style> block": re.compile(r"<style[\s>]", re.IGNORECASE),
    "style= attribute": re.compile(r"\sstyle\s*=", re.IGNORECASE),
    "event handler attribute": re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE),
    "javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
}


def inline_code(html: str) -> list[str]:
    return [name for name, pattern in INLINE_CODE.items() if pattern.search(html)]


def assert_security_headers(response) -> None:
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in response.headers  # plain http


def test_the_policy_allows_no_inline_script_or_style():
    directives = dict(d.split(" ", 1) for d in CONTENT_SECURITY_POLICY.split("; "))
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"


def test_main_pages_have_no_inline_code_and_send_the_headers(client, cast):
    hall = save_venue(cast.lead, cast.branch, VenueInput("Hall", "1 Road", 40))
    start = datetime.now(UTC).replace(tzinfo=None, microsecond=0) + timedelta(days=30)
    [meetup] = events.schedule(cast.lead, cast.branch, events.EventInput(
        title="Board games", starts_local=start, ends_local=start + timedelta(hours=2),
        venue_id=hall.id, status=EventStatus.PUBLISHED))
    meetup_id = meetup.id
    pages = ["/", "/branches", f"/branches/{cast.branch.slug}", f"/events/{meetup_id}", "/login"]
    for path in pages:
        response = client.get(path, headers=EN)
        assert response.status_code == 200, path
        assert inline_code(response.text) == [], path
        assert_security_headers(response)
    login(client, cast.member)
    for path in [*pages[:4], "/profile"]:
        response = client.get(path, headers=EN)
        assert response.status_code == 200, path
        assert inline_code(response.text) == [], path
        assert_security_headers(response)
    client.post("/logout")
    login(client, cast.staff)
    for path in (f"/events/{meetup_id}/door", f"/events/{meetup_id}/checkin-list"):
        response = client.get(path, headers=EN)
        assert response.status_code == 200, path
        assert inline_code(response.text) == [], path
        assert_security_headers(response)


def test_error_pages_json_and_static_files_send_the_headers(client):
    for response in (client.get("/no-such-page"), client.get("/api/v1/me"),
                     client.get("/static/css/site.css")):
        assert_security_headers(response)
        response.close()


def test_no_template_has_inline_code():
    """What the policy would block: every script and style lives in static/js and static/css."""
    offenders = {str(path.relative_to(ROOT)): found
                 for path in sorted((ROOT / "templates").rglob("*.html"))
                 if (found := inline_code(path.read_text(encoding="utf-8")))}
    assert offenders == {}


def test_strict_transport_security_only_over_https(client, make_app):
    assert "Strict-Transport-Security" not in client.get("/healthz").headers
    secure = client.get("/healthz", base_url="https://juhui.example")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
    # Behind the proxy, its X-Forwarded-Proto counts only with PROXY_FIX=1.
    forwarded = {"X-Forwarded-Proto": "https"}
    assert "Strict-Transport-Security" not in client.get("/healthz", headers=forwarded).headers
    behind_proxy = make_app(PROXY_FIX=True).test_client()
    proxied = behind_proxy.get("/healthz", headers=forwarded)
    assert proxied.headers["Strict-Transport-Security"] == "max-age=31536000"


# --- API rate limits and Redis failing open ------------------------------------------------------

def test_the_api_has_one_budget_per_client(make_app):
    app = make_app(RATELIMIT_ENABLED=True, API_RATE_LIMIT="3 per minute")
    client, neighbour = app.test_client(), app.test_client()
    neighbour.environ_base["REMOTE_ADDR"] = "127.0.0.2"
    statuses = [client.get(path, headers=EN).status_code
                for path in ("/api/v1/branches/nowhere", "/api/v1/me", "/api/v1/branches/nowhere",
                             "/api/v1/me")]
    assert statuses == [404, 401, 404, 429]
    limited = client.get("/api/v1/branches/nowhere", headers=EN)
    assert limited.status_code == 429
    assert limited.json["error"]["code"] == "too_many_requests"
    assert int(limited.headers["Retry-After"]) > 0
    assert neighbour.get("/api/v1/me").status_code == 401
    # The HTML site and the probes have no such budget.
    assert client.get("/", headers=EN).status_code == 200
    assert client.get("/healthz").status_code == 200


def test_the_site_keeps_serving_when_redis_is_down(make_app, monkeypatch, caplog):
    """Fail open: limits are counted in this process's memory until Redis answers again."""
    monkeypatch.setenv("REDIS_URL", DEAD_REDIS)
    app = make_app(RATELIMIT_ENABLED=True, API_RATE_LIMIT="2 per minute")
    assert app.config["RATELIMIT_STORAGE_URI"] == DEAD_REDIS
    client = app.test_client()
    assert client.get("/", headers=EN).status_code == 200
    assert client.post("/login", data={"email": "a@example.com", "password": "wrong pw"},
                       headers=EN).status_code == 200
    statuses = [client.get("/api/v1/me").status_code for _ in range(3)]
    assert statuses == [401, 401, 429]
    assert "falling back to in-memory storage" in caplog.text
    assert client.get("/readyz").json["failed"] == ["redis"]


@pytest.fixture
def redis_url() -> str:
    """A real Redis to count limits in (TEST_REDIS_URL, default the local one's database 15),
    emptied first."""
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).flushdb()
    except redis.RedisError:
        skip_or_fail(f"Redis run skipped: nothing answers at {url} (set TEST_REDIS_URL)")
    return url


def test_invite_and_referral_links_share_one_budget_across_app_servers(make_app, cast,
                                                                       redis_url, monkeypatch):
    """Two app servers counting in one Redis: a client's hits on /i/ and /r/ links add up,
    whichever server answers; another client has its own budget."""
    monkeypatch.setenv("REDIS_URL", redis_url)
    link = services.create_link(cast.lead, cast.branch, "WeChat group", Channel.CHAT_GROUP)
    referral = f"/r/{services.referral_code(cast.member)}"
    db.session.commit()
    one, two = (make_app(RATELIMIT_ENABLED=True, INVITE_RATE_LIMIT="3 per minute")
                for _ in range(2))
    assert one.config["RATELIMIT_STORAGE_URI"] == redis_url
    first, second = one.test_client(), two.test_client()
    statuses = [first.get(f"/i/{link.code}").status_code, second.get(referral).status_code,
                second.get(f"/i/{link.code}").status_code, first.get(referral).status_code]
    assert statuses == [302, 302, 302, 429]
    neighbour = two.test_client()
    neighbour.environ_base["REMOTE_ADDR"] = "127.0.0.2"
    assert neighbour.get(f"/i/{link.code}").status_code == 302
    # Pages and the API keep their own budgets.
    assert first.get("/", headers=EN).status_code == 200
