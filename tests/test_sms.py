"""The SMS plugin with real components: the channel against a local fake of
Twilio's API, phone numbers in E.164, the workflow action, signed STOP and
receipt webhooks, campaigns to segments with the cost shown before sending,
and a worker SIGKILLed mid-campaign: everyone gets exactly one SMS."""
from __future__ import annotations

import collections
import datetime as dt
import signal
import subprocess
import sys

import pytest
import time_machine

from core import ContactError, Message, can_receive, send_message, store_setting, utcnow
from core.contacts import create_contact
from core.models import Contact, ContactValue, CustomField, Event
from plugins.segments import Segment, SegmentMember
from plugins.sms import campaigns
from plugins.sms.models import Campaign, OptOut, SmsSend
from plugins.sms.provider import twilio_signature
from tests.conftest import csrf_of
from tests.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, fake_twilio  # noqa: F401 (fixture)
from tests.test_email_newsletter import _worker_env, kill_with_work_horses

SENDER = "+33700000001"


def configure(fake, price="0.05"):
    for key, value in (("account_sid", ACCOUNT_SID), ("auth_token", AUTH_TOKEN), ("sender", SENDER),
                       ("base_url", fake.url), ("price_per_segment", price)):
        store_setting("sms", key, value)
    store_setting("gdpr", "require_consent", False)  # consent is the GDPR plugin's business, tested there


@pytest.fixture
def phone_field(ctx):
    return CustomField.create(key="phone", label="Mobile", type_id="phone")


def test_a_phone_field_stores_e164_and_refuses_invalid_numbers(ctx, phone_field):
    ada = create_contact({"email": "ada@example.com", "phone": "06 12 34 56 78"})
    assert ContactValue.get(ContactValue.contact == ada.id).value == "+33612345678"
    with pytest.raises(ContactError) as refused:
        create_contact({"email": "bob@example.com", "phone": "12"})
    assert "not a valid phone number" in str(refused.value.errors) or "not a phone number" in str(refused.value.errors)
    assert Contact.get_or_none(Contact.email == "bob@example.com") is None


def test_the_channel_sends_once_per_key_through_the_gateway(ctx, phone_field, fake_twilio):
    configure(fake_twilio)
    ada = create_contact({"email": "ada@example.com", "first_name": "Ada", "phone": "+33612345678"})
    message = Message(to="06 12 34 56 78", subject="", text="Votre code : 4821", contact=ada,
                      kind="test.code", purpose="transactional", key="code:1")
    first = send_message(message, channel="sms")
    again = send_message(message, channel="sms")
    assert first.sent and first.provider_id.startswith("SM")
    assert again.status == "skipped" and "already sent" in again.reason
    assert len(fake_twilio.messages) == 1
    sent = fake_twilio.requests[0]
    assert sent["To"] == "+33612345678" and sent["From"] == SENDER and sent["Body"] == "Votre code : 4821"
    assert sent["StatusCallback"] == "http://couvee.test/sms/hooks/status"
    row = SmsSend.get(SmsSend.key == "code:1")
    assert (row.status, row.provider_id, row.segments, row.contact_id) == ("sent", first.provider_id, 1, ada.id)


def test_gateway_errors_are_recorded_and_bad_numbers_skipped(ctx, phone_field, fake_twilio):
    configure(fake_twilio)
    store_setting("sms", "auth_token", "wrong")
    result = send_message(Message(to="+33612345678", subject="", text="Hi", key="k1"), channel="sms")
    assert result.status == "failed" and "Twilio 20003: Authenticate" in result.reason
    assert SmsSend.get(SmsSend.key == "k1").status == "failed"  # a 401 is not retried
    skipped = send_message(Message(to="not a number", subject="", text="Hi", key="k2"), channel="sms")
    assert skipped.status == "skipped" and "not a phone number" in skipped.reason
    assert fake_twilio.messages == []


def test_the_workflow_action_fills_tokens_and_skips_contacts_without_a_number(ctx, phone_field, fake_twilio):
    configure(fake_twilio)
    action = ctx.extensions["couvee"].registries.actions["sms.send"]
    ada = create_contact({"email": "ada@example.com", "first_name": "Ada", "phone": "0612345678"})
    bob = create_contact({"email": "bob@example.com"})
    settings = {"text": 'Bonjour {{ first_name or "vous" }}, -20 % ce week-end', "purpose": "marketing"}
    assert action.run(ada, settings, {"key": "wf:1:ada"}) == "sent"
    assert action.run(ada, settings, {"key": "wf:1:ada"}).startswith("skipped: already sent")
    assert action.run(bob, settings, {"key": "wf:1:bob"}) == "skipped: no phone number"
    assert [m["body"] for m in fake_twilio.messages] == ["Bonjour Ada, -20 % ce week-end"]
    assert action.problems({"text": ""}) == ["write the text of the SMS."]


