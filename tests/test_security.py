"""Security by default: every route is authenticated unless deliberately
public, CSRF on every form, contact data escaped, no open redirect, first-run
setup guarded by the console token."""
from __future__ import annotations

import re

import pytest

from core import auth, contacts
from core.plugins import lifecycle

from .conftest import ADMIN_EMAIL, install_fixture_plugin, login

#: endpoints reachable without a session or API key, each on purpose
PUBLIC_ENDPOINTS = {"auth.login", "auth.setup", "auth.home", "rest.index", "rest.openapi"}
# Each feature adds its reviewed public endpoints on its own line below.
PUBLIC_ENDPOINTS |= {"email.open", "email.click", "email.view", "email.unsubscribe", "email.one_click", "email.inbound", "email.image"}  # email
PUBLIC_ENDPOINTS |= {"tracking_public.hit", "tracking_public.script_latest", "tracking_public.script", "tracking_public.asset"}  # tracking
PUBLIC_ENDPOINTS |= {"forms.hosted", "forms.submit", "forms.definition", "forms.embed_js", "forms.stylesheet", "forms.confirm"}  # forms
PUBLIC_ENDPOINTS |= {"gdpr_public.request_copy", "gdpr_public.export_page", "gdpr_public.export_download", "gdpr_public.preferences"}  # gdpr
PUBLIC_ENDPOINTS |= {"sms_hooks.inbound", "sms_hooks.status"}  # sms: gateway webhooks, checked by X-Twilio-Signature
PUBLIC_ENDPOINTS |= {"favicon.ico", "favicon.svg"}  # site icon
PUBLIC_ENDPOINTS |= {"couvee_fixture_fast.ping"}  # the test plugin's fast endpoint (core.FastEndpoint: public by design)


def _url(rule) -> str:
    values = {}
    for argument in rule.arguments:
        converter = rule._converters[argument].__class__.__name__
        values[argument] = 1 if converter in ("IntegerConverter",) else "x"
    url = rule.rule
    for name, value in values.items():
        url = re.sub(r"<(?:[^:>]+:)?%s>" % name, str(value), url)
    return url


@pytest.fixture
def everything_active(wsgi, instance, ctx):
    install_fixture_plugin(instance)
    wsgi.runtime.state.stale = True
    wsgi.runtime.refresh()
    lifecycle.activate(wsgi.app.extensions["couvee"], "couvee_fixture")
    wsgi.runtime.refresh()
    auth.create_user(ADMIN_EMAIL, "x" * 12, role="admin")  # past the first-run setup
    return wsgi.app


def test_every_route_requires_authentication(everything_active, web):
    app = everything_active
    public = set()
    checked = 0
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue  # static assets (CSS, JS, icons) are public by design, core's and plugins' alike
        if getattr(view, "_couvee_public", False):
            public.add(rule.endpoint)
            continue
        url = _url(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = web.request(url, method=method, expect_errors=True)
            checked += 1
            if url.startswith("/api/") or getattr(view, "_couvee_api_key", False):
                assert response.status_int == 401, (method, url, response.status)
            elif method == "GET":
                assert response.status_int == 302 and "/admin/login" in response.location, (method, url)
            else:  # refused before the view runs: CSRF first, then login
                assert response.status_int in (400, 302), (method, url, response.status)
    assert public == PUBLIC_ENDPOINTS, "a new public endpoint must be reviewed and added here"
    assert checked > 30


def test_forms_without_csrf_token_are_refused(admin, ctx):
    contact = contacts.create_contact({"email": "victim@example.com"})
    response = admin.post(f"/admin/contacts/{contact.id}/delete", expect_errors=True)
    assert response.status_int == 400
    assert "form expired" in response.text
    response = admin.post(f"/admin/contacts/{contact.id}/delete", {"csrf_token": "forged"}, expect_errors=True)
    assert response.status_int == 400


def test_contact_supplied_data_is_escaped_in_the_admin(admin, ctx):
    hostile = '"><script>alert(1)</script>'
    contact = contacts.create_contact({"email": "x@example.com", "first_name": hostile, "last_name": hostile})
    contacts.add_tag(contact, hostile)
    for url in ("/admin/contacts", f"/admin/contacts/{contact.id}", f"/admin/contacts/{contact.id}/edit",
                "/admin/contacts?q=%3Cscript%3E"):
        page = admin.get(url)
        assert "<script>alert(1)</script>" not in page.text, url
    assert "&lt;script&gt;" in admin.get(f"/admin/contacts/{contact.id}").text


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"])
def test_login_never_redirects_off_site(web, admin_user, target):
    page = web.get("/admin/login", params={"next": target})
    page.form["email"] = ADMIN_EMAIL
    page.form["password"] = "correct horse battery"
    response = web.post(f"/admin/login?next={target}", {"email": ADMIN_EMAIL, "password": "correct horse battery",
                                                         "csrf_token": page.form["csrf_token"].value})
    assert response.location.endswith("/admin/")


def test_login_keeps_a_local_next(web, admin_user):
    page = web.get("/admin/contacts").follow()
    page.form["email"] = ADMIN_EMAIL
    page.form["password"] = "correct horse battery"
    assert page.form.submit().location.endswith("/admin/contacts")


def test_wrong_password_and_throttling(web, admin_user):
    for _ in range(10):
        page = web.get("/admin/login")
        page.form["email"] = ADMIN_EMAIL
        page.form["password"] = "wrong password!"
        response = page.form.submit(expect_errors=True)
        assert response.status_int == 401
    page = web.get("/admin/login")
    page.form["email"] = ADMIN_EMAIL
    page.form["password"] = "correct horse battery"
    assert "Too many failed attempts" in page.form.submit(expect_errors=True).text


def test_first_visit_creates_the_admin_only_with_the_console_token(web, instance):
    page = web.get("/admin/").follow()
    assert "setup token" in page.text
    token = (instance / "setup_token").read_text()
    page.form["token"] = "guess"
    page.form["email"] = "owner@example.com"
    page.form["password"] = page.form["password_confirm"] = "long enough password"
    refused = page.form.submit(expect_errors=True)
    assert refused.status_int == 400 and "setup token is wrong" in refused.text
    refused.form["token"] = token
    refused.form["password"] = refused.form["password_confirm"] = "long enough password"
    dashboard = refused.form.submit().follow()
    assert "Dashboard" in dashboard.text
    assert not (instance / "setup_token").exists()
    assert web.get("/admin/setup").status_int == 302  # no second administrator by this door


def test_session_cookie_is_httponly_and_samesite(web, admin_user):
    login(web)
    cookie = [c for c in web.cookiejar if c.name == "couvee_session"][0]
    assert cookie.has_nonstandard_attr("HttpOnly")


def test_admin_pages_send_protective_headers(admin):
    response = admin.get("/admin/")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
