"""One recipient never stalls a send (issue 15, items 1, 2 and 19).

An internationalised address goes out with SMTPUTF8 when the server offers
it, and fails with a clear reason when it does not; a domain in Unicode is
sent in its IDNA form; a refused recipient or any error half-way through an
SMTP transaction is recorded for that message and the next messages go out on
the same connection (RSET), for newsletters, smart content and workflow
emails alike. Send and Cancel ask for confirmation, and Cancel leaves nothing
"to go". Real SMTP server on loopback, real RQ worker in burst mode."""
from __future__ import annotations

import datetime as dt
import re
import threading

import pytest
import time_machine
from aiosmtpd.controller import Controller

from core import Message, contacts, send_message, utcnow
from plugins.automation import runs_of
from core.contacts import create_contact
from core.models import Contact
from plugins.segments import Segment, add_to_segment
from tests.conftest import SmtpSink, free_port, start_smtp
from tests.test_automation import later, live
from tests.test_email_newsletter import write_newsletter
from tests.test_email_send import configure

from plugins.email import newsletters, sendlog
from plugins.email.config import load_config
from plugins.email.models import Bounce, Newsletter, Send
from plugins.email.transport import RecipientError, SmtpTransport
from plugins.smart_content import library, programme as programme_settings
from plugins.smart_content.models import Pick
from plugins.smart_content.sender import run_programme

NON_ASCII = "benoît.dubois22@exemple.fr"
IDN = "jean@exémple.fr"
SENT_TO = ["ada@example.com", "luc@example.com", "zoe@example.com"]


class RefusingSink(SmtpSink):
    """The SMTP sink, refusing any recipient whose address starts with
    "refused" (550) or "busy" (451, for now), refusing the message itself
    after its final dot when it is for "spam..." (554), and noting the client
    connection of every message."""

    def __init__(self):
        super().__init__()
        self.peers = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refused"):
            return f"550 5.1.1 <{address}>: no such mailbox here"
        if address.startswith("busy"):
            return "451 4.2.1 mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.peers.add(session.peer)
        if envelope.rcpt_tos[0].startswith("spam"):
            return "554 5.7.1 message refused as spam"
        return await super().handle_DATA(server, session, envelope)

    def received(self) -> dict:
        """The delivered messages by envelope recipient."""
        return {m.envelope_to[0]: m for m in self.messages}


@pytest.fixture(params=[False, True], ids=["ascii-server", "smtputf8-server"])
def sink(request):
    handler = RefusingSink()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, enable_SMTPUTF8=request.param)
    controller.start()
    handler.host, handler.port, handler.smtputf8 = "127.0.0.1", port, request.param
    yield handler
    controller.stop()


def audience(*emails) -> Segment:
    """The addresses, in this order, as contacts in one static segment."""
    segment = Segment.create(name="Readers", kind="static")
    for email in emails:
        add_to_segment(create_contact({"email": email, "first_name": "Reader"}), segment)
    return segment


def confirm(page):
    """Press the confirmation page's "Yes" button."""
    return next(f for f in page.forms.values() if f.fields.get("confirmed")).submit()


def figures(page) -> str:
    """The progress line of a newsletter's page, as a reader sees it."""
    paragraph = re.search(r'<p class="progress-figures">(.*?)</p>', page.text, re.S).group(1)
    return " ".join(re.sub(r"<[^>]+>", "", paragraph).split())


def action_form(page, action: str):
    return next(f for f in page.forms.values() if f.action.endswith(f"/{action}"))


