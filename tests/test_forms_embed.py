"""The JS embed in headless Chromium, on an integrator's page served from
another origin: it draws the current version of the form, shows the server's
validation errors next to the fields, uploads a file, and sends the tracking
script's visitor id so the visitor's past visits join the contact."""
from __future__ import annotations

import time

import pytest
import time_machine

from core.models import Contact
from plugins.tracking import script
from plugins.tracking.models import Visitor
from plugins.forms import builder
from plugins.forms.models import Submission

from .forms_helpers import custom, field_of, make_form
from .tracking_helpers import BROWSER, drain_now, make_site

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PAGE = """<!doctype html><html><head><title>Integrator</title>{tracking}</head><body>
<h1>Subscribe</h1>
<div data-couvee-form="{key}"></div>
<script src="{server}/f/embed.js" async></script>
</body></html>"""


@pytest.fixture
def browser_page(chromium):
    context = chromium.new_context(user_agent=BROWSER)  # the tracking script ignores HeadlessChrome
    page = context.new_page()
    yield page
    context.close()


def later(seconds: int):
    """Past the minimum fill time (each new render token is later than the last)."""
    return time_machine.travel(time.time() + seconds, tick=True)


def error_of(page, name: str) -> str:
    locator = page.locator(f'.cv-field[data-name="{name}"] .cv-error')
    locator.wait_for(state="visible")
    return locator.text_content()


def test_js_embed_on_another_origin(live_server, static_site, browser_page, ctx, run_jobs, tmp_path):
    app = live_server.wsgi.app
    integrator = static_site({"index.html": ""})
    custom("brief", "file", label="Your brief")
    form = make_form("Webinar", origins=[integrator.url], fields=["first_name", "brief"],
                     consents=[("email_marketing", "Send me the next webinars.")],
                     purpose_text="We use your answers to send you the webinar link.")
    builder.update_field(form, field_of(form, "brief"), {"label": "Your brief", "max_mb": "1",
                                                         "allowed_types": "png,pdf"})
    site = make_site(app, allowed_origins=[integrator.url], require_consent=False)
    with app.app_context():
        tracking = script.snippet(site)
    (integrator.root / "index.html").write_text(PAGE.format(tracking=tracking, key=form.key, server=live_server.url))
    page = browser_page
    page.on("pageerror", lambda error: pytest.fail(f"the embed threw into the page: {error}"))

    page.goto(integrator.url + "/index.html")
    page.wait_for_selector("form.cv-form")
    assert page.locator(".cv-purpose").text_content() == "We use your answers to send you the webinar link."
    assert page.locator("label", has_text="Send me the next webinars.").count() == 1
    assert not page.locator(".cv-consent input[type=checkbox]").is_checked()

    # the form was edited after the page was written: the embed shows the current version
    builder.update_field(form, field_of(form, "first_name"), {"label": "Prénom"})
    page.reload()
    page.wait_for_selector("form.cv-form")
    assert page.locator("label", has_text="Prénom").count() == 1

    page.fill('input[name="email"]', "not an email")
    page.fill('input[name="first_name"]', "<b>Ada</b>")
    with later(20):
        page.click("button.cv-submit")
        assert "is not a valid email address" in error_of(page, "email")
    assert page.input_value('input[name="first_name"]') == "<b>Ada</b>"  # nothing lost
    assert Contact.select().count() == 0

    fake = tmp_path / "brief.png"
    fake.write_bytes(b"this is not an image")
    page.fill('input[name="email"]', "ada@example.com")
    page.set_input_files('input[name="brief"]', str(fake))
    with later(40):
        page.click("button.cv-submit")
        assert "is not a real PNG image" in error_of(page, "brief")
    assert page.locator('.cv-field[data-name="email"] .cv-error').is_hidden()

    real = tmp_path / "real.png"
    real.write_bytes(PNG)
    page.set_input_files('input[name="brief"]', str(real))
    page.check(".cv-consent input[type=checkbox]")
    visitor_id = page.evaluate("new Promise(r => couvee('visitor', r))")
    assert visitor_id
    with later(60):
        page.click("button.cv-submit")
        page.wait_for_selector(".cv-success")
    assert "Thank you" in page.locator(".cv-success").text_content()

    contact = Contact.get(Contact.email == "ada@example.com")
    assert contact.first_name == "<b>Ada</b>"
    submission = Submission.get()
    assert submission.channel == "js" and submission.page_url == integrator.url + "/index.html"
    assert submission.visitor_id == visitor_id
    drain_now(app)
    run_jobs()
    assert Visitor.get_by_id(visitor_id).contact_id == contact.id

    # another origin cannot read the form's definition
    other = static_site({"index.html": "<!doctype html><title>Other</title>"})
    page.goto(other.url + "/index.html")
    outcome = page.evaluate(
        "url => fetch(url).then(r => r.status).catch(() => 'blocked')",
        f"{live_server.url}/f/{form.key}/form.json")
    assert outcome == "blocked"
