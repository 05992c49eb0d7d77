"""End to end: the programme picks, the email plugin's channel delivers to a
real SMTP server on loopback, and the open pixel and tracked click in the
received email feed the dashboard's rates through ``email_opened`` /
``email_clicked``. Consent is given the real way (a ``consent_given`` event)."""
from __future__ import annotations

import re
from urllib.parse import urlparse

from core import contacts, emit
from core.models import SettingValue

from plugins.smart_content import library, programme as programme_settings
from plugins.smart_content.models import Pick, Profile
from plugins.smart_content.sender import run_programme


def configure_email(sink):
    for key, value in {"transport": "smtp", "smtp_host": sink.host, "smtp_port": sink.port,
                       "from_email": "news@couvee.example", "from_name": "Couvée", "machine_open_seconds": 0}.items():
        SettingValue.insert(group="email", key=key, value=value).on_conflict(
            conflict_target=[SettingValue.group, SettingValue.key], update={SettingValue.value: value}).execute()
    for key, value in {"company_name": "Couvée SAS", "company_address": "1 rue de la Paix, Paris"}.items():
        SettingValue.insert(group="general", key=key, value=value).on_conflict(  # asked once, in General settings
            conflict_target=[SettingValue.group, SettingValue.key], update={SettingValue.value: value}).execute()


def consenting(email, tags):
    person = contacts.create_contact({"email": email, "first_name": "Ana"})
    for tag in tags:
        contacts.add_tag(person, tag)
    emit(person, "consent_given", {"purpose": "email_marketing", "source": "admin", "text": "Oui", "text_version": "1"})
    return person


def test_programme_sends_the_pick_and_tracks_opens_and_clicks(ctx, admin, run_jobs, smtp_sink):
    configure_email(smtp_sink)
    article = library.save_content(None, {
        "title": "Comment automatiser son Marketing avec son CRM ?", "url": "https://blog.example.fr/automatiser",
        "image_url": "https://cdn.example.fr/automatiser.jpg", "excerpt": "Grâce au Marketing Intelligent !",
        "stage": "engagement", "tags": ["CRM"], "score": 5})
    reader = consenting("reader@example.com", ["CRM"])
    refuser = contacts.create_contact({"email": "nobody@example.com"})  # never consented
    contacts.add_tag(refuser, "CRM")
    run_jobs()
    settings = programme_settings.load()
    settings.enabled, settings.weekdays, settings.excluded_dates = True, list(range(7)), []
    settings.hour_start, settings.hour_end = 0, 24
    programme_settings.store(settings)

    totals = run_programme()
    assert totals["claimed"] == 2
    run_jobs(queues=["email"])
    [message] = smtp_sink.wait_for(1)
    assert message["To"] == "reader@example.com"
    assert message["Subject"] == "Comment automatiser son Marketing avec son CRM ?"
    html = message.get_body(("html",)).get_content()
    assert "<h2" in html and "https://cdn.example.fr/automatiser.jpg" in html and "Hello Ana" in html
    picks = {p.contact_id: p for p in Pick.select()}
    assert picks[reader.id].status == "sent" and picks[reader.id].content_id == article.id
    assert picks[reader.id].matching_tags == ["CRM"] and picks[reader.id].stage == "engagement"
    assert picks[refuser.id].status == "skipped" and "no consent" in picks[refuser.id].reason
    assert Profile.get(Profile.contact == reader.id).last_email_at is not None

    # the same day, again: nothing more is sent
    assert run_programme()["claimed"] == 0
    run_jobs()
    assert len(smtp_sink.messages) == 1

    # the reader opens (pixel) and clicks the button, through the email plugin's own routes
    pixel = re.search(r'src="(http[^"]+/e/o/[^"]+\.gif)"', html).group(1)
    admin.get(urlparse(pixel).path)
    button = re.search(r'href="(http[^"]+/e/c/[^"]+)"', html).group(1)
    response = admin.get(urlparse(button).path + ("?" + urlparse(button).query if urlparse(button).query else ""))
    assert response.location.startswith("https://blog.example.fr/automatiser")
    run_jobs(queues=["events"])
    pick = Pick.get(Pick.contact == reader.id)
    assert pick.email_id and pick.opened_at and pick.clicked_at
    dashboard = admin.get("/admin/smart-content")
    per_stage = dashboard.html.find("h2", string="Per stage").find_next("table").text
    assert "Engagement" in per_stage and "100.0 %" in per_stage
    assert 'aria-label="Smart content emails sent per day: 1 in 30 days"' in dashboard.text