def test_a_newsletter_sends_past_an_unsendable_and_a_refused_address(admin, ctx, sink, run_jobs):
    configure(sink)
    segment = audience("ada@example.com", NON_ASCII, "refused@example.com", IDN, "spam@example.com",
                       "luc@example.com", "zoe@example.com")
    newsletter, page = write_newsletter(admin, [segment.id])
    confirmation = action_form(page, "send").submit()
    assert "<strong>7</strong> contacts" in confirmation.text
    started = confirm(confirmation).follow()
    assert "Sending started." in started.text
    assert '<meta http-equiv="refresh"' in started.text  # "scheduled" for a moment: the page refreshes itself
    run_jobs()

    received = sink.received()
    assert len(sink.peers) == 1  # one connection, reset after each refusal
    assert "jean@xn--exmple-cva.fr" in received  # the domain in its IDNA form in the envelope...
    assert received["jean@xn--exmple-cva.fr"]["To"] == "jean@xn--exmple-cva.fr"  # ...and in the header
    rows = {row.to_email: row for row in Send.select().where(Send.newsletter == newsletter.id)}
    refused = rows["refused@example.com"]
    assert refused.status == "failed" and "550 5.1.1" in refused.reason
    assert Bounce.get(Bounce.send == refused.id).type == "hard"
    # refused after its final dot: the verdict is read once the next message is ready, and it is
    # this row's, not the next one's (luc's, sent right after it)
    assert rows["spam@example.com"].status == "failed" and "554 5.7.1" in rows["spam@example.com"].reason
    assert rows["luc@example.com"].status == "sent" and rows["ada@example.com"].status == "sent"
    if sink.smtputf8:
        assert set(received) == {*SENT_TO, "jean@xn--exmple-cva.fr", NON_ASCII}
        assert received[NON_ASCII]["To"] == NON_ASCII
        assert rows[NON_ASCII].status == "sent"
    else:
        assert set(received) == {*SENT_TO, "jean@xn--exmple-cva.fr"}
        assert rows[NON_ASCII].status == "failed"
        assert "does not offer SMTPUTF8" in rows[NON_ASCII].reason
        assert not Bounce.select().where(Bounce.send == rows[NON_ASCII].id).exists()  # our limit, not a bounce

    page = admin.get(f"/admin/email/{newsletter.id}")
    failed = 2 if sink.smtputf8 else 3
    assert Newsletter.get_by_id(newsletter.id).status == "sent"
    assert f"{7 - failed} sent, 0 skipped, {failed} failed, 0 to go, of 7" in figures(page)
    assert '<meta http-equiv="refresh"' not in page.text
    assert "no such mailbox here" in page.text  # the reasons are on the newsletter's page


def test_a_temporary_refusal_postpones_that_address_only(admin, ctx, sink, run_jobs):
    """451 for one recipient (greylisting, mailbox busy): that row waits for a
    later try, the others are sent now."""
    configure(sink)
    segment = audience("ada@example.com", "busy@example.com", "luc@example.com", "zoe@example.com")
    newsletter, page = write_newsletter(admin, [segment.id])
    confirm(action_form(page, "send").submit()).follow()
    started = utcnow()
    run_jobs()
    assert set(sink.received()) == set(SENT_TO)
    busy = Send.get(Send.to_email == "busy@example.com")
    assert busy.status == "queued" and "451 4.2.1" in busy.reason
    assert busy.not_before >= started + newsletters.OUTAGE_DELAY  # tried again later
    assert "3 sent, 0 skipped, 0 failed, 1 to go, of 4" in figures(admin.get(f"/admin/email/{newsletter.id}"))


def test_cancel_asks_first_then_leaves_nothing_to_go(admin, ctx, smtp_sink, run_jobs):
    """A send job died holding a batch (its lease has not run out yet): Cancel
    still settles every row, claimed or waiting."""
    configure(smtp_sink, batch_size=3)
    segment = audience(*[f"reader{i}@example.com" for i in range(8)])
    newsletter, page = write_newsletter(admin, [segment.id])
    confirm(action_form(page, "send").submit()).follow()
    newsletters.begin(newsletter.id)  # what the begin job does, without its send jobs
    claim, held = sendlog.claim_batch(newsletter.id, 3)  # the dead job's claim
    assert len(held) == 3

    page = admin.get(f"/admin/email/{newsletter.id}")
    assert "0 sent, 0 skipped, 0 failed, 8 to go, of 8" in figures(page)
    asked = action_form(page, "cancel").submit()
    assert "<strong>8</strong> recipients" in asked.text and "not sent yet will not get it" in asked.text
    assert Newsletter.get_by_id(newsletter.id).status == "sending"  # nothing happens before the confirmation
    done = confirm(asked).follow()
    assert "Cancelled: the remaining recipients will not get it." in done.text
    assert "0 sent, 0 skipped, 0 failed, 8 cancelled, 0 to go, of 8" in figures(done)
    run_jobs()  # the send jobs queued by begin find nothing to send
    assert smtp_sink.messages == []
    assert {row.status for row in Send.select()} == {"cancelled"}


