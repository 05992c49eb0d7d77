"""The footer rule (issue 19 item 3): the email channel gives every marketing
message the footer (sender identity, postal address, visible unsubscribe link)
whatever plugin built it — smart content brings its own HTML document — and
refuses one that cannot carry it, with the reason."""
from __future__ import annotations

from core import Message, contacts, send_message
from core.models import SettingValue
from tests.test_smart_content_send import configure_email, consenting

from plugins.email.models import Send
from plugins.smart_content import library, programme as programme_settings
from plugins.smart_content.models import Pick
from plugins.smart_content.sender import run_programme


def open_programme():
    settings = programme_settings.load()
    settings.enabled, settings.weekdays, settings.excluded_dates = True, list(range(7)), []
    settings.hour_start, settings.hour_end = 0, 24
    programme_settings.store(settings)


def test_a_smart_content_email_carries_the_footer(ctx, run_jobs, smtp_sink):
    configure_email(smtp_sink)
    library.save_content(None, {
        "title": "Automatiser son marketing", "url": "https://blog.example.fr/a", "stage": "engagement",
        "image_url": "https://cdn.example.fr/a.jpg", "tags": ["CRM"], "score": 5})
    consenting("reader@example.com", ["CRM"])
    run_jobs()
    open_programme()
    run_programme()
    run_jobs(queues=["email"])
    [message] = smtp_sink.wait_for(1)
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert "Couvée SAS" in html and "1 rue de la Paix, Paris" in html
    assert ">Unsubscribe</a>" in html and "/e/u/" in html
    assert "1 rue de la Paix, Paris" in text and "Unsubscribe" in text


def test_a_marketing_message_without_a_postal_address_is_refused_with_the_reason(ctx, run_jobs, smtp_sink):
    configure_email(smtp_sink)
    SettingValue.delete().where((SettingValue.group == "general") & (SettingValue.key == "company_address")).execute()
    reader = consenting("reader@example.com", ["CRM"])
    run_jobs()
    document = "<html><body><h1>Our pick for you</h1></body></html>"
    result = send_message(Message(to=reader.email, contact=reader, kind="smart_content.pick", purpose="marketing",
                                  subject="Pick", html=document, key="pick-1"))
    assert result.status == "failed"
    assert result.reason.startswith("Refused by the footer rule: The company's postal address is missing")
    assert Send.get(Send.key == "msg:pick-1").reason == result.reason
    # a transactional message (an export link, an opt-in confirmation) is not marketing: it goes
    plain = contacts.create_contact({"email": "ada@example.com"})
    assert send_message(Message(to=plain.email, contact=plain, subject="Your export", html=document)).sent
    assert [m["To"] for m in smtp_sink.wait_for(1)] == ["ada@example.com"]
