"""Newsletters: written and sent from the admin to segments minus
exclusions, personalised per contact, vetoes skipped with the reason,
progress, pause/resume, scheduling, send windows, and a worker killed in the
middle of 5,000 recipients: everyone gets exactly one email."""
from __future__ import annotations

import collections
import datetime as dt
import os
import signal
import subprocess
import sys

import pytest
import time_machine

from core import utcnow
from core.contacts import create_contact
from core.models import Contact, CustomField, Event
from plugins.segments import Segment, SegmentMember, add_to_segment
from tests.conftest import csrf_of
from tests.test_email_send import configure, part

from plugins.email import newsletters
from plugins.email.models import Newsletter, Send


def static_list(name: str) -> Segment:
    return Segment.create(name=name, kind="static")


def editor_form(page):
    return next(f for f in page.forms.values() if "subject" in f.fields)


def write_newsletter(admin, segment_ids, exclusions=(), **extra):
    form = editor_form(admin.get("/admin/email/new"))
    form["name"] = extra.get("name", "Spring news")
    form["subject"] = extra.get("subject", 'Spring for {{ first_name or "you" }}')
    form["content"] = extra.get("content", '<p>Hi {{ first_name or "there" }} from {{ fields.company or "nowhere" }}!</p>'
                                            '<p><a href="https://shop.example/spring">Shop</a></p>'
                                            '<img src="https://shop.example/b.png" alt="Spring banner">')
    form["content_format"] = extra.get("content_format", "html")
    form["segments"] = [str(i) for i in segment_ids]
    if exclusions:
        form["exclusions"] = [str(i) for i in exclusions]
    form["utm_campaign"] = "spring"
    response = form.submit().follow()
    return Newsletter.select().order_by(Newsletter.id.desc()).first(), response


def test_newsletter_to_a_segment_minus_exclusions_personalised_with_progress(admin, ctx, smtp_sink, run_jobs):
    configure(smtp_sink)
    CustomField.create(key="company", label="Company", type_id="text")
    customers, blocked = static_list("Customers"), static_list("Do not mail")
    ada = create_contact({"email": "ada@example.com", "first_name": "Ada", "company": "Analytical"})
    bob = create_contact({"email": "bob@example.com"})
    cyd = create_contact({"email": "cyd@example.com", "first_name": "Cyd"})
    dee = create_contact({"email": "dee@example.com", "first_name": "Dee"})
    for contact in (ada, bob, cyd, dee):
        add_to_segment(contact, customers)
    add_to_segment(cyd, blocked)
    from plugins.email import standing

    standing.unsubscribe(dee, None)
    newsletter, page = write_newsletter(admin, [customers.id], [blocked.id])
    assert "Unsubscribe link" in page.text or "in place" in page.text
    send_form = [f for f in page.forms.values() if f.action.endswith("/send")][0]
    confirm = send_form.submit()
    assert "Send “Spring for" in confirm.text and "<strong>3</strong> contacts" in confirm.text  # dee is skipped later
    assert Newsletter.get_by_id(newsletter.id).status == "draft"  # nothing happens before the confirmation
    yes = next(f for f in confirm.forms.values() if f.fields.get("confirmed"))
    assert "Sending started." in yes.submit().follow().text
    run_jobs()
    messages = smtp_sink.wait_for(2)
    assert sorted(m["To"] for m in messages) == ["ada@example.com", "bob@example.com"]
    by_to = {m["To"]: m for m in messages}
    assert by_to["ada@example.com"]["Subject"] == "Spring for Ada"
    assert by_to["bob@example.com"]["Subject"] == "Spring for you"
    assert "Hi Ada from Analytical!" in part(by_to["ada@example.com"], "plain")
    assert "Hi there from nowhere!" in part(by_to["bob@example.com"], "plain")
    html = part(by_to["ada@example.com"], "html")
    assert 'style="' in html  # CSS inlined
    assert "View this email in your browser" in html
    newsletter = Newsletter.get_by_id(newsletter.id)
    assert newsletter.status == "sent" and newsletter.total == 3
    skipped = Send.get((Send.newsletter == newsletter.id) & (Send.contact == dee.id))
    # the reason says why and which plugins vetoed: "opposes email prospecting; unsubscribed (gdpr, email)"
    assert skipped.status == "skipped" and "unsubscribed" in skipped.reason
    assert "email" in skipped.reason.rsplit("(", 1)[1].rstrip(")").split(", ")
    show = admin.get(f"/admin/email/{newsletter.id}")
    assert "2</strong> sent, 1 skipped" in show.text
    assert 'role="progressbar" aria-valuenow="100"' in show.text
    # one email_sent event per message sent, recorded with it and dispatched (one job per batch)
    sent_ids = {row.id for row in Send.select().where((Send.newsletter == newsletter.id) & (Send.status == "sent"))}
    sent_events = [e for e in Event.select().where(Event.kind == "email_sent")
                   if e.data.get("newsletter_id") == newsletter.id]
    assert sorted(e.data["email_id"] for e in sent_events) == sorted(sent_ids)
    assert all(e.dispatched_at is not None and e.source == "email" for e in sent_events)


