"""The snippet in headless Chromium, embedded by a page on another origin as an
integrator would: nothing stored or sent before consent; a page view after
consent; SPA navigation; identify turns the visitor into a contact with its
earlier visits."""
from __future__ import annotations

import time

import pytest

from core import contacts
from plugins.tracking import script
from plugins.tracking.identify import identify_hash
from plugins.tracking.models import Hit, Visitor

from .tracking_helpers import BROWSER, drain_now, make_site, stream_length

PAGE = """<!doctype html><html><head><title>Integrator page</title>
{snippet}
</head><body><h1>Hello</h1><a id="next" href="#">next</a></body></html>"""


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.fixture
def browser_page(chromium):
    context = chromium.new_context(user_agent=BROWSER)  # HeadlessChrome is dropped as a bot
    page = context.new_page()
    yield page
    context.close()


def test_consent_gate_page_views_and_identify(live_server, static_site, browser_page, ctx):
    app = live_server.wsgi.app
    integrator = static_site({"index.html": ""})
    site = make_site(app, allowed_origins=[integrator.url], require_consent=True)
    with app.app_context():
        snippet = script.snippet(site)
    (integrator.root / "index.html").write_text(PAGE.format(snippet=snippet))
    hits_sent = []
    page = browser_page
    page.on("request", lambda request: hits_sent.append(request) if request.url.endswith("/t/hit") else None)
    page.on("pageerror", lambda error: pytest.fail(f"the script threw into the page: {error}"))

    page.goto(integrator.url + "/index.html?utm_source=newsletter")
    page.wait_for_function("window.couvee && window.couvee.loaded === true")
    assert page.evaluate("new Promise(r => couvee('visitor', r))") is None
    page.evaluate("couvee('track', 'before_consent', {a: 1})")
    # nothing stored on the device, nothing sent
    assert page.evaluate("window.localStorage.length") == 0
    assert page.context.cookies() == []
    assert hits_sent == [] and stream_length(app) == 0
    drain_now(app)
    assert Hit.select().count() == 0

    page.evaluate("couvee('consent', {analytics: true})")
    assert wait_for(lambda: stream_length(app) >= 2)  # the page view and the event kept in memory
    drain_now(app)
    first = Hit.select().where(Hit.kind == "page").get()
    assert first.url == integrator.url + "/index.html?utm_source=newsletter"
    assert first.title == "Integrator page" and first.utm == {"utm_source": "newsletter"}
    assert first.screen and first.language and first.timezone
    visitor_id = page.evaluate("new Promise(r => couvee('visitor', r))")
    assert visitor_id == first.visitor
    stored = page.evaluate("Object.keys(window.localStorage).sort()")
    assert stored == ["cv_consent", "cv_vid"]

    page.evaluate("history.pushState({}, '', '/pricing')")  # a single-page app navigating
    assert wait_for(lambda: stream_length(app) >= 1)
    drain_now(app)
    spa = Hit.select().where(Hit.path == "/pricing").get()
    assert spa.referrer == first.url and spa.visitor == visitor_id

    contact = contacts.create_contact({"email": "ada@example.com"})
    page.evaluate("([email, hash]) => couvee('identify', {email: email, hash: hash})",
                  ["ada@example.com", identify_hash(site, "ada@example.com")])
    assert wait_for(lambda: stream_length(app) >= 1)
    drain_now(app)
    assert Visitor.get_by_id(visitor_id).contact_id == contact.id
    assert Hit.select().where(Hit.contact == contact.id).count() == 3  # earlier visits attached

    page.evaluate("couvee('consent', false)")
    assert page.evaluate("window.localStorage.getItem('cv_vid')") is None
    before = len(hits_sent)
    page.evaluate("couvee('track', 'after_withdrawal')")
    page.evaluate("history.pushState({}, '', '/after')")
    assert len(hits_sent) == before


def test_without_consent_requirement_and_with_do_not_track(live_server, static_site, chromium, ctx):
    app = live_server.wsgi.app
    integrator = static_site({"index.html": ""})
    site = make_site(app, allowed_origins=[integrator.url], require_consent=False)
    with app.app_context():
        snippet = script.snippet(site)
    (integrator.root / "index.html").write_text(PAGE.format(snippet=snippet))
    for headers, expected in (({"DNT": "1"}, 0), ({}, 1)):
        context = chromium.new_context(user_agent=BROWSER, extra_http_headers=headers)
        page = context.new_page()
        if headers:
            page.add_init_script("Object.defineProperty(navigator, 'doNotTrack', {get: () => '1'})")
        page.goto(integrator.url + "/index.html")
        page.wait_for_function("window.couvee && window.couvee.loaded === true")
        if expected:
            assert wait_for(lambda: stream_length(app) >= expected)
        else:
            assert page.evaluate("window.localStorage.length") == 0
        context.close()
    drain_now(app)
    assert Hit.select().count() == 1