def test_cancel_stops_a_running_send_job_and_every_row_is_accounted_for(admin, ctx, smtp_sink, run_jobs):
    """Cancel pressed while a send job is sending (10 messages/s): the job
    stops within a second, every message the server accepted is counted as
    sent, the others as cancelled."""
    configure(smtp_sink, rate_per_second=10, workers=1)
    segment = audience(*[f"reader{i}@example.com" for i in range(80)])
    newsletter, page = write_newsletter(admin, [segment.id])
    confirm(action_form(page, "send").submit()).follow()
    outcome = {}

    def cancel_once_sending():
        smtp_sink.wait_for(3, timeout=60)
        outcome["page"] = confirm(action_form(admin.get(f"/admin/email/{newsletter.id}"), "cancel").submit()).follow()

    canceller = threading.Thread(target=cancel_once_sending)
    canceller.start()
    run_jobs(queues=["email"])  # returns when the send job has stopped
    canceller.join()

    assert "Cancelled: the remaining recipients will not get it." in outcome["page"].text
    progress = newsletters.progress(Newsletter.get_by_id(newsletter.id))
    delivered = len(smtp_sink.messages)
    assert 3 <= delivered < 80
    assert (progress["sent"], progress["cancelled"], progress["pending"]) == (delivered, 80 - delivered, 0)
    assert Newsletter.get_by_id(newsletter.id).status == "cancelled"


