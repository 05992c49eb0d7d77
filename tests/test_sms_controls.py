"""SMS part 2 with real components: START replies lift a STOP (and reach the
GDPR consent ledger), and a campaign paused while a real ``couvee worker``
sends it sends nothing more, resumes without a double send, and cancels the
rest."""
from __future__ import annotations

import collections
import contextlib
import subprocess
import sys

import pytest

from core import can_receive, utcnow
from core.contacts import create_contact
from core.models import CustomField, Event
from plugins.sms import campaigns
from plugins.sms.models import Campaign, OptOut, SmsSend
from plugins.sms.optout import is_start, is_stop
from tests.fake_twilio import fake_twilio  # noqa: F401 (fixture)
from tests.test_email_newsletter import _worker_env
from tests.test_sms import _post_signed, big_campaign, configure


@pytest.fixture
def phone_field(ctx):
    return CustomField.create(key="phone", label="Mobile", type_id="phone")


def _kinds(contact, kinds):
    return [e.kind for e in Event.select().where(Event.contact == contact.id).order_by(Event.id) if e.kind in kinds]


@pytest.mark.parametrize("body, stop, start", [
    ("stop", True, False), ("Arrêt", True, False), ("ARRET !", True, False), ("stop  sms", True, False),
    ("start", False, True), (" Unstop. ", False, True), ("yes", False, True),
    ("oui", False, False), ("start please", False, False), ("", False, False),
])
def test_reply_keywords(body, stop, start):
    assert (is_stop(body), is_start(body)) == (stop, start)


def test_start_lifts_the_opposition_and_is_in_the_consent_ledger(web, ctx, phone_field, fake_twilio, run_jobs):
    from plugins.gdpr.models import ConsentRecord, ConsentState

    configure(fake_twilio)
    ada = create_contact({"email": "ada@example.com", "phone": "+33612345678"})
    stop = {"From": "+33612345678", "To": "+33700000001", "Body": "ARRET"}
    _post_signed(web, "/sms/hooks/inbound", stop)
    assert not can_receive(ada, "sms", "marketing")[0]

    start = dict(stop, Body="Start")
    web.post("/sms/hooks/inbound", start, status=403)  # unsigned: changes nothing
    assert OptOut.select().count() == 1
    _post_signed(web, "/sms/hooks/inbound", start)
    _post_signed(web, "/sms/hooks/inbound", start)  # delivered twice: recorded once
    assert OptOut.select().count() == 0
    assert can_receive(ada, "sms", "marketing")[0]
    assert _kinds(ada, ("sms_opted_out", "sms_opted_in", "consent_withdrawn", "consent_given")) == [
        "sms_opted_out", "consent_withdrawn", "sms_opted_in", "consent_given"]
    opted_in = Event.get((Event.contact == ada.id) & (Event.kind == "sms_opted_in"))
    assert opted_in.data == {"phone": "+33612345678", "keyword": "START"}
    run_jobs()
    ledger = [(r.granted, r.source, r.text) for r in ConsentRecord.select().where(
        (ConsentRecord.contact == ada.id) & (ConsentRecord.purpose == "sms_marketing")).order_by(ConsentRecord.id)]
    assert ledger == [(False, "sms_stop", "SMS reply: ARRET"), (True, "sms_start", "SMS reply: START")]
    assert ConsentState.get((ConsentState.contact == ada.id) & (ConsentState.purpose == "sms_marketing")).granted


def test_start_from_a_number_that_never_stopped_changes_nothing(web, ctx, phone_field, fake_twilio):
    configure(fake_twilio)
    ada = create_contact({"email": "ada@example.com", "phone": "+33612345678"})
    _post_signed(web, "/sms/hooks/inbound", {"From": "+33612345678", "Body": "YES"})
    _post_signed(web, "/sms/hooks/inbound", {"From": "not a number", "Body": "START"})  # logged, no error
    assert _kinds(ada, ("sms_opted_in", "consent_given")) == []


def _pause_at(fake, app, campaign_id, count):
    """Make the fake gateway pause the campaign (as the admin's button does,
    from another connection) when the ``count``-th message arrives."""
    def hook(form):
        if len(fake.messages) == count - 1:
            with app.app_context(), app.extensions["couvee"].database_connection():
                assert campaigns.pause(Campaign.get_by_id(campaign_id))
        return True

    fake.before_accept = hook


def _states():
    return dict(collections.Counter(row.status for row in SmsSend.select()))


def test_a_campaign_paused_while_a_worker_sends_it_sends_nothing_more_then_resumes_once(
        admin, ctx, wsgi, phone_field, fake_twilio, run_jobs):
    total, pause_at = 40, 15
    configure(fake_twilio)
    campaign = big_campaign(phone_field, total)
    _pause_at(fake_twilio, ctx, campaign.id, pause_at)
    assert campaigns.start(campaign) == []
    worker = subprocess.run([sys.executable, "-m", "core.cli", "worker", "--burst", "--queue", "default"],
                            env=_worker_env(wsgi), timeout=300, capture_output=True)
    assert worker.returncode == 0, worker.stderr[-2000:]
    fake_twilio.before_accept = None
    # the message being sent when the pause came went out; nothing after it
    assert len(fake_twilio.messages) == pause_at
    assert _states() == {"sent": pause_at, "queued": total - pause_at}
    page = admin.get(f"/admin/sms/{campaign.id}")
    assert "paused" in page.text and "pause-campaign" not in page.forms and "resume-campaign" in page.forms

    campaigns.sweep()  # the periodic job does not restart a paused campaign
    run_jobs(queues=("default",))
    assert len(fake_twilio.messages) == pause_at and Campaign.get_by_id(campaign.id).status == "paused"

    page = page.forms["resume-campaign"].submit().follow()
    assert "Sending resumed." in page.text
    run_jobs(queues=("default",))
    received = collections.Counter(m["to"] for m in fake_twilio.messages)
    assert len(received) == total and set(received.values()) == {1}
    assert Campaign.get_by_id(campaign.id).status == "sent"
    again = admin.post(f"/admin/sms/{campaign.id}/resume", {"csrf_token": _csrf(page)}).follow()
    assert "Only a paused campaign can be resumed." in again.text