def test_rules_refuse_a_newsletter_without_postal_address(admin, ctx, smtp_sink):
    configure(smtp_sink, postal_address="")
    customers = static_list("Customers")
    newsletter, page = write_newsletter(admin, [customers.id], content='<p>No alt <img src="x.png"></p>')
    assert "postal address is missing" in page.text
    assert "1 image has no alt text (x.png)" in page.text
    assert not [f for f in page.forms.values() if f.action.endswith("/send")]


@pytest.fixture
def theme_without_footer(instance):
    folder = instance / "themes" / "default" / "templates" / "email"
    folder.mkdir(parents=True)
    (folder / "layout.html").write_text("<html><body>{{ body }}</body></html>")


def test_a_theme_layout_without_unsubscribe_link_is_refused(theme_without_footer, ctx, smtp_sink):
    configure(smtp_sink, from_email="noreply@couvee.test")
    newsletter = Newsletter.create(name="x", subject="s", content="<p>x</p>", segments=[static_list("All").id])
    verdict = newsletters.check_ready(Newsletter.get_by_id(newsletter.id))
    assert any("unsubscribe link" in e for e in verdict.errors)
    assert any("no-reply" in w for w in verdict.warnings)
    assert newsletters.start(Newsletter.get_by_id(newsletter.id)).errors
    assert Newsletter.get_by_id(newsletter.id).status == "draft"


def test_bad_form_input_keeps_what_was_typed(admin, ctx):
    form = editor_form(admin.get("/admin/email/new"))
    form["name"] = ""
    form["subject"] = "Hello {{ first_name"
    form["content"] = "<p>kept</p>"
    form["content_format"] = "html"
    form["sender_email"] = "not an address"
    response = form.submit(status=422)
    assert "Give the newsletter a name." in response.text
    assert "Template error" in response.text
    assert "This is not a valid email address." in response.text
    assert "&lt;p&gt;kept&lt;/p&gt;" in response.text
    assert Newsletter.select().count() == 0


def test_pause_resume_and_schedule(admin, ctx, smtp_sink, run_jobs):
    configure(smtp_sink, batch_size=2, workers=1)
    customers = static_list("Customers")
    for i in range(5):
        add_to_segment(create_contact({"email": f"p{i}@example.com"}), customers)
    newsletter, _ = write_newsletter(admin, [customers.id])
    at = utcnow() + dt.timedelta(hours=2)
    assert not newsletters.start(newsletter, at).errors
    assert Newsletter.get_by_id(newsletter.id).status == "scheduled"
    run_jobs()
    assert smtp_sink.messages == [] and newsletters.begin(newsletter.id) == "not due"
    with time_machine.travel(at + dt.timedelta(minutes=1)):
        assert newsletters.begin(newsletter.id) == "5 recipients"
        newsletters.pause(Newsletter.get_by_id(newsletter.id))
        run_jobs()
        assert smtp_sink.messages == []
        page = admin.get(f"/admin/email/{newsletter.id}")
        assert "0</strong> sent" in page.text and "5 to go" in page.text
        admin.post(f"/admin/email/{newsletter.id}/resume", {"csrf_token": csrf_of(page)}).follow()
        run_jobs()
    assert len(smtp_sink.wait_for(5)) == 5
    assert Newsletter.get_by_id(newsletter.id).status == "sent"


