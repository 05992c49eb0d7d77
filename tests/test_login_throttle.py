"""Login throttling keys on the normalised address and on the client IP
(issue 15 item 4: a trailing space used to buy ten more guesses)."""
from __future__ import annotations

import pytest

from .conftest import ADMIN_EMAIL, ADMIN_PASSWORD


def _try(web, email, password, ip="192.0.2.1"):
    page = web.get("/admin/login", extra_environ={"REMOTE_ADDR": ip})
    page.form["email"] = email
    page.form["password"] = password
    return page.form.submit(expect_errors=True, extra_environ={"REMOTE_ADDR": ip})


def _fail_ten_times(web, ip="192.0.2.1"):
    for _ in range(10):
        assert _try(web, ADMIN_EMAIL, "wrong password!", ip).status_int == 401


def test_a_respelled_address_does_not_escape_the_lockout(web, admin_user):
    _fail_ten_times(web)
    for spelling in (ADMIN_EMAIL + " ", "  " + ADMIN_EMAIL.upper(), ADMIN_EMAIL + "\t"):
        response = _try(web, spelling, ADMIN_PASSWORD)
        assert response.status_int == 401
        assert "Too many failed attempts" in response.text


def test_the_address_stays_locked_from_another_ip(web, admin_user):
    _fail_ten_times(web, ip="192.0.2.1")
    response = _try(web, ADMIN_EMAIL, ADMIN_PASSWORD, ip="198.51.100.7")
    assert "Too many failed attempts" in response.text


def test_one_ip_guessing_many_addresses_is_throttled(web, admin_user):
    for number in range(30):
        assert _try(web, f"someone{number}@example.com", "wrong password!").status_int == 401
    locked = _try(web, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert "Too many failed attempts" in locked.text
    # another client is not affected by that IP's guesses
    assert _try(web, ADMIN_EMAIL, ADMIN_PASSWORD, ip="198.51.100.7").status_int == 302


def test_a_padded_address_logs_in_when_not_locked(web, admin_user):
    response = _try(web, "  " + ADMIN_EMAIL.upper() + " ", ADMIN_PASSWORD)
    assert response.status_int == 302


# -- behind a reverse proxy (COUVEE_TRUSTED_PROXIES) ---------------------------

PROXY = "10.0.0.2"


@pytest.fixture
def proxied_web(config):
    """The app as deployed behind one reverse proxy: every request comes from
    the proxy's address and names the client in X-Forwarded-For."""
    from webtest import TestApp

    from core.app import create_app
    from core.runtime import WSGIApp

    app = create_app({**config, "trusted_proxies": 1})
    with app.app_context(), app.extensions["couvee"].database_connection():
        from core import auth

        auth.create_user(ADMIN_EMAIL, ADMIN_PASSWORD, role="admin", name="Owner")
    return TestApp(WSGIApp(app=app))


def _via_proxy(web, email, password, client):
    environ = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": client}
    page = web.get("/admin/login", extra_environ=environ)
    page.form["email"] = email
    page.form["password"] = password
    return page.form.submit(expect_errors=True, extra_environ=environ)


def test_behind_a_trusted_proxy_one_guessing_client_locks_only_itself(proxied_web):
    for number in range(30):
        assert _via_proxy(proxied_web, f"someone{number}@example.com", "wrong!", "203.0.113.9").status_int == 401
    assert "Too many failed attempts" in _via_proxy(proxied_web, ADMIN_EMAIL, ADMIN_PASSWORD, "203.0.113.9").text
    # the colleague behind the same proxy still logs in
    assert _via_proxy(proxied_web, ADMIN_EMAIL, ADMIN_PASSWORD, "198.51.100.20").status_int == 302


def test_behind_a_trusted_proxy_only_the_last_hop_is_believed(proxied_web):
    """A client prepending its own X-Forwarded-For entries cannot escape: the
    proxy appends the real address, and only that one (1 hop) is believed."""
    for number in range(30):
        spoofed = f"192.0.2.{number}, 203.0.113.9"
        assert _via_proxy(proxied_web, f"someone{number}@example.com", "wrong!", spoofed).status_int == 401
    locked = _via_proxy(proxied_web, ADMIN_EMAIL, ADMIN_PASSWORD, "192.0.2.200, 203.0.113.9")
    assert "Too many failed attempts" in locked.text


def test_without_the_setting_x_forwarded_for_is_ignored(web, admin_user):
    """By default the header is the client's word: a guesser cannot rotate it
    to escape the per-IP limit."""
    for number in range(30):
        environ = {"REMOTE_ADDR": "192.0.2.1", "HTTP_X_FORWARDED_FOR": f"198.51.100.{number}"}
        page = web.get("/admin/login", extra_environ=environ)
        page.form["email"] = f"someone{number}@example.com"
        page.form["password"] = "wrong!"
        assert page.form.submit(expect_errors=True, extra_environ=environ).status_int == 401
    assert "Too many failed attempts" in _try(web, ADMIN_EMAIL, ADMIN_PASSWORD).text


def test_trusted_proxies_setting_is_validated(tmp_path):
    from core.config import load_config
    from core.db import ConfigError

    environ = {"COUVEE_INSTANCE": str(tmp_path), "COUVEE_SECRET_KEY": "x" * 20}
    assert load_config(environ=environ).trusted_proxies == 0
    assert load_config(environ={**environ, "COUVEE_TRUSTED_PROXIES": "2"}).trusted_proxies == 2
    with pytest.raises(ConfigError, match="COUVEE_TRUSTED_PROXIES"):
        load_config(environ={**environ, "COUVEE_TRUSTED_PROXIES": "yes"})
