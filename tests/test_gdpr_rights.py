"""GDPR plugin, the rights of the people in the files: access/portability
export (admin, API, self-service link), rectification through the preference
centre, erasure or pseudonymisation everywhere with a suppression list that
stops re-creation by the admin, the API and CSV imports."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import zipfile

import pytest
import time_machine
from webtest import TestApp

from core import auth, can_receive, contacts, contact_token, emit, state
from core.files import store_upload
from plugins.imports import runner
from plugins.imports.models import ImportRowError
from core.models import Contact, ContactValue, CustomField, Event, SettingValue, StoredFile
from plugins.segments import Segment, add_to_segment


EMAIL = "augusta.ada@example.com"
FIRST, LAST = "Augusta", "Lovelace-Byron"


def person_with_data_everywhere(config) -> Contact:
    """A contact with values, a file, tags, a static list, consents and a
    timeline touching every feature (their plugins react to these events)."""
    company = CustomField.create(key="company", label="Company", type_id="text")
    cv = CustomField.create(key="cv", label="CV", type_id="file")
    person = contacts.create_contact({"email": EMAIL, "first_name": FIRST, "last_name": LAST,
                                      "company": f"{LAST} Analytical Engines"}, source="form")
    stored = store_upload(b"%PDF-1.4 cv of " + LAST.encode(), f"CV {FIRST} {LAST}.pdf",
                          state().config.uploads_path, 10_000)
    ContactValue.create(contact=person, field=cv, value=str(stored.id))
    contacts.add_tag(person, "webinar")
    segment = Segment.create(name="Fair 2024", kind="static")
    add_to_segment(person, segment)
    proof = {"text": "Je m'inscris à la newsletter", "text_version": "2", "source": "form", "form_id": "4",
             "ip": "198.51.100.7", "user_agent": "Mozilla/5.0 Ada"}
    emit(person, "consent_given", {"purpose": "email_marketing", **proof})
    emit(person, "consent_given", {"purpose": "profiling", **proof})
    emit(person, "form_submitted", {"form_id": 4, "form_name": "Newsletter", "submission_id": 1,
                                    "page_url": f"https://ex.test/?email={EMAIL}"})
    emit(person, "page_visited", {"url": "https://ex.test/pricing", "path": "/pricing", "title": f"Hi {FIRST}",
                                  "referrer": "", "site_id": 1, "visitor_id": "v" * 22})
    emit(person, "email_sent", {"email_id": 1, "kind": "newsletter", "subject": f"Bonjour {FIRST}"})
    emit(person, "email_opened", {"email_id": 1, "machine": False})
    emit(person, "email_clicked", {"email_id": 1, "url": "https://ex.test/", "link_id": 1})
    emit(person, "custom_event", {"name": "video", "properties": {"who": LAST}, "url": "https://ex.test/v",
                                  "site_id": 1})
    contacts.update_contact(person, {"first_name": FIRST})  # no change: nothing emitted
    return person


def every_text_cell_containing(database, needles) -> list[tuple[str, str, str]]:
    """Scan every column of every table in the database for each needle."""
    found = []
    for table in database.get_tables():
        for column in database.get_columns(table):
            for needle in needles:
                sql = (f'SELECT COUNT(*) FROM "{table}" '
                       f'WHERE LOWER(CAST("{column.name}" AS TEXT)) LIKE ?')
                if not database.__class__.__name__.lower().startswith("sqlite"):
                    sql = sql.replace("?", "%s")
                count = database.execute_sql(sql, (f"%{needle.lower()}%",)).fetchone()[0]
                if count:
                    found.append((table, column.name, needle))
    return found


def test_full_rights_cycle_export_rectify_erase_and_no_re_creation(ctx, config, admin, wsgi, admin_user, run_jobs):
    person = person_with_data_everywhere(config)
    run_jobs()
    file_path = state().config.uploads_path / StoredFile.select().get().path
    assert file_path.exists()
    database = state().database
    assert every_text_cell_containing(database, [EMAIL, LAST])  # the scan sees the data before erasure

    # access / portability from the admin: JSON and one CSV per section
    document = admin.get(f"/admin/gdpr/contacts/{person.id}/export.json").json
    sections = document["sections"]
    assert sections["Contact"][0]["email"] == EMAIL
    assert {"field": "company", "value": f"{LAST} Analytical Engines"} in sections["Custom fields"]
    assert sections["Tags"] == [{"tag": "webinar"}]
    assert [c["purpose"] for c in sections["Consents"]] == ["email_marketing", "profiling"]
    assert sections["Consents"][0]["ip"] == "198.51.100.7"
    assert "form_submitted" in {e["kind"] for e in sections["Events"]}
    archive = zipfile.ZipFile(io.BytesIO(admin.get(f"/admin/gdpr/contacts/{person.id}/export.zip").body))
    assert {"contact.csv", "consents.csv", "events.csv", "tags.csv", "custom_fields.csv"} <= set(archive.namelist())
    rows = list(csv.DictReader(io.StringIO(archive.read("contact.csv").decode("utf-8-sig"))))
    assert rows[0]["last_name"] == LAST

    # rectification by the person, through a signed link
    public = TestApp(wsgi)
    link = f"/privacy/preferences?t={contact_token(person, 'gdpr.preferences')}"
    form = public.get(link).forms[0]
    form["last_name"] = "King"
    form["consent_sms_marketing"] = True
    saved = form.submit()
    assert "Your preferences were saved." in saved.text
    assert Contact.get_by_id(person.id).last_name == "King"
    assert can_receive(person, "sms", "marketing")[0]
    contacts.update_contact(Contact.get_by_id(person.id), {"last_name": LAST})
    run_jobs()

    # erasure from the admin, confirmed by typing the address
    page = admin.get(f"/admin/gdpr/contacts/{person.id}/erase")
    form = page.forms[1]
    form["confirm"] = "someone@else.test"
    assert "Type the contact’s address exactly" in form.submit(status=400).text
    form = admin.get(f"/admin/gdpr/contacts/{person.id}/erase").forms[1]
    form["mode"] = "delete"
    form["confirm"] = EMAIL
    done = form.submit().follow()
    assert "was deleted" in done.text
    run_jobs()
    assert Contact.get_or_none(Contact.id == person.id) is None
    assert not file_path.exists()
    leftovers = every_text_cell_containing(database, [EMAIL, FIRST, LAST])
    assert leftovers == [], f"personal data left after erasure: {leftovers}"

    # the erased address cannot be re-created silently: admin, API, CSV import
    page = admin.get("/admin/contacts/new")
    form = page.forms[1]
    form["email"] = EMAIL.upper()
    refused = form.submit(status=400)
    assert "asked to be forgotten" in refused.text
    _, secret = auth.create_api_key(admin_user, "crm")
    api = TestApp(wsgi, extra_environ={"HTTP_AUTHORIZATION": f"Bearer {secret}"})
    answer = api.post_json("/api/v1/contacts", {"email": EMAIL}, expect_errors=True)
    assert answer.status_int == 422 and "asked to be forgotten" in json.dumps(answer.json)
    job = runner.new_job(io.BytesIO(f"email,first_name\n{EMAIL},{FIRST}\nnew@example.com,New\n".encode()), "back.csv")
    runner.execute(job)
    assert not Contact.select().where(Contact.email == EMAIL).exists()
    assert Contact.select().where(Contact.email == "new@example.com").exists()
    [skipped] = ImportRowError.select().where(ImportRowError.job == job.id)
    assert skipped.kind == "skipped" and "asked to be forgotten" in skipped.reason

    from plugins.gdpr.models import AuditEntry

    assert [e.action for e in AuditEntry.select().order_by(AuditEntry.id)] == ["export.json", "export.zip", "erase.delete"]


def test_pseudonymisation_keeps_statistics_and_scrubs_identity(ctx, config, admin, run_jobs):
    from plugins.gdpr.erasure import erase

    person = person_with_data_everywhere(config)
    run_jobs()
    kinds_before = sorted(e.kind for e in Event.select().where(Event.contact == person.id))
    erase(person, "pseudonymise")
    run_jobs()
    kept = Contact.get_by_id(person.id)
    assert (kept.email, kept.first_name, kept.last_name) == (None, "", "")
    assert sorted(e.kind for e in Event.select().where(Event.contact == person.id)) == kinds_before
    form_event = Event.get((Event.contact == person.id) & (Event.kind == "form_submitted"))
    assert form_event.data == {"form_id": 4, "submission_id": 1}
    assert every_text_cell_containing(state().database, [EMAIL, FIRST, LAST]) == []
    assert can_receive(kept, "email", "transactional") == (False, ["gdpr"])  # erased: nothing at all
    page = admin.get(f"/admin/contacts/{person.id}")
    assert "Pseudonymised: receives nothing" in page.text
    with pytest.raises(contacts.ContactError):
        contacts.create_contact({"email": EMAIL})


def test_erasure_is_all_or_nothing_when_a_plugin_refuses(ctx, config, run_jobs):
    from core import hookimpl
    from plugins.gdpr.erasure import ErasureError, erase
    from plugins.gdpr.models import Suppression

    class Refuser:
        @hookimpl
        def contact_erase(self, contact, mode):
            raise RuntimeError("remote CRM unreachable")

    person = contacts.create_contact({"email": EMAIL, "last_name": LAST})
    emit(person, "consent_given", {"purpose": "email_marketing", "text": "ok"})
    run_jobs()
    pm = state().hooks.pm
    pm.register(Refuser(), name="refuser")
    try:
        with pytest.raises(ErasureError, match="remote CRM unreachable"):
            erase(person, "delete")
    finally:
        pm.unregister(name="refuser")
    assert Contact.get_by_id(person.id).email == EMAIL
    assert Event.select().where(Event.contact == person.id).count() == 2
    assert Suppression.select().count() == 0


def test_erase_page_reports_a_refusal_without_losing_anything(ctx, admin, run_jobs):
    from core import hookimpl

    class Refuser:
        @hookimpl
        def contact_erase(self, contact, mode):
            raise RuntimeError("remote CRM unreachable")

    person = contacts.create_contact({"email": EMAIL})
    form = admin.get(f"/admin/gdpr/contacts/{person.id}/erase").forms[1]
    form["confirm"] = EMAIL
    wsgi_app = admin.app.app
    wsgi_app.extensions["couvee"].hooks.pm.register(Refuser(), name="refuser")
    try:
        page = form.submit(status=400)
    finally:
        wsgi_app.extensions["couvee"].hooks.pm.unregister(name="refuser")
    assert "aborted and nothing was changed" in page.text
    assert Contact.get_or_none(Contact.id == person.id) is not None


def test_self_service_export_link_by_email_without_revealing_who_is_known(ctx, wsgi, smtp_sink, run_jobs):
    for key, value in {"transport": "smtp", "smtp_host": smtp_sink.host, "smtp_port": smtp_sink.port,
                       "from_email": "privacy@couvee.test"}.items():
        SettingValue.create(group="email", key=key, value=value)
    person = contacts.create_contact({"email": EMAIL, "first_name": FIRST})
    public = TestApp(wsgi)
    answers = []
    for address in (EMAIL, "nobody@example.com"):
        form = public.get("/privacy/request").forms[0]
        form["email"] = address
        answers.append(form.submit().text)
    assert answers[0] == answers[1]
    assert "If this address is in our files" in answers[0]
    bad = public.get("/privacy/request").forms[0]
    bad["email"] = "not an address"
    assert "Enter a valid email address." in bad.submit(status=400).text
    run_jobs()
    [message] = smtp_sink.wait_for(1)
    assert message["To"] == EMAIL
    body = message.get_body(("plain",)).get_content()
    link = re.search(r"https?://\S+/privacy/export\?t=\S+", body).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]
    page = public.get("/" + path)
    document = page.click(href="export.json").json
    assert document["sections"]["Contact"][0]["email"] == EMAIL
    with time_machine.travel(dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=8)):
        expired = public.get("/" + path, status=403)
    assert "This link has expired." in expired.text
    assert public.get("/privacy/export?t=forged", status=403)
    assert len(smtp_sink.messages) == 1  # nothing was sent to the unknown address


def test_preference_centre_refuses_contradictions_and_bad_links(ctx, wsgi):
    person = contacts.create_contact({"email": EMAIL})
    public = TestApp(wsgi)
    assert "This link is not valid." in public.get("/privacy/preferences?t=abc", status=403).text
    token = contact_token(person, "gdpr.export")  # a token for another purpose
    public.get(f"/privacy/preferences?t={token}", status=403)
    form = public.get(f"/privacy/preferences?t={contact_token(person, 'gdpr.preferences')}").forms[0]
    form["consent_email_marketing"] = True
    form["oppose_email"] = True
    page = form.submit(status=400)
    assert "You cannot both agree to and oppose" in page.text
    assert not can_receive(person, "email", "marketing")[0]


def test_an_export_link_of_an_erased_contact_is_refused_with_a_message(ctx, wsgi):
    """The link was valid when sent; the contact was pseudonymised since: the
    page says so (403), it does not fail."""
    from plugins.gdpr.erasure import erase

    person = contacts.create_contact({"email": EMAIL})
    token = contact_token(person, "gdpr.export")
    erase(person, "pseudonymise", reason="request")
    page = TestApp(wsgi).get(f"/privacy/export?t={token}", status=403)
    assert "This link no longer matches a contact." in page.text
