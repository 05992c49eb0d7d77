"""GDPR plugin, consent side: the append-only ledger fed by consent events,
opposition flags, who may receive what, the contact page's panel, admin and
API changes, the re-opt-in segment."""
from __future__ import annotations

import datetime as dt


from core import can_receive, contacts, emit, get_setting
from core.events import dispatch_event
from core.models import Contact, Event, SettingValue

from .conftest import csrf_of


def consent(contact, purpose="email_marketing", granted=True, **data):
    payload = {"purpose": purpose, "text": "I want the newsletter", "text_version": "3", "source": "form",
               "form_id": "7", "ip": "203.0.113.9", "user_agent": "Firefox/128", **data}
    return emit(contact, "consent_given" if granted else "consent_withdrawn", payload, source="forms")


def ledger_rows(contact):
    from plugins.gdpr.models import ConsentRecord

    return list(ConsentRecord.select().where(ConsentRecord.contact == contact.id).order_by(ConsentRecord.id))


def test_consent_events_fill_the_ledger_once_with_their_proof(ctx, run_jobs):
    ada = contacts.create_contact({"email": "ada@example.com"})
    event = consent(ada, at="2024-03-02T10:00:00+00:00")
    run_jobs()
    dispatch_event(event.id)  # a re-dispatch (the sweep, a retried job) adds nothing
    Event.update(dispatched_at=None).where(Event.id == event.id).execute()
    dispatch_event(event.id)
    [row] = ledger_rows(ada)
    assert (row.purpose, row.granted, row.text, row.text_version, row.source, row.form_id, row.ip, row.user_agent) == (
        "email_marketing", True, "I want the newsletter", "3", "form", 7, "203.0.113.9", "Firefox/128")
    assert row.at == dt.datetime(2024, 3, 2, 10, tzinfo=dt.timezone.utc)
    assert row.event_id == event.id


def test_marketing_needs_the_latest_decision_to_be_a_grant(ctx, run_jobs):
    ada = contacts.create_contact({"email": "ada@example.com"})
    assert can_receive(ada, "email", "marketing") == (False, ["gdpr"])
    assert can_receive(ada, "email", "transactional")[0]
    consent(ada)
    run_jobs()
    assert can_receive(ada, "email", "marketing") == (True, [])
    assert can_receive(ada, "email", "email_marketing")[0]
    assert not can_receive(ada, "sms", "marketing")[0]  # consent is per channel
    assert not can_receive(ada, "carrier_pigeon", "marketing")[0]  # unknown channel: fail closed
    consent(ada, granted=False)
    run_jobs()
    assert not can_receive(ada, "email", "marketing")[0]
    assert [r.granted for r in ledger_rows(ada)] == [True, False]  # append-only history


def test_an_older_decision_arriving_late_does_not_override_the_latest(ctx, run_jobs):
    ada = contacts.create_contact({"email": "ada@example.com"})
    consent(ada, granted=True, at="2024-05-01T00:00:00Z")
    consent(ada, granted=False, at="2023-01-01T00:00:00Z")  # e.g. an import with older proof
    run_jobs()
    assert can_receive(ada, "email", "marketing")[0]
    assert len(ledger_rows(ada)) == 2


def test_require_consent_off_lets_marketing_through_but_opposition_still_vetoes(ctx, run_jobs):
    SettingValue.create(group="gdpr", key="require_consent", value=False)
    assert get_setting("gdpr", "require_consent") is False
    bob = contacts.create_contact({"email": "bob@example.com"})
    assert can_receive(bob, "email", "marketing")[0]
    from plugins.gdpr.opposition import set_flags

    set_flags(bob, "admin", phone=True)
    assert can_receive(bob, "email", "marketing")[0]
    assert not can_receive(bob, "phone", "marketing")[0]
    set_flags(bob, "admin", all=True)
    assert not can_receive(bob, "email", "marketing")[0]
    assert can_receive(bob, "email", "transactional")[0]  # documented: opposition is to prospecting


def test_unsubscribe_sets_the_email_opposition_and_a_later_consent_lifts_it(ctx, run_jobs):
    from plugins.gdpr.opposition import flags_of

    ada = contacts.create_contact({"email": "ada@example.com"})
    consent(ada)
    run_jobs()
    emit(ada, "email_unsubscribed", {"email_id": 3, "reason": "too many"})
    run_jobs()
    assert flags_of(ada.id)["email"] is True
    assert can_receive(ada, "email", "marketing") == (False, ["gdpr"])
    consent(ada, source="double_opt_in")  # subscribes again, a new positive act
    run_jobs()
    assert flags_of(ada.id)["email"] is False
    assert can_receive(ada, "email", "marketing")[0]


def test_malformed_consent_event_is_logged_not_recorded(ctx, run_jobs, caplog):
    ada = contacts.create_contact({"email": "ada@example.com"})
    emit(ada, "consent_given", {"purpose": "DROP TABLE", "text": "x"})
    run_jobs()
    assert ledger_rows(ada) == []
    assert "not a valid consent purpose" in caplog.text