def _post_signed(web, path, form, token=AUTH_TOKEN, **kwargs):
    signature = twilio_signature(token, "http://couvee.test" + path, form)
    return web.post(path, form, headers={"X-Twilio-Signature": signature}, **kwargs)


def test_stop_replies_record_the_opposition_only_when_signed(web, ctx, phone_field, fake_twilio, run_jobs):
    configure(fake_twilio)
    ada = create_contact({"email": "ada@example.com", "phone": "+33612345678"})
    form = {"From": "+33612345678", "To": SENDER, "Body": " stop ", "MessageSid": "SMx"}
    assert web.post("/sms/hooks/inbound", form, status=403).text.startswith("invalid or missing")
    _post_signed(web, "/sms/hooks/inbound", form, token="forged", status=403)
    assert OptOut.select().count() == 0 and can_receive(ada, "sms", "marketing")[0]

    reply = _post_signed(web, "/sms/hooks/inbound", form)
    assert reply.content_type == "text/xml" and "<Response>" in reply.text
    _post_signed(web, "/sms/hooks/inbound", form)  # delivered twice: one opposition, one event
    assert OptOut.get().contact_id == ada.id
    assert [e.kind for e in Event.select().where(Event.contact == ada.id).order_by(Event.id)
            if e.kind in ("sms_opted_out", "consent_withdrawn")] == ["sms_opted_out", "consent_withdrawn"]
    allowed, vetoes = can_receive(ada, "sms", "marketing")
    assert not allowed and "sms" in vetoes
    assert can_receive(ada, "sms", "transactional")[0] and can_receive(ada, "email", "marketing")[0]
    skipped = send_message(Message(to="+33612345678", subject="", text="Promo", contact=ada, purpose="marketing",
                                   key="promo"), channel="sms")
    assert skipped.status == "skipped" and "replied STOP to an SMS" in skipped.reason
    run_jobs()
    from plugins.gdpr.models import ConsentState
    state = ConsentState.get((ConsentState.contact == ada.id) & (ConsentState.purpose == "sms_marketing"))
    assert state.granted is False


def test_delivery_receipts_update_the_send_row(web, ctx, phone_field, fake_twilio):
    configure(fake_twilio)
    result = send_message(Message(to="+33612345678", subject="", text="Hi", key="r1"), channel="sms")
    form = {"MessageSid": result.provider_id, "MessageStatus": "delivered", "AccountSid": ACCOUNT_SID}
    web.post("/sms/hooks/status", form, status=403)
    _post_signed(web, "/sms/hooks/status", form, status=204)
    _post_signed(web, "/sms/hooks/status", dict(form, MessageStatus="sent"), status=204)  # late, older receipt
    assert SmsSend.get(SmsSend.key == "r1").delivery == "delivered"
    _post_signed(web, "/sms/hooks/status", {"MessageSid": result.provider_id}, status=400)


def _segment(name, contacts):
    segment = Segment.create(name=name, kind="static")
    for contact in contacts:
        SegmentMember.create(segment=segment.id, contact=contact.id)
    return segment