def test_send_window_in_the_contacts_timezone(ctx, smtp_sink, run_jobs):
    configure(smtp_sink)
    CustomField.create(key="timezone", label="Timezone", type_id="text")
    customers = static_list("Customers")
    tokyo = create_contact({"email": "tokyo@example.com", "timezone": "Asia/Tokyo"})
    paris = create_contact({"email": "paris@example.com", "timezone": "Europe/Paris"})
    for contact in (tokyo, paris):
        add_to_segment(contact, customers)
    newsletter = Newsletter.create(name="Window", subject="Hi", content="<p>Hi</p>", segments=[customers.id],
                                   window={"days": [0, 1, 2, 3, 4], "start": 9, "end": 11})
    monday_9_30_paris = dt.datetime(2030, 1, 7, 8, 30, tzinfo=dt.timezone.utc)  # 17:30 in Tokyo
    with time_machine.travel(monday_9_30_paris, tick=False):
        newsletters.start(newsletter)
        run_jobs()
        assert [m["To"] for m in smtp_sink.wait_for(1)] == ["paris@example.com"]
        waiting = Send.get(Send.contact == tokyo.id)
        assert waiting.status == "queued"
        assert waiting.not_before == dt.datetime(2030, 1, 8, 0, 0, tzinfo=dt.timezone.utc)  # Tue 9:00 Tokyo
    with time_machine.travel(dt.datetime(2030, 1, 8, 0, 5, tzinfo=dt.timezone.utc), tick=False):
        newsletters.sweep()
        run_jobs()
    assert sorted(m["To"] for m in smtp_sink.wait_for(2)) == ["paris@example.com", "tokyo@example.com"]
    assert Newsletter.get_by_id(newsletter.id).status == "sent"


def _worker_env(wsgi) -> dict:
    config = wsgi.runtime.config
    env = dict(os.environ)
    env.update(COUVEE_INSTANCE=str(config.instance_path), COUVEE_DATABASE_URL=config.database_url,
               COUVEE_REDIS_URL=config.redis_url, COUVEE_SECRET_KEY=config.secret_key,
               COUVEE_BASE_URL=config.base_url)
    return env


def kill_with_work_horses(pid: int) -> None:
    """SIGKILL a worker and the work horses it forked (RQ puts each horse in
    its own session, so killing the worker's group is not enough). The worker
    is stopped first so that it cannot fork a horse after the children are
    listed (such a horse lived on into the next test and held its drain flag)."""
    os.kill(pid, signal.SIGSTOP)
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                children.append(int(entry))
    for victim in children + [pid]:
        os.kill(victim, signal.SIGKILL)


