"""Smart content's Test page (issue 19 item 5): the preview shows in its frame
(no X-Frame-Options: DENY on the preview route), and a test send does not
count: not tracked, no event on the contact, no frequency exclusion."""
from __future__ import annotations

from core.models import Event
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
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
    form.submit().follow()
    run_jobs()
    [message] = smtp_sink.wait_for(1)
    assert message["Subject"].startswith("[Test] ")
    html = message.get_body(("html",)).get_content()
    assert "/e/o/" not in html and "/e/c/" not in html  # not tracked
    assert Event.select().where(Event.contact == reader.id).count() == events_before  # no email_sent
    assert Profile.get_or_none(Profile.contact == reader.id) is None or \
        Profile.get(Profile.contact == reader.id).last_email_at is None  # no 7-day exclusion
    assert not Pick.select().exists()