def test_a_campaign_shows_its_cost_then_sends_once_to_each_reachable_contact(admin, ctx, phone_field, fake_twilio,
                                                                               run_jobs):
    configure(fake_twilio, price="0.05")
    ada = create_contact({"email": "ada@example.com", "first_name": "Ada", "phone": "0612345678"})
    bob = create_contact({"email": "bob@example.com", "first_name": "Bob"})
    cyd = create_contact({"email": "cyd@example.com", "first_name": "Cyd", "phone": "0698765432"})
    OptOut.create(phone="+33698765432", contact=cyd.id)
    segment = _segment("Clients", [ada, bob, cyd])

    page = admin.get("/admin/sms/")
    form = page.forms["new-campaign"]
    form["name"], form["body"] = "Soldes", ""
    form["segments"] = [str(segment.id)]
    refused = form.submit(status=400)
    assert "Write the text of the message." in refused.text and Campaign.select().count() == 0
    form = refused.forms["new-campaign"]
    form["body"] = "Bonjour {{ first_name }} : soldes -20 % ce week-end ! " + "x" * 120
    shown = form.submit().follow()
    assert "2 segments in GSM-7" in shown.text
    assert "1 recipient will receive it; estimated cost 0.10" in shown.text
    assert "no valid phone number: 1" in shown.text and "replied STOP to an SMS" in shown.text

    shown.forms["send-campaign"].submit().follow()
    run_jobs()
    assert [m["to"] for m in fake_twilio.messages] == ["+33612345678"]
    assert fake_twilio.messages[0]["body"].startswith("Bonjour Ada : soldes")
    campaign = Campaign.get()
    assert campaign.status == "sent" and campaign.total == 3
    reasons = {row.contact_id: (row.status, row.reason) for row in SmsSend.select()}
    assert reasons[bob.id] == ("skipped", "no phone number")
    assert reasons[cyd.id][0] == "skipped" and "replied STOP" in reasons[cyd.id][1]
    again = admin.post(f"/admin/sms/{campaign.id}/send", {"csrf_token": csrf_of(shown)}).follow()
    assert "already sent" in again.text and len(fake_twilio.messages) == 1


def big_campaign(phone_field, total: int) -> Campaign:
    """A draft campaign to a segment of ``total`` new contacts, each with a number."""
    field_id, now = phone_field.id, utcnow()
    with Contact._meta.database.atomic():
        Contact.insert_many([{"email": f"r{i}@example.com", "created_at": now, "updated_at": now}
                             for i in range(total)]).execute()
        ids = [c.id for c in Contact.select(Contact.id).order_by(Contact.id)]
        ContactValue.insert_many([{"contact": contact_id, "field": field_id, "value": f"+336{10000000 + n}"}
                                  for n, contact_id in enumerate(ids)]).execute()
    segment = Segment.create(name="Everyone", kind="static")
    SegmentMember.insert_many([{"segment": segment.id, "contact": i} for i in ids]).execute()
    return Campaign.create(name="Big", body="Big news", segments=[segment.id])


