"""Smart content's Test page (issue 19 item 5): the preview shows in its frame
(no X-Frame-Options: DENY on the preview route), and a test send does not
count: not tracked, no event on the contact, no frequency exclusion. The test
is sent while the admin waits (the email channel's test send) and the page says
what the SMTP server answered, or why it refused."""
from __future__ import annotations

import re

import pytest

from core.models import Event
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, free_port, start_smtp
from tests.test_email_recipients import RefusingSink
from tests.test_smart_content_send import configure_email, consenting

from plugins.smart_content import library
from plugins.smart_content.models import Pick, Profile


def article():
    return library.save_content(None, {
        "title": "Automatiser son marketing", "url": "https://blog.example.fr/a", "stage": "engagement",
        "image_url": "https://cdn.example.fr/a.jpg", "tags": ["CRM"], "score": 5})


def test_the_preview_is_shown_in_its_frame(live_server, page, admin_user, ctx, run_jobs, smtp_sink):
    configure_email(smtp_sink)
    article()
    reader = consenting("reader@example.com", ["CRM"])
    run_jobs()
    page.goto(live_server.url + "/admin/login")
    page.fill("input[name=email]", ADMIN_EMAIL)
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.click("button.primary")
    page.goto(f"{live_server.url}/admin/smart-content/test?contact={reader.id}")
    frame = page.frame_locator("iframe[title='Email preview']")
    assert "Automatiser son marketing" in frame.locator("body").inner_text(timeout=10000)
    response = page.request.get(f"{live_server.url}/admin/smart-content/preview/{reader.id}/1")
    assert response.headers["x-frame-options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in response.headers["content-security-policy"]


def test_a_test_send_to_a_contact_does_not_count(admin, ctx, run_jobs, smtp_sink):
    configure_email(smtp_sink)
    content = article()
    reader = consenting("reader@example.com", ["CRM"])
    run_jobs()
    events_before = Event.select().where(Event.contact == reader.id).count()
    page = admin.get("/admin/smart-content/test")
    form = page.forms["test-form"]
    form["content_id"] = str(content.id)
    form["address"] = reader.email
    said = flashes(form.submit().follow())
    # sent while the admin waited: the page reports the server's answer, nothing is left queued
    assert (f"Test email with “Automatiser son marketing”: Sent to reader@example.com through "
            f"127.0.0.1:{smtp_sink.port}: the server answered 250 Message accepted") in said, said
    assert len(smtp_sink.messages) == 1
    run_jobs()
    [message] = smtp_sink.wait_for(1)
    assert message["Subject"].startswith("[Test] ")
    html = message.get_body(("html",)).get_content()
    assert "/e/o/" not in html and "/e/c/" not in html  # not tracked
    assert Event.select().where(Event.contact == reader.id).count() == events_before  # no email_sent
    assert Profile.get_or_none(Profile.contact == reader.id) is None or \
        Profile.get(Profile.contact == reader.id).last_email_at is None  # no 7-day exclusion
    assert not Pick.select().exists()


def flashes(page) -> str:
    return " ".join(re.sub(r"\s+", " ", m) for m in re.findall(r'class="flash[^"]*"[^>]*>(.*?)</div>', page.text, re.S))


@pytest.fixture
def refusing_sink(request):
    """The SMTP sink that refuses recipients named refused@... with 550."""
    handler = RefusingSink()
    request.addfinalizer(start_smtp(handler).stop)
    return handler


def test_a_refused_test_send_shows_the_servers_refusal(admin, ctx, refusing_sink):
    configure_email(refusing_sink)
    content = article()
    form = admin.get("/admin/smart-content/test").forms["test-form"]
    form["content_id"] = str(content.id)
    form["address"] = "refused@example.com"
    said = flashes(form.submit().follow())
    assert "Test email with “Automatiser son marketing” not sent: " in said, said
    assert (f"The server on 127.0.0.1:{refusing_sink.port} refused the recipient refused@example.com: "
            "550 5.1.1 &lt;refused@example.com&gt;: no such mailbox here") in said, said
    assert "queued" not in said and not refusing_sink.messages
    # a server that is not there: the error, in the page
    configure_email(refusing_sink)
    from core.models import SettingValue

    SettingValue.update(value=str(free_port())).where(
        (SettingValue.group == "email") & (SettingValue.key == "smtp_port")).execute()
    form = admin.get("/admin/smart-content/test").forms["test-form"]
    form["content_id"], form["address"] = str(content.id), "reader@example.com"
    assert "not sent: Connection refused on 127.0.0.1:" in flashes(form.submit().follow())
