"""Double opt-in, end to end: the submission asks for a confirmation by
email (through the email plugin to a real SMTP server on loopback), marketing
sends are held for that purpose until the signed, expiring link is used, and
the confirmation is recorded as a consent with its proof."""
from __future__ import annotations

import datetime as dt
import re
import time

import time_machine

from core import can_receive
from core.models import Contact, Event
from plugins.forms.models import OptIn

from .forms_helpers import consent_names, make_form, open_form, later, set_setting, submit


def configure_email(sink) -> None:
    set_setting("email", "transport", "smtp")
    set_setting("email", "smtp_host", sink.host)
    set_setting("email", "smtp_port", sink.port)
    set_setting("email", "from_email", "news@couvee.test")


def confirmation_link(message) -> str:
    body = message.get_body(preferencelist=("plain",)).get_content()
    match = re.search(r"http://couvee\.test(/f/confirm\?t=[A-Za-z0-9_.\-]+)", body)
    assert match, body
    return match.group(1)


def newsletter_with_doi(language="en", box=True):
    consents = [("email_marketing", "Send me the monthly newsletter.")] if box else []
    return make_form("Newsletter", consents=consents, double_opt_in="1", doi_purpose="email_marketing",
                     language=language)


def test_double_opt_in_end_to_end(web, ctx, smtp_sink, run_jobs):
    configure_email(smtp_sink)
    form = newsletter_with_doi()
    page, html_form = open_form(web, form)
    html_form["email"] = "nina@example.com"
    html_form[consent_names(html_form)[0]].checked = True
    with later():
        response = html_form.submit(extra_environ={"REMOTE_ADDR": "198.51.100.4", "HTTP_USER_AGENT": "Nina/1"})
    assert "We just sent you a confirmation email" in response.text
    contact = Contact.get(Contact.email == "nina@example.com")

    allowed, vetoes = can_receive(contact, "email", "marketing")
    assert not allowed and "forms" in vetoes
    assert "forms" not in can_receive(contact, "email", "transactional")[1]
    assert "forms" not in can_receive(contact, "sms", "marketing")[1]

    run_jobs()
    messages = smtp_sink.wait_for(1)
    assert len(messages) == 1
    message = messages[0]
    assert message["To"] == "nina@example.com"
    assert message["Subject"] == "Please confirm your subscription"
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "Thank you for subscribing to our mailing lists." in body
    assert "If you did not make this request, simply ignore this message." in body
    link = confirmation_link(message)
    run_jobs()
    assert len(smtp_sink.messages) == 1  # a retried job does not send twice

    page = web.get(link)
    assert "Send me the monthly newsletter." in page.text and "nina@example.com" in page.text
    assert OptIn.get().status == "pending"  # opening the link (mail scanners do) confirms nothing
    with time_machine.travel(time.time() + 3600, tick=True):
        done = page.forms["confirm-form"].submit(extra_environ={"REMOTE_ADDR": "203.0.113.9",
                                                                "HTTP_USER_AGENT": "Nina/2"})
    assert "your subscription is confirmed" in done.text

    proofs = [e.data for e in Event.select().where(Event.kind == "consent_given").order_by(Event.id)]
    assert [p["source"] for p in proofs] == ["form", "double_opt_in"]
    confirmation = proofs[1]
    assert confirmation["purpose"] == "email_marketing"
    assert confirmation["text"] == "Send me the monthly newsletter."
    assert confirmation["text_version"] == "1"
    assert confirmation["form_id"] == form.id
    assert confirmation["ip"] == "203.0.113.9" and confirmation["user_agent"] == "Nina/2"
    assert dt.datetime.fromisoformat(confirmation["at"]) > dt.datetime.fromisoformat(confirmation["requested_at"])
    assert "forms" not in can_receive(contact, "email", "marketing")[1]

    again = web.get(link)
    assert "already confirmed" in again.text
    # a later submission by a confirmed person asks nothing again
    submit(web, form, {"email": "nina@example.com", consent_names(html_form)[0]: True})
    assert OptIn.select().count() == 1