def test_data_protection_panel_on_the_contact_page(ctx, admin, run_jobs):
    ada = contacts.create_contact({"email": "ada@example.com", "first_name": "<b>Ada</b>"}, source="import")
    consent(ada)
    run_jobs()
    page = admin.get(f"/admin/contacts/{ada.id}")
    assert "Data protection" in page.text
    assert "Origin</dt><dd>import" in page.text
    assert 'data-purpose="email_marketing"><strong>Marketing emails (newsletters, offers)</strong>:\n    granted' in page.text
    assert "via form (form #7), text v3" in page.text
    assert "<b>Ada</b>" not in page.text


def test_admin_records_consent_with_proof_and_sets_opposition(ctx, admin, run_jobs):
    from plugins.gdpr.models import AuditEntry
    from plugins.gdpr.opposition import flags_of

    ada = contacts.create_contact({"email": "ada@example.com"})
    page = admin.get(f"/admin/contacts/{ada.id}")
    token = csrf_of(page)
    refused = admin.post(f"/admin/gdpr/contacts/{ada.id}/consent",
                         {"csrf_token": token, "purpose": "email_marketing", "decision": "granted", "text": ""}).follow()
    assert "Say how the person consented" in refused.text
    assert ledger_rows(ada) == []
    admin.post(f"/admin/gdpr/contacts/{ada.id}/consent",
               {"csrf_token": token, "purpose": "email_marketing", "decision": "granted",
                "text": "Paper form signed at the fair"})
    [row] = ledger_rows(ada)
    assert (row.source, row.text, row.granted) == ("admin", "Paper form signed at the fair", True)
    assert can_receive(ada, "email", "marketing")[0]
    assert Contact.get_by_id(ada.id).last_interaction_at is None  # an admin's act is not the contact's
    admin.post(f"/admin/gdpr/contacts/{ada.id}/opposition", {"csrf_token": token, "sms": "1", "all": "1"})
    assert flags_of(ada.id) == {"email": False, "sms": True, "phone": False, "all": True}
    assert not can_receive(ada, "email", "marketing")[0]
    run_jobs()
    # the SMS flag set by the admin is a withdrawal for sms_marketing in the ledger (full opposition has no
    # purpose of its own); the emitted events' dispatch did not add more entries
    assert [(r.purpose, r.granted, r.source) for r in ledger_rows(ada)] == [
        ("email_marketing", True, "admin"), ("sms_marketing", False, "admin")]
    actions = [e.action for e in AuditEntry.select().order_by(AuditEntry.id)]
    assert actions == ["consent.granted", "opposition.changed"]


def test_rest_api_records_and_lists_consents(ctx, wsgi, admin_user):
    from webtest import TestApp

    from core import auth

    _, secret = auth.create_api_key(admin_user, "site")
    api = TestApp(wsgi, extra_environ={"HTTP_AUTHORIZATION": f"Bearer {secret}"})
    ada = contacts.create_contact({"email": "ada@example.com"})
    bad = api.post_json(f"/api/v1/gdpr/contacts/{ada.id}/consents", {"purpose": "email_marketing", "granted": True},
                        expect_errors=True)
    assert bad.status_int == 422 and "text" in bad.json["errors"]
    made = api.post_json(f"/api/v1/gdpr/contacts/{ada.id}/consents",
                         {"purpose": "sms_marketing", "granted": True, "text": "Yes to SMS", "text_version": "2"})
    assert made.status_int == 201 and made.json["source"] == "api"
    listed = api.get(f"/api/v1/gdpr/contacts/{ada.id}/consents").json
    assert listed["current"] == {"sms_marketing": True}
    assert TestApp(wsgi).get(f"/api/v1/gdpr/contacts/{ada.id}/consents", expect_errors=True).status_int == 401


def test_reoptin_segment_lists_contacts_without_provable_email_consent(ctx, admin, run_jobs):
    with_consent = contacts.create_contact({"email": "yes@example.com"})
    withdrawn = contacts.create_contact({"email": "no@example.com"})
    silent = contacts.create_contact({"email": "silent@example.com"})
    contacts.create_contact({"first_name": "No address"})
    consent(with_consent)
    consent(withdrawn)
    consent(withdrawn, granted=False)
    run_jobs()
    page = admin.get("/admin/gdpr/reoptin")
    assert "<strong>2</strong> contacts" in page.text
    shown = page.forms["reoptin-segment"].submit().follow()
    assert "Re-opt-in: no provable email consent" in shown.text
    from plugins.segments import Segment, SegmentMember

    segment = Segment.get(Segment.name == "Re-opt-in: no provable email consent")
    members = {m.contact.email for m in SegmentMember.select().where(SegmentMember.segment == segment.id)}
    assert members == {"no@example.com", "silent@example.com"}
    consent(silent)
    run_jobs()  # dynamic: leaves the segment as soon as they consent
    members = {m.contact.email for m in SegmentMember.select().where(SegmentMember.segment == segment.id)}
    assert members == {"no@example.com"}


