"""Login throttling keys on the normalised address and on the client IP
(issue 15 item 4: a trailing space used to buy ten more guesses)."""
from __future__ import annotations

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