def test_french_default_wording_without_a_consent_box(web, ctx, smtp_sink, run_jobs):
    configure_email(smtp_sink)
    form = newsletter_with_doi(language="fr", box=False)
    response = submit(web, form, {"email": "zoe@example.com"})
    assert "Un email de confirmation vient de vous être envoyé" in response.text
    run_jobs()
    message = smtp_sink.wait_for(1)[0]
    assert message["Subject"] == "Confirmez votre inscription"
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "Merci pour votre demande d'inscription sur nos listes de diffusion." in body
    assert "Cliquez sur le lien ci-dessous pour confirmer votre adresse email" in body
    page = web.get(confirmation_link(message))
    assert "Je confirme mon inscription" in page.text
    page.forms["confirm-form"].submit()
    proof = Event.get((Event.kind == "consent_given")).data
    assert proof["source"] == "double_opt_in"
    assert proof["text"] == "Je confirme mon inscription (emails marketing) avec l'adresse zoe@example.com."


def test_unticked_box_asks_no_confirmation(web, ctx, smtp_sink, run_jobs):
    configure_email(smtp_sink)
    form = newsletter_with_doi()
    response = submit(web, form, {"email": "no@example.com"})
    assert "Thank you, we received your request." in response.text
    run_jobs()
    assert OptIn.select().count() == 0 and smtp_sink.messages == []


def test_expired_and_forged_links(web, ctx, smtp_sink, run_jobs):
    configure_email(smtp_sink)
    form = newsletter_with_doi(box=False)
    submit(web, form, {"email": "late@example.com"})
    run_jobs()
    link = confirmation_link(smtp_sink.wait_for(1)[0])
    with time_machine.travel(time.time() + 8 * 86400, tick=True):
        response = web.get(link, status=410)
        assert "has expired" in response.text
        web.post("/f/confirm", {"t": link.split("t=")[1]}, status=410)
    assert OptIn.get().status == "pending"
    contact = Contact.get(Contact.email == "late@example.com")
    assert "forms" in can_receive(contact, "email", "marketing")[1]  # still not confirmed
    web.get("/f/confirm?t=forged", status=400)
    # consent given another way (e.g. the preference centre) ends the pending request
    from core import emit

    emit(contact, "consent_given", {"purpose": "email_marketing", "source": "preference_centre", "text": "Yes",
                                    "text_version": "1"})
    run_jobs()
    assert "forms" not in can_receive(contact, "email", "marketing")[1]


def test_a_confirmation_email_that_could_not_go_is_sent_once_the_smtp_server_is_back(web, ctx, run_jobs):
    """The SMTP server is down when someone subscribes, longer than the send
    job's retries: the request waits (not failed for good), the periodic job
    sends it once the server is back, and only once."""
    from aiosmtpd.controller import Controller

    from plugins.forms.jobs import RESEND_AFTER, resend_unsent_opt_ins

    from .conftest import SmtpSink, free_port

    sink = SmtpSink()
    sink.host, sink.port = "127.0.0.1", free_port()  # nothing listens there yet
    configure_email(sink)
    form = newsletter_with_doi()
    submit(web, form, {"email": "nina@example.com", consent_names(open_form(web, form)[1])[0]: True})
    run_jobs()
    opt_in = OptIn.get()
    assert opt_in.sent_at is None and opt_in.send_status.startswith("waiting: ")
    assert "Connection refused" in opt_in.send_status
    assert resend_unsent_opt_ins() == 0  # the job's own retries come first
    from core import state

    assert state().registries.periodic_jobs["forms.resend_unsent_opt_ins"].func is resend_unsent_opt_ins

    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        with time_machine.travel(time.time() + RESEND_AFTER.total_seconds() + 60, tick=True):
            assert resend_unsent_opt_ins() == 1
            run_jobs()
            assert resend_unsent_opt_ins() == 0
            run_jobs()
    finally:
        controller.stop()
    assert [m["To"] for m in sink.messages] == ["nina@example.com"]
    assert OptIn.get().sent_at is not None and OptIn.get().send_status == "sent"
    assert confirmation_link(sink.messages[0])