# --- where the consent was given: the form and its page (issue 15 item 13) --------------------


def test_a_form_consent_keeps_its_form_and_page_in_the_ledger_panel_and_export(ctx, admin, run_jobs):
    import json

    from plugins.gdpr.models import ConsentRecord

    from .forms_helpers import consent_names, later, make_form, open_form

    form = make_form("Salon 2024", consents=[("email_marketing", "Je veux recevoir la newsletter.")])
    landing = "https://www.example.com/salon?utm_source=badge"
    page, html_form = open_form(admin, form)
    html_form["email"] = "eve@example.com"
    html_form[consent_names(html_form)[0]].checked = True
    html_form["cv_page_url"] = landing  # what the iframe and the JS embed send: the page showing the form
    with later():
        html_form.submit()
    run_jobs()

    eve = Contact.get(Contact.email == "eve@example.com")
    [row] = ledger_rows(eve)
    assert (row.source, row.form_id, row.page_url) == ("form", form.id, landing)
    assert isinstance(ConsentRecord.get_by_id(row.id).form_id, int)
    assert ConsentRecord.select().where(ConsentRecord.form_id == form.id).count() == 1  # a numeric reference

    panel = admin.get(f"/admin/contacts/{eve.id}").text
    assert f"via form (form #{form.id}), text v1, on" in panel
    assert '<a href="https://www.example.com/salon?utm_source=badge" rel="noopener noreferrer nofollow">' in panel

    document = json.loads(admin.get(f"/admin/gdpr/contacts/{eve.id}/export.json").body)
    [entry] = document["sections"]["Consents"]
    assert (entry["form_id"], entry["page_url"]) == (form.id, landing)


def test_a_page_url_that_is_not_a_web_address_is_shown_as_text(ctx, admin, run_jobs):
    ada = contacts.create_contact({"email": "ada@example.com"})
    consent(ada, page_url="javascript:alert(1)")
    run_jobs()
    panel = admin.get(f"/admin/contacts/{ada.id}").text
    assert "on <span class=\"gdpr-page-url\">javascript:alert(1)</span>" in panel
    assert 'href="javascript' not in panel


def test_a_form_id_that_is_not_a_number_keeps_the_decision_without_it(ctx, run_jobs, caplog):
    ada = contacts.create_contact({"email": "ada@example.com"})
    event = consent(ada, form_id="landing-page")
    run_jobs()
    [row] = ledger_rows(ada)
    assert (row.granted, row.form_id, row.event_id) == (True, None, event.id)  # the event keeps what it said
    assert "is not a number" in caplog.text


def test_migration_turns_text_form_ids_into_numbers_and_adds_the_page_url(ctx):
    import peewee

    from core import BaseModel, UTCDateTimeField
    from core.migrations import apply_migrations
    from core.models import MigrationRecord, utcnow
    from plugins.gdpr import register_migrations
    from plugins.gdpr.models import ConsentRecord

    class LedgerVersion1(BaseModel):
        """``gdpr_consent_record`` as migration 1 created it before this change."""

        contact = peewee.ForeignKeyField(Contact, on_delete="CASCADE", index=True)
        purpose = peewee.CharField()
        granted = peewee.BooleanField()
        text = peewee.TextField(default="")
        text_version = peewee.CharField(default="")
        source = peewee.CharField(default="")
        form_id = peewee.CharField(null=True)
        ip = peewee.CharField(default="")
        user_agent = peewee.TextField(default="")
        at = UTCDateTimeField(default=utcnow)
        recorded_at = UTCDateTimeField(default=utcnow)
        event_id = peewee.IntegerField(null=True, unique=True)
        user_id = peewee.IntegerField(null=True)

        class Meta:
            table_name = "gdpr_consent_record"
            indexes = ((("contact", "purpose", "at"), False), (("form_id",), False))

    database = ctx.extensions["couvee"].database
    ada = contacts.create_contact({"email": "ada@example.com"})
    database.drop_tables([ConsentRecord])
    database.create_tables([LedgerVersion1])
    for form_id in ("12", " 7 ", "landing-page", None):
        LedgerVersion1.create(contact=ada.id, purpose="email_marketing", granted=True, text="Oui", form_id=form_id)
    MigrationRecord.delete().where((MigrationRecord.plugin == "gdpr") & (MigrationRecord.version == 2)).execute()

    applied = apply_migrations(database, "gdpr", register_migrations())
    assert [m.version for m in applied] == [2]
    columns = {c.name: c.data_type.lower() for c in database.get_columns("gdpr_consent_record")}
    assert "int" in columns["form_id"] and "page_url" in columns
    rows = list(ConsentRecord.select().order_by(ConsentRecord.id))
    assert [(r.form_id, r.page_url, r.text) for r in rows] == [(12, "", "Oui"), (7, "", "Oui"), (None, "", "Oui"),
                                                              (None, "", "Oui")]
    assert ConsentRecord.select().where(ConsentRecord.form_id == 12).count() == 1
    assert apply_migrations(database, "gdpr", register_migrations()) == []  # once