def test_send_and_cancel_do_nothing_without_the_confirmation(admin, ctx, smtp_sink, run_jobs):
    configure(smtp_sink)
    segment = audience("ada@example.com")
    newsletter, page = write_newsletter(admin, [segment.id])
    send_form = action_form(page, "send")
    admin.post(f"/admin/email/{newsletter.id}/send", {"csrf_token": send_form["csrf_token"].value, "at": ""})
    run_jobs()
    assert Newsletter.get_by_id(newsletter.id).status == "draft" and smtp_sink.messages == []

    tomorrow = (dt.datetime.now() + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    send_form["at"] = tomorrow
    asked = send_form.submit()
    assert f"for {tomorrow.replace('T', ' ')}" in asked.text and "Yes, schedule it" in asked.text
    page = confirm(asked).follow()
    assert "Scheduled." in page.text and Newsletter.get_by_id(newsletter.id).status == "scheduled"
    assert '<meta http-equiv="refresh"' not in page.text  # nothing to watch until tomorrow


def smart_content_programme():
    library.save_content(None, {"title": "Automatiser son marketing", "url": "https://blog.example.fr/a",
                                "excerpt": "Pas à pas.", "stage": "engagement", "tags": ["CRM"], "score": 5})
    settings = programme_settings.load()
    settings.enabled, settings.weekdays, settings.excluded_dates = True, list(range(7)), []
    settings.hour_start, settings.hour_end = 0, 24
    programme_settings.store(settings)


def test_smart_content_sends_go_on_after_a_refused_recipient(ctx, sink, run_jobs):
    configure(sink)
    smart_content_programme()
    readers = ["ada@example.com", NON_ASCII, "refused@example.com", "luc@example.com", "zoe@example.com"]
    for email in readers:
        contacts.add_tag(create_contact({"email": email, "first_name": "Ana"}), "CRM")
    run_jobs()
    assert run_programme()["claimed"] == 5
    run_jobs(queues=["email"])

    picks = {Contact.get_by_id(p.contact_id).email: p for p in Pick.select()}
    assert {email: picks[email].status for email in SENT_TO} == dict.fromkeys(SENT_TO, "sent")
    assert picks["refused@example.com"].status == "failed" and "550 5.1.1" in picks["refused@example.com"].reason
    assert picks[NON_ASCII].status == ("sent" if sink.smtputf8 else "failed")
    assert set(sink.received()) == set(SENT_TO) | ({NON_ASCII} if sink.smtputf8 else set())
    assert len(sink.peers) == 1
    assert "503" not in " ".join(p.reason for p in picks.values())


def test_workflow_emails_go_on_after_a_refused_recipient(ctx, sink, run_jobs):
    configure(sink)
    live("Welcome", [{"type": "tag_added", "settings": {"tag": "new"}}],
         [{"type": "action", "action": "email.send",
           "settings": {"subject": "Bienvenue", "body": "<p>Bonjour {{ first_name }}</p>"}}])
    people = [create_contact({"email": email, "first_name": "Ana"})
              for email in ("ada@example.com", NON_ASCII, "refused@example.com", "luc@example.com", "zoe@example.com")]
    for person in people:
        contacts.add_tag(person, "new")
    run_jobs()

    assert set(sink.received()) == set(SENT_TO) | ({NON_ASCII} if sink.smtputf8 else set())
    assert len(sink.peers) == 1
    rows = {row.to_email: row for row in Send.select().where(Send.kind == "workflow.email")}
    assert rows["refused@example.com"].status == "failed" and "550 5.1.1" in rows["refused@example.com"].reason
    assert all(rows[email].status == "sent" for email in SENT_TO)
    assert all(runs_of(person) for person in people)


def test_a_sender_on_an_internationalised_domain_sends_plain_ascii_headers(ctx, sink):
    configure(sink, from_email="news@exémple.fr", bounce_domain="exémple.fr")
    ada = create_contact({"email": "ada@exémple.fr"})
    result = send_message(Message(to=ada.email, contact=ada, purpose="transactional", subject="Votre reçu",
                                  html="<p>Merci</p>", key="receipt:1"), channel="email")
    assert result.status == "sent", result.reason
    [message] = sink.wait_for(1)
    assert message.raw.isascii()  # nothing needs SMTPUTF8 when only domains are internationalised
    assert message.envelope_to == ["ada@xn--exmple-cva.fr"] and message["To"] == "ada@xn--exmple-cva.fr"
    assert message.envelope_from.endswith("@xn--exmple-cva.fr")
    assert "<news@xn--exmple-cva.fr>" in message["From"]
    assert message["Message-ID"].endswith("@xn--exmple-cva.fr>")


def test_the_transport_keeps_its_connection_usable_after_each_refusal(ctx, sink):
    """Straight through the transport every sender uses: a permanent and a
    temporary refusal, and an address the server cannot carry, each leave the
    connection ready for the next message."""
    configure(sink)
    transport = SmtpTransport(load_config())
    body = b"Subject: hello\r\n\r\nhello\r\n"
    transport.send("bounce@couvee.test", "ada@example.com", body)
    with pytest.raises(RecipientError) as refused:
        transport.send("bounce@couvee.test", "refused@example.com", body)
    assert refused.value.permanent and refused.value.bounce and "550 5.1.1" in str(refused.value)
    with pytest.raises(RecipientError) as busy:
        transport.send("bounce@couvee.test", "busy@example.com", body)
    assert not busy.value.permanent and not busy.value.bounce and "451 4.2.1" in str(busy.value)
    if sink.smtputf8:
        transport.send("bounce@couvee.test", NON_ASCII, "Subject: à\r\nTo: {}\r\n\r\nx\r\n".format(NON_ASCII).encode())
    else:
        with pytest.raises(RecipientError, match="does not offer SMTPUTF8") as unsendable:
            transport.send("bounce@couvee.test", NON_ASCII, body)
        assert unsendable.value.permanent and not unsendable.value.bounce
    transport.send("bounce@couvee.test", "luc@example.com", body)
    expected = ["ada@example.com", *([NON_ASCII] if sink.smtputf8 else []), "luc@example.com"]
    assert [m.envelope_to[0] for m in sink.wait_for(len(expected))] == expected
    assert len(sink.peers) == 1
    transport.close()


def test_a_message_is_handed_over_then_its_verdict_read_after_the_caller_s_own_work(ctx, sink):
    """``start`` sends a message up to its final dot; ``finish`` reads the
    verdict, refused or not; ``meanwhile`` runs once per ``start``, even when
    the message never got as far as MAIL FROM; a ``meanwhile`` that fails
    closes the connection and its error reaches the caller; lines starting
    with a dot arrive whole."""
    configure(sink)
    transport = SmtpTransport(load_config())
    body = b"Subject: hello\r\n\r\nhello\r\n.starts with a dot\r\n..two dots\r\n."
    calls = []
    transport.start("bounce@couvee.test", "ada@example.com", body, meanwhile=lambda: calls.append("ada"))
    with pytest.raises(RuntimeError, match="was not read"):
        transport.start("bounce@couvee.test", "luc@example.com", body)
    transport.finish()
    transport.start("bounce@couvee.test", "spam@example.com", body, meanwhile=lambda: calls.append("spam"))
    with pytest.raises(RecipientError) as refused:
        transport.finish()
    assert refused.value.permanent and "554 5.7.1" in str(refused.value)
    with pytest.raises(RecipientError):  # refused at RCPT: nothing waits for a verdict after it
        transport.start("bounce@couvee.test", "refused@example.com", body, meanwhile=lambda: calls.append("refused"))
    transport.finish()
    if not sink.smtputf8:  # refused before MAIL FROM: meanwhile still runs
        with pytest.raises(RecipientError, match="does not offer SMTPUTF8"):
            transport.start("bounce@couvee.test", NON_ASCII, body, meanwhile=lambda: calls.append("unsendable"))
    assert calls == ["ada", "spam", "refused"] + ([] if sink.smtputf8 else ["unsendable"])

    def broken():
        raise ConnectionError("the journal is unreachable")

    with pytest.raises(ConnectionError, match="journal is unreachable"):
        transport.start("bounce@couvee.test", "zoe@example.com", body, meanwhile=broken)
    assert transport.client is None and transport.awaiting is None  # closed: the next message reconnects
    transport.send("bounce@couvee.test", "luc@example.com", body)
    received = {m.envelope_to[0]: m for m in sink.wait_for(2)}
    assert sorted(received) == ["ada@example.com", "luc@example.com"]
    assert received["luc@example.com"].raw.splitlines()[-3:] == [b".starts with a dot", b"..two dots", b"."]
    transport.close()


class FailingServer(SmtpSink):
    """The SMTP sink, accepting ``limit`` messages, then answering 421 (the
    server is going down) until the test stops it."""

    def __init__(self, limit: int):
        super().__init__()
        self.limit = limit
        self.going_down = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        if self.limit is not None and len(self.messages) >= self.limit:
            self.going_down.set()
            return "421 4.3.0 server going down for maintenance"
        return await super().handle_DATA(server, session, envelope)


def test_an_smtp_outage_mid_newsletter_is_shown_then_every_reader_gets_one_email_when_it_is_back(
        admin, ctx, run_jobs):
    """The SMTP server accepts 7 messages, then goes away: the send job stops
    and says why on the newsletter's page; when the server is back, the
    retry sends the others, each reader getting exactly one email."""
    handler = FailingServer(limit=7)
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    handler.host, handler.port = "127.0.0.1", port
    configure(handler, batch_size=10, workers=1)
    readers = [f"reader{i}@example.com" for i in range(25)]
    newsletter, page = write_newsletter(admin, [audience(*readers).id])

    def stop_when_going_down():
        handler.going_down.wait(timeout=60)
        controller.stop()

    stopper = threading.Thread(target=stop_when_going_down)
    stopper.start()
    confirm(action_form(page, "send").submit()).follow()
    run_jobs()
    stopper.join()

    assert len(handler.messages) == 7
    rows = list(Send.select().where(Send.newsletter == newsletter.id))
    assert sum(row.status == "sent" for row in rows) == 7
    assert {row.status for row in rows} == {"sent", "queued"}  # none failed, none lost
    page = admin.get(f"/admin/email/{newsletter.id}")
    assert "7 sent, 0 skipped, 0 failed, 18 to go, of 25" in figures(page)
    waiting = page.html.select_one("details.waiting").get_text(" ", strip=True)
    assert f"SMTP server 127.0.0.1:{port}: 421 4.3.0 server going down for maintenance" in waiting  # why it waits
    assert Newsletter.get_by_id(newsletter.id).status == "sending"

    # the server stays down for longer than MAX_ATTEMPTS retries: nobody is failed for it
    later = utcnow()
    for _ in range(sendlog.MAX_ATTEMPTS + 2):
        later += 2 * newsletters.OUTAGE_DELAY
        with time_machine.travel(later, tick=True):
            newsletters.sweep()  # the periodic job restarts the send
            run_jobs()
    rows = list(Send.select().where(Send.newsletter == newsletter.id))
    assert {row.status for row in rows} == {"sent", "queued"}
    assert max(row.attempts for row in rows) <= 1
    waiting = admin.get(f"/admin/email/{newsletter.id}").html.select_one("details.waiting").get_text(" ", strip=True)
    assert "Connection refused" in waiting

    handler.limit = None
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with time_machine.travel(later + 2 * newsletters.OUTAGE_DELAY, tick=True):
            newsletters.sweep()
            run_jobs()
    finally:
        controller.stop()
    received = [m.envelope_to[0] for m in handler.messages]
    assert sorted(received) == sorted(readers)  # everyone, once
    assert {row.status for row in Send.select().where(Send.newsletter == newsletter.id)} == {"sent"}
    assert Newsletter.get_by_id(newsletter.id).status == "sent"


@pytest.fixture
def morning():
    """The clock at 09:00 UTC tomorrow, ticking: a test that travels half an
    hour ahead stays on the same send day (run near midnight, it did not)."""
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    with time_machine.travel(dt.datetime.combine(tomorrow, dt.time(9), tzinfo=dt.timezone.utc), tick=True):
        yield


def test_workflow_and_smart_content_emails_wait_for_an_smtp_server_that_is_down_then_go_once(morning, admin, ctx,
                                                                                           run_jobs):
    """The SMTP server is down when a workflow step and the smart content
    programme send: nothing is lost or failed for good; once the server is
    back, each person gets their email once."""
    from plugins.automation import WorkflowRun
    from plugins.smart_content import sender

    handler = SmtpSink()
    port = free_port()  # nothing listens there yet
    handler.host, handler.port = "127.0.0.1", port
    configure(handler)
    live("Welcome", [{"type": "tag_added", "settings": {"tag": "new"}}],
         [{"type": "action", "action": "email.send",
           "settings": {"subject": "Bienvenue", "body": "<p>Bonjour {{ first_name }}</p>"}}])
    ada = create_contact({"email": "ada@example.com", "first_name": "Ada"})
    contacts.add_tag(ada, "new")
    run_jobs()
    (run,) = runs_of(ada)
    assert run.status == "retrying" and "Connection refused" in run.error  # the step waits with its backoff
    welcome = Send.get(Send.kind == "workflow.email")
    assert welcome.status == "failed" and "Connection refused" in welcome.reason

    smart_content_programme()
    luc = create_contact({"email": "luc@example.com", "first_name": "Luc"})
    contacts.add_tag(luc, "CRM")
    run_jobs()
    assert run_programme()["claimed"] == 1
    run_jobs(queues=["email"])
    pick = Pick.get(Pick.contact == luc.id)
    assert pick.status == "claimed" and "Connection refused" in pick.reason  # kept to send later
    waiting = admin.get("/admin/smart-content").html.select_one("p.waiting").get_text(" ", strip=True)
    assert "1 picked content not sent yet" in waiting and "Connection refused" in waiting  # seen, not silent

    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        traveller = later(ctx, run_jobs, seconds=31)  # the step's retry
        traveller.stop()
        with time_machine.travel(utcnow() + sender.STALE_CLAIM + dt.timedelta(minutes=1), tick=True):
            assert run_programme()["requeued"] == 1
            run_jobs(queues=["email"])
    finally:
        controller.stop()
    assert sorted(m.envelope_to[0] for m in handler.messages) == ["ada@example.com", "luc@example.com"]
    assert WorkflowRun.get_by_id(run.id).status == "completed"
    assert Send.get_by_id(welcome.id).status == "sent"
    assert Pick.get_by_id(pick.id).status == "sent"
    assert admin.get("/admin/smart-content").html.select_one("p.waiting") is None


def test_a_pick_still_waiting_on_the_next_send_day_is_not_sent_any_more(ctx, run_jobs):
    from plugins.smart_content import sender

    handler = SmtpSink()
    handler.host, handler.port = "127.0.0.1", free_port()  # down, and it stays down
    configure(handler)
    smart_content_programme()
    luc = create_contact({"email": "luc@example.com", "first_name": "Luc"})
    contacts.add_tag(luc, "CRM")
    run_jobs()
    run_programme()
    run_jobs(queues=["email"])
    pick = Pick.get(Pick.contact == luc.id)
    assert pick.status == "claimed"
    sender.requeue_stale(pick.send_date + dt.timedelta(days=1))
    pick = Pick.get_by_id(pick.id)
    assert pick.status == "failed"
    assert sender.explain_reason(pick.reason) == "not sent: the email channel stayed unavailable until the next send day"


def test_gdpr_emails_are_tried_again_when_the_smtp_server_is_down(ctx):
    """The re-opt-in request (a workflow action) and the self-service export
    link (a job) raise SendLater on an outage, so their step or job is tried
    again; with the server back, the same key sends each once."""
    from core import SendLater
    from plugins.gdpr.public_views import send_export_link
    from plugins.gdpr.reoptin import REOPTIN_SUBJECT, REOPTIN_TEXT, request_reoptin

    handler = SmtpSink()
    handler.host, handler.port = "127.0.0.1", free_port()  # nothing listens there yet
    configure(handler)
    paul = create_contact({"email": "paul@example.com", "language": "fr"})
    settings = {"campaign": "2026", "subject": REOPTIN_SUBJECT, "body": REOPTIN_TEXT}
    with pytest.raises(SendLater, match="Connection refused"):
        request_reoptin(paul, settings)
    with pytest.raises(SendLater, match="Connection refused"):
        send_export_link(paul.id, "nonce1")

    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    try:
        assert request_reoptin(paul, settings) == "sent"
        assert send_export_link(paul.id, "nonce1") == "sent"
        assert request_reoptin(paul, settings) == "skipped"  # once per campaign
    finally:
        controller.stop()
    assert len(handler.messages) == 2


def test_a_dkim_key_that_cannot_sign_pauses_the_newsletter_instead_of_failing_every_reader(
        admin, ctx, smtp_sink, run_jobs):
    """A key that does not sign (set by the environment, say) would fail every
    message the same way: the newsletter pauses with the reason on its page,
    nobody is failed, and Resume sends to everyone once the key is fixed."""
    from tests.test_email_deliverability import rsa_key

    configure(smtp_sink, dkim_selector="s1", dkim_domain="example.com",
              dkim_private_key="-----BEGIN RSA PRIVATE KEY-----\nbm90IGEga2V5\n-----END RSA PRIVATE KEY-----\n")
    readers = [f"reader{i}@example.com" for i in range(6)]
    newsletter, page = write_newsletter(admin, [audience(*readers).id])
    confirm(action_form(page, "send").submit()).follow()
    run_jobs()
    assert smtp_sink.messages == []
    assert Newsletter.get_by_id(newsletter.id).status == "paused"
    page = admin.get(f"/admin/email/{newsletter.id}")
    assert "0 sent, 0 skipped, 0 failed, 6 to go, of 6" in figures(page)
    assert "DKIM" in page.html.select_one("details.waiting").get_text(" ", strip=True)
    assert "DKIM" in page.html.select_one("dd.pause-reason").get_text(" ", strip=True)  # why, in one place

    configure(smtp_sink, dkim_selector="s1", dkim_domain="example.com", dkim_private_key=rsa_key(1024))
    action_form(admin.get(f"/admin/email/{newsletter.id}"), "resume").submit()
    run_jobs()
    assert sorted(m.envelope_to[0] for m in smtp_sink.messages) == sorted(readers)
    assert all(m["DKIM-Signature"] for m in smtp_sink.messages)
    assert Newsletter.get_by_id(newsletter.id).status == "sent"
    assert {row.status for row in Send.select().where(Send.newsletter == newsletter.id)} == {"sent"}


class SenderRefusingSink(SmtpSink):
    """The SMTP sink, refusing every sender (550) while ``refusing`` is set."""

    refusing = True

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.refusing:
            return f"550 5.7.1 <{address}>: sender not allowed to relay through this server"
        envelope.mail_from = address
        return "250 OK"


def test_a_sender_the_server_refuses_pauses_the_newsletter_instead_of_failing_readers_one_by_one(
        admin, ctx, run_jobs):
    """A 5xx to MAIL FROM (a sender the relay does not allow) would refuse
    every message the same way: the newsletter pauses at once with the
    server's answer on its page, nobody's attempt is counted, and Resume
    sends to everyone once the server takes the sender."""
    handler = SenderRefusingSink()
    controller = start_smtp(handler)
    try:
        configure(handler)
        readers = [f"reader{i}@example.com" for i in range(5)]
        newsletter, page = write_newsletter(admin, [audience(*readers).id])
        confirm(action_form(page, "send").submit()).follow()
        run_jobs()
        assert handler.messages == []
        assert Newsletter.get_by_id(newsletter.id).status == "paused"
        rows = list(Send.select().where(Send.newsletter == newsletter.id))
        assert {row.status for row in rows} == {"queued"} and {row.attempts for row in rows} == {0}
        page = admin.get(f"/admin/email/{newsletter.id}")
        assert "0 sent, 0 skipped, 0 failed, 5 to go, of 5" in figures(page)
        assert "550 5.7.1" in page.html.select_one("details.waiting").get_text(" ", strip=True)
        assert "550 5.7.1" in page.html.select_one("dd.pause-reason").get_text(" ", strip=True)

        handler.refusing = False
        action_form(admin.get(f"/admin/email/{newsletter.id}"), "resume").submit()
        run_jobs()
        assert sorted(m.envelope_to[0] for m in handler.messages) == sorted(readers)
        assert Newsletter.get_by_id(newsletter.id).status == "sent"
        assert Newsletter.get_by_id(newsletter.id).pause_reason == ""  # resuming cleared it
    finally:
        controller.stop()


def test_a_content_that_no_longer_renders_pauses_the_newsletter_with_the_reason_on_its_page(
        admin, ctx, smtp_sink, run_jobs):
    """The content is checked before sending starts; if it cannot be
    rendered when the send job runs (changed under it), the newsletter pauses
    and its page says why, in French for a French reader too."""
    configure(smtp_sink)
    newsletter, page = write_newsletter(admin, [audience("ada@example.com", "luc@example.com").id])
    confirm(action_form(page, "send").submit()).follow()
    Newsletter.update(content="<p>{{ first_name </p>").where(Newsletter.id == newsletter.id).execute()
    run_jobs()
    assert smtp_sink.messages == []
    paused = Newsletter.get_by_id(newsletter.id)
    assert paused.status == "paused" and paused.pause_reason
    page = admin.get(f"/admin/email/{newsletter.id}")
    assert paused.pause_reason in page.html.select_one("dd.pause-reason").get_text(" ", strip=True)
    french = admin.get(f"/admin/email/{newsletter.id}", headers={"Accept-Language": "fr"})
    assert "Mise en pause par l’envoi" in french.text

    Newsletter.update(content="<p>Bonjour {{ first_name }}</p>").where(Newsletter.id == newsletter.id).execute()
    action_form(admin.get(f"/admin/email/{newsletter.id}"), "resume").submit()
    run_jobs()
    assert sorted(m.envelope_to[0] for m in smtp_sink.messages) == ["ada@example.com", "luc@example.com"]
    assert "pause-reason" not in admin.get(f"/admin/email/{newsletter.id}").text


def test_an_accepted_message_followed_by_one_that_cannot_be_rendered_is_still_recorded_sent(
        admin, ctx, smtp_sink, run_jobs):
    """A message is noted as accepted while the next one is handed over; when
    the next row's content fails (here: a division by zero for three-letter
    first names), the accepted one must still be recorded, in the middle of
    a batch and at its end. Nobody is sent twice and the newsletter ends."""
    configure(smtp_sink)
    segment = Segment.create(name="Readers", kind="static")
    for name in ("Alice", "Bob", "Carla", "Dan"):
        add_to_segment(create_contact({"email": f"{name.lower()}@example.com", "first_name": name}), segment)
    newsletter, page = write_newsletter(admin, [segment.id])
    Newsletter.update(content="<p>{{ first_name }}: {{ 10 // (first_name|length - 3) }}</p>").where(
        Newsletter.id == newsletter.id).execute()
    confirm(action_form(admin.get(f"/admin/email/{newsletter.id}"), "send").submit()).follow()
    run_jobs()
    rows = {row.to_email: row for row in Send.select().where(Send.newsletter == newsletter.id)}
    assert {email: row.status for email, row in rows.items()} == {
        "alice@example.com": "sent", "bob@example.com": "failed", "carla@example.com": "sent",
        "dan@example.com": "failed"}
    assert "ZeroDivisionError" in rows["bob@example.com"].reason
    assert sorted(m.envelope_to[0] for m in smtp_sink.messages) == ["alice@example.com", "carla@example.com"]
    assert Newsletter.get_by_id(newsletter.id).status == "sent"
