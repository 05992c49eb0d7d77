"""The shared network fixtures work: SMTP sink, live server, another origin, Chromium."""
from __future__ import annotations

import smtplib
from email.message import EmailMessage


def test_smtp_sink_receives_a_message(smtp_sink):
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.com", "b@example.com", "Bonjour"
    message.set_content("corps")
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port) as client:
        client.send_message(message)
    received = smtp_sink.wait_for(1)
    assert received[0]["Subject"] == "Bonjour" and received[0].envelope_to == ["b@example.com"]


def test_chromium_loads_a_live_page_from_another_origin(live_server, static_site, page):
    site = static_site({"index.html": f"""<!doctype html><title>Integrator</title>
        <script>fetch("{live_server.url}/admin/login").then(r => document.title = "status " + r.status)
        .catch(() => document.title = "blocked by CORS")</script>"""})
    page.goto(site.url + "/index.html")
    page.wait_for_function("document.title !== 'Integrator'")
    # the admin sends no CORS headers: another origin cannot read it
    assert page.title() == "blocked by CORS"
    page.goto(live_server.url + "/admin/login")
    assert "Create the administrator" in page.content()  # no user yet: first-run setup