def _csrf(page):
    import re

    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def test_cancel_marks_the_rest_cancelled_and_sends_nothing_more(admin, ctx, phone_field, fake_twilio, run_jobs):
    total, pause_at = 12, 5
    configure(fake_twilio)
    campaign = big_campaign(phone_field, total)
    _pause_at(fake_twilio, ctx, campaign.id, pause_at)
    assert campaigns.start(campaign) == []
    run_jobs(queues=("default",))
    fake_twilio.before_accept = None
    page = admin.get(f"/admin/sms/{campaign.id}")
    page = page.forms["cancel-campaign"].submit().follow()
    assert "Campaign cancelled" in page.text and "cancel-campaign" not in page.forms
    assert _states() == {"sent": pause_at, "cancelled": total - pause_at}
    assert Campaign.get_by_id(campaign.id).status == "cancelled"
    campaigns.sweep()
    run_jobs(queues=("default",))
    assert len(fake_twilio.messages) == pause_at
    refused = admin.post(f"/admin/sms/{campaign.id}/resume", {"csrf_token": _csrf(page)}).follow()
    assert "Only a paused campaign can be resumed." in refused.text
    admin.post(f"/admin/sms/{campaign.id}/explode", {"csrf_token": _csrf(page)}, status=404)


def test_a_dead_workers_row_of_a_cancelled_campaign_is_cancelled_once_its_lease_ran_out(ctx, phone_field,
                                                                                         fake_twilio):
    import datetime as dt

    import time_machine

    from plugins.sms import claims

    configure(fake_twilio)
    campaign = big_campaign(phone_field, 3)
    assert campaigns.start(campaign) == []  # jobs queued, not run
    held = claims.claim_next(campaign.id)  # a worker took it, then died
    assert campaigns.cancel(Campaign.get_by_id(campaign.id))
    assert _states() == {"sending": 1, "cancelled": 2}
    assert claims.claim_next(campaign.id) is None
    with time_machine.travel(utcnow() + dt.timedelta(minutes=6)):
        campaigns.sweep()
    assert SmsSend.get_by_id(held.id).status == "cancelled" and fake_twilio.messages == []


def test_the_count_endpoint_follows_the_sending_rules_and_needs_a_login(web, admin, ctx):
    from core import store_setting

    store_setting("sms", "price_per_segment", "0.045")
    answer = admin.get("/admin/sms/count", {"text": "Bonjour " + "x" * 160}).json
    assert (answer["encoding"], answer["segments"], answer["units"], answer["cost"]) == ("GSM-7", 2, 168, 0.09)
    assert answer["label"] == "2 segments in GSM-7, 168 characters; 0.09 per recipient."
    assert admin.get("/admin/sms/count", {"text": "Café ? Oui ! 😀"}).json["encoding"] == "UCS-2"
    too_long = admin.get("/admin/sms/count", {"text": "x" * 1601}, status=400).json
    assert too_long["error"] == "The text is 1601 characters long; the maximum is 1600."
    anonymous = type(web)(web.app)
    assert "/admin/login" in anonymous.get("/admin/sms/count", {"text": "x"}, status=302).location


@contextlib.contextmanager
def logged_in_page(chromium, live_server, path):
    """A Chromium page of the logged-in admin at ``path``; fails if a script error occurred."""
    from tests.conftest import browser_login

    context = chromium.new_context(locale="en-US")
    errors = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        browser_login(page, live_server.url)
        page.goto(live_server.url + path)
        yield page
    finally:
        context.close()
    assert errors == []


def test_the_campaign_form_counts_segments_live_in_a_browser(chromium, live_server, admin_user, ctx):
    from playwright.sync_api import expect

    from core import store_setting

    store_setting("sms", "price_per_segment", "0.05")
    with logged_in_page(chromium, live_server, "/admin/sms/") as page:
        live = page.locator("#sms-live-count")
        page.locator("textarea[name=body]").fill("Bonjour Ada")
        expect(live).to_have_text("1 segment in GSM-7, 11 characters; 0.05 per recipient.")
        page.locator("textarea[name=body]").fill("Bonjour Ada 😀 " + "x" * 60)
        expect(live).to_have_text("2 segments in UCS-2, 75 characters; 0.1 per recipient.")


def test_the_workflow_sms_step_counts_segments_live_in_a_browser(chromium, live_server, admin_user, ctx, admin):
    from playwright.sync_api import expect

    from core import store_setting
    from plugins.automation.lifecycle import create_workflow

    store_setting("sms", "price_per_segment", "0.05")
    workflow = create_workflow("Relance")
    step_url = f"/admin/workflows/{workflow.id}/steps/new?kind=action:sms.send"
    assert 'data-sms-count-for="s-text"' in admin.get(step_url).text
    other = admin.get(f"/admin/workflows/{workflow.id}/steps/new?kind=action:tag.add").text
    assert "sms-live-count" not in other and "sms-count.js" not in other
    with logged_in_page(chromium, live_server, step_url) as page:
        page.locator("#s-text").fill("Bonjour {{ first_name }} " + "x" * 140)
        expect(page.locator("#sms-live-count")).to_have_text(
            "2 segments in GSM-7, 169 characters; 0.1 per recipient.")  # { and } take two septets