def test_a_worker_killed_mid_campaign_leaves_every_recipient_exactly_one_sms(ctx, wsgi, phone_field, fake_twilio,
                                                                             run_jobs):
    total, kill_at = 300, 120
    configure(fake_twilio)
    campaign = big_campaign(phone_field, total)

    worker = subprocess.Popen([sys.executable, "-m", "core.cli", "worker", "--burst", "--queue", "default"],
                              env=_worker_env(wsgi), start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def kill_mid_send(form):
        if len(fake_twilio.messages) >= kill_at and worker.poll() is None:
            kill_with_work_horses(worker.pid)  # while this request waits for its answer: not accepted
            return False
        return True

    fake_twilio.before_accept = kill_mid_send
    assert campaigns.start(campaign) == []
    try:
        assert worker.wait(timeout=300) == -signal.SIGKILL
    finally:
        fake_twilio.before_accept = None
    assert len(fake_twilio.messages) == kill_at
    assert SmsSend.select().where(SmsSend.status == "sending").count() >= 1  # the dead worker's claims

    with time_machine.travel(utcnow() + dt.timedelta(minutes=6)):  # past the dead worker's lease
        campaigns.sweep()
        run_jobs(queues=("default",))
    received = collections.Counter(m["to"] for m in fake_twilio.messages)
    assert len(received) == total and set(received.values()) == {1}
    assert SmsSend.select().where(SmsSend.status == "sent").count() == total
    assert Campaign.get_by_id(campaign.id).status == "sent"


def test_export_and_erase_cover_sms_data(ctx, phone_field, fake_twilio):
    from core import erase_contact, export_contact

    configure(fake_twilio)
    ada = create_contact({"email": "ada@example.com", "phone": "+33612345678"})
    send_message(Message(to="+33612345678", subject="", text="Hi Ada", contact=ada, key="e1"), channel="sms")
    exported = export_contact(ada)
    text = repr(exported)
    assert "Hi Ada" in text and "+33612345678" in text
    erase_contact(ada, "delete")
    assert SmsSend.select().count() == 0


def test_a_gateway_outage_loses_no_message(ctx, phone_field, fake_twilio, run_jobs):
    configure(fake_twilio)
    ada = create_contact({"email": "ada@example.com", "phone": "0612345678"})
    campaign = Campaign.create(name="Outage", body="Hello", segments=[_segment("Clients", [ada]).id])
    outage = [True]
    fake_twilio.before_accept = lambda form: not outage[0]  # 503 while the outage lasts
    assert campaigns.start(campaign) == []
    run_jobs()
    row = SmsSend.get()
    # each of the two send jobs tried once and gave the row back
    assert (row.status, row.attempts) == ("queued", 2) and "Twilio 20500: Service unavailable" in row.reason
    assert Campaign.get_by_id(campaign.id).status == "sending" and fake_twilio.messages == []
    outage[0] = False
    campaigns.sweep()
    run_jobs()
    assert [m["to"] for m in fake_twilio.messages] == ["+33612345678"]
    assert SmsSend.get().status == "sent" and Campaign.get_by_id(campaign.id).status == "sent"


def test_settings_refuse_a_bad_region_or_price(admin, ctx):
    form = admin.get("/admin/settings/sms").forms["settings-form"]
    form["default_region"], form["price_per_segment"] = "Francia", "cheap"
    page = form.submit(status=400)
    assert "Unknown region code: use two letters such as FR, BE, CH." in page.text
    assert "Write a price such as 0.045." in page.text
    form = admin.get("/admin/settings/sms").forms["settings-form"]
    form["default_region"], form["price_per_segment"] = "be", "0,045"
    form.submit().follow()
    from core import get_setting
    assert (get_setting("sms", "default_region"), get_setting("sms", "price_per_segment")) == ("BE", "0.045")


def test_a_campaign_without_text_segments_or_gateway_cannot_start(ctx):
    campaign = Campaign.create(name="Empty", body="  ")
    assert campaigns.start(campaign) == ["Write the text of the message.", "Choose at least one segment to send to.",
                                         "SMS is not configured: fill in the account SID, auth token and sender in "
                                         "Settings → SMS."]
    assert Campaign.get_by_id(campaign.id).status == "draft" and SmsSend.select().count() == 0


def test_export_has_receipts_and_the_opposition_of_the_number_and_erasure_keeps_the_opposition_unlinked(
        web, ctx, phone_field, fake_twilio):
    from core import erase_contact, export_contact

    configure(fake_twilio)
    # a STOP from the number before the contact existed: the opposition is the number's
    _post_signed(web, "/sms/hooks/inbound", {"From": "+33612345678", "Body": "STOP SMS"})
    ada = create_contact({"email": "ada@example.com", "phone": "06 12 34 56 78"})
    sent = send_message(Message(to="+33612345678", subject="", text="Votre code 12", contact=ada, key="x1",
                                purpose="transactional"), channel="sms")
    _post_signed(web, "/sms/hooks/status", {"MessageSid": sent.provider_id, "MessageStatus": "delivered"}, status=204)
    text = repr(export_contact(ada))
    assert "'delivery': 'delivered'" in text and "Votre code 12" in text
    assert "'keyword': 'STOP SMS'" in text and "'phone': '+33612345678'" in text

    erase_contact(ada, "pseudonymise")
    row = SmsSend.get(SmsSend.key == "x1")
    assert (row.to, row.body, row.contact_id, row.delivery) == ("", "", None, "delivered")
    stop = OptOut.get()
    assert (stop.phone, stop.contact_id) == ("+33612345678", None)
    # the same person re-imported later is still not texted
    again = create_contact({"email": "ada2@example.com", "phone": "+33612345678"})
    assert not can_receive(again, "sms", "marketing")[0]


def test_the_workflow_action_raises_during_a_gateway_outage_so_the_step_is_tried_again(ctx, phone_field, fake_twilio):
    from core import SendLater

    configure(fake_twilio)
    action = ctx.extensions["couvee"].registries.actions["sms.send"]
    ada = create_contact({"email": "ada@example.com", "first_name": "Ada", "phone": "0612345678"})
    settings = {"text": "Bonjour {{ first_name }}", "purpose": "marketing"}
    fake_twilio.before_accept = lambda form: False  # 503: the gateway is down
    with pytest.raises(SendLater, match="Service unavailable"):
        action.run(ada, settings, {"key": "wf:2:ada"})
    fake_twilio.before_accept = lambda form: True
    assert action.run(ada, settings, {"key": "wf:2:ada"}) == "sent"
    assert [m["body"] for m in fake_twilio.messages] == ["Bonjour Ada"]