def run_worker_killed_at(wsgi, smtp_sink, kill_at: int) -> None:
    """Run a real worker process (it forks a work horse per job) on the
    ``email`` queue and SIGKILL it from the SMTP server while it waits for the
    reply to message ``kill_at`` + 1; the sink accepts normally again after."""
    worker = subprocess.Popen([sys.executable, "-m", "core.cli", "worker", "--burst", "--queue", "email"],
                              env=_worker_env(wsgi), start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    accept = smtp_sink.handle_DATA

    async def handle_data(server, session, envelope):
        if len(smtp_sink.messages) >= kill_at and worker.poll() is None:
            kill_with_work_horses(worker.pid)
            return "451 4.3.0 Connection lost"
        return await accept(server, session, envelope)

    smtp_sink.handle_DATA = handle_data
    try:
        assert worker.wait(timeout=300) == -signal.SIGKILL
    finally:
        smtp_sink.handle_DATA = accept
    assert len(smtp_sink.messages) == kill_at


def test_a_send_job_that_loses_a_claim_race_claims_the_next_rows(ctx, smtp_sink, monkeypatch):
    """Two send jobs pick the same oldest rows at the same moment: the one
    whose UPDATE finds them taken picks again. It used to get an empty batch,
    take it for "nothing left" and end, so one worker sent the rest alone."""
    from plugins.email import sendlog
    from plugins.email.models import CLAIMED

    configure(smtp_sink)
    segment = static_list("Six")
    for i in range(6):
        add_to_segment(create_contact({"email": f"reader{i}@example.com"}), segment)
    newsletter = Newsletter.create(name="Race", subject="Hello", content="<p>News</p>", segments=[segment.id])
    assert not newsletters.start(newsletter).errors
    newsletters.begin(newsletter.id)  # what the begin job does, without running its send jobs
    update, rival = Send.update.__func__, []

    def racing_update(cls, *args, **kwargs):
        if not rival:  # the other job claims the three oldest rows just before this job's UPDATE
            oldest = [row.id for row in Send.select(Send.id).where(Send.newsletter == newsletter.id)
                      .order_by(Send.id).limit(3)]
            rival.extend(oldest)
            update(cls, status=CLAIMED, claim="rival").where(Send.id.in_(oldest)).execute()
        return update(cls, *args, **kwargs)

    monkeypatch.setattr(Send, "update", classmethod(racing_update))
    claim, rows = sendlog.claim_batch(newsletter.id, 3)
    assert len(rival) == 3
    left = [row.id for row in Send.select(Send.id).where(
        (Send.newsletter == newsletter.id) & Send.id.not_in(rival)).order_by(Send.id)]
    assert [row.id for row in rows] == left  # the three rows the rival did not take
    assert {row.claim for row in rows} == {claim}
    assert sendlog.claim_batch(newsletter.id, 3)[1] == []  # all six are held: nothing left to claim


def test_a_worker_killed_mid_newsletter_leaves_every_recipient_exactly_one_email(ctx, wsgi, smtp_sink, run_jobs):
    total, kill_at = 5000, 1500
    configure(smtp_sink, batch_size=100, workers=2)
    customers = static_list("Everyone")
    now = utcnow()
    with Contact._meta.database.atomic():
        for start in range(0, total, 500):
            Contact.insert_many([{"email": f"r{i}@example.com", "created_at": now, "updated_at": now}
                                 for i in range(start, start + 500)]).execute()
    ids = [c.id for c in Contact.select(Contact.id)]
    with Contact._meta.database.atomic():
        for start in range(0, total, 500):
            SegmentMember.insert_many([{"segment": customers.id, "contact": i} for i in ids[start:start + 500]]).execute()
    newsletter = Newsletter.create(name="Big", subject="Hello {{ first_name or 'friend' }}", content="<p>Big news</p>",
                                   segments=[customers.id])
    assert not newsletters.start(newsletter).errors

    run_worker_killed_at(wsgi, smtp_sink, kill_at)
    claimed = Send.select().where((Send.newsletter == newsletter.id) & (Send.status == "sending")).count()
    assert claimed > 0  # the dead worker's batch is still claimed

    with time_machine.travel(utcnow() + dt.timedelta(minutes=11)):  # past the dead worker's lease
        newsletters.sweep()
        run_jobs(queues=("email",))
    received = collections.Counter(m["To"] for m in smtp_sink.wait_for(total, timeout=60))
    assert len(received) == total
    assert set(received.values()) == {1}
    assert Send.select().where((Send.newsletter == newsletter.id) & (Send.status == "sent")).count() == total
    assert Newsletter.get_by_id(newsletter.id).status == "sent"
