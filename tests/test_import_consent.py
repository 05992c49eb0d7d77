"""Consent at import (issue 19 item 2): a consent column (yes/no/date) or a
declaration for the whole file is recorded in the consent ledger as imported
consent with its source file, through core's registered ``consent_imported``
event; rows are dropped by a column's value (Mailchimp's STATUS)."""
from __future__ import annotations

import datetime as dt

from core.models import Contact, Event
from tests.test_audience_check import require_consent
from tests.test_email_newsletter import write_newsletter
from tests.test_imports import cli  # noqa: F401  (fixture)

from plugins.gdpr.models import ConsentRecord, ConsentState


def mailchimp_export(path, subscribed: int):
    lines = ["Email Address,First Name,Opt-in,STATUS"]
    lines += [f"reader{i}@example.com,Reader {i},yes,subscribed" for i in range(subscribed)]
    lines += ["gone@example.com,Gone,yes,unsubscribed", "dead@example.com,Dead,yes,Cleaned",
              "never@example.com,Never,no,subscribed", "dated@example.com,Dated,2024-03-01,subscribed"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_thousand_opted_in_subscribers_imported_then_a_newsletter_reaches_them(admin, ctx, cli, tmp_path,  # noqa: F811
                                                                                  smtp_sink, run_jobs):
    require_consent(smtp_sink)
    source = mailchimp_export(tmp_path / "mailchimp-audience.csv", 1000)
    result = cli("import", str(source), "--only-mapped", "--map", "Email Address=email", "--map",
                 "First Name=first_name", "--consent-column", "Opt-in", "--drop", "STATUS=unsubscribed|cleaned",
                 "--segment", str(_readers_segment()))
    assert result.exit_code == 0, result.output
    assert "1002 created" in result.output and "2 skipped" in result.output
    assert not Contact.select().where(Contact.email.in_(["gone@example.com", "dead@example.com"])).exists()
    assert Event.select().where(Event.kind == "consent_imported").count() == 1001  # "never" said no
    run_jobs()  # the gdpr plugin records the events in its ledger
    granted = ConsentState.select().where((ConsentState.purpose == "email_marketing") & ConsentState.granted)
    assert granted.count() == 1001
    dated = ConsentRecord.get(ConsentRecord.contact == Contact.get(Contact.email == "dated@example.com").id)
    assert dated.source == "import" and dated.at.date() == dt.date(2024, 3, 1)
    assert "imported from mailchimp-audience.csv" in dated.text
    newsletter, page = write_newsletter(admin, [_readers_segment()])
    assert "Audience now: <strong>1001</strong> will receive it, <strong>1</strong> skipped: " \
           "no consent for email_marketing (1)." in page.text
    assert "✗" not in page.text, page.text[page.text.index("Before sending"):][:600]
    confirm = next(f for f in page.forms.values() if f.action.endswith("/send")).submit()
    next(f for f in confirm.forms.values() if f.fields.get("confirmed")).submit()
    run_jobs()
    delivered = smtp_sink.wait_for(1001, timeout=120)
    assert len({m["To"] for m in delivered}) == 1001
    assert "never@example.com" not in {m["To"] for m in delivered}


def _readers_segment() -> int:
    from plugins.segments import Segment

    return Segment.get_or_create(name="Readers", kind="static")[0].id


def test_a_declaration_for_the_whole_file_is_recorded_with_its_proof(ctx, cli, tmp_path, run_jobs):  # noqa: F811
    source = tmp_path / "fair-visitors.csv"
    source.write_text("email\nana@example.com\nbob@example.com\n", encoding="utf-8")
    missing_proof = cli("import", str(source), "--consent-proof", " ")
    assert missing_proof.exit_code == 2 and "the proof note" in missing_proof.output
    result = cli("import", str(source), "--consent-proof", "Signed the paper form at the Lyon fair",
                 "--consent-source", "Lyon fair 2025", "--consent-date", "2025-06-14")
    assert result.exit_code == 0, result.output
    run_jobs()
    records = list(ConsentRecord.select().order_by(ConsentRecord.id))
    assert len(records) == 2 and all(r.granted and r.purpose == "email_marketing" for r in records)
    assert records[0].text.startswith("Signed the paper form at the Lyon fair; imported from fair-visitors.csv")
    assert records[0].at.date() == dt.date(2025, 6, 14)
    event = Event.get(Event.kind == "consent_imported")
    assert event.data["collected_by"] == "Lyon fair 2025" and event.data["file"] == "fair-visitors.csv"


def test_the_wizard_records_consent_and_leaves_out_rows_by_value(admin, ctx, run_jobs):
    page = admin.get("/admin/imports")
    form = page.forms["upload-form"]
    form["file"] = ("mailchimp.csv", b"Email Address,Opt-in,STATUS\nana@example.com,2024-05-02,subscribed\n"
                                     b"bob@example.com,no,subscribed\ngone@example.com,yes,unsubscribed\n")
    setup = form.submit().follow()
    run_form = setup.forms["mapping-form"]
    run_form["target_1"] = run_form["target_2"] = "ignore"
    run_form["test_only"] = False
    run_form["drop_column"] = "2"
    run_form["consent_column"] = "1"
    run_form["consent_declared"] = True  # but no proof note: refused, nothing stored
    refused = run_form.submit("action", value="run", status=400)
    assert "Say how the consent was collected" in refused.text
    retry = refused.forms["mapping-form"]
    retry["consent_declared"] = False
    retry["drop_values"] = "Unsubscribed|cleaned"
    retry.submit("action", value="run").follow()
    run_jobs()
    assert sorted(c.email for c in Contact.select()) == ["ana@example.com", "bob@example.com"]
    [record] = ConsentRecord.select()
    assert record.contact.email == "ana@example.com" and record.at.date() == dt.date(2024, 5, 2)
    assert "imported from mailchimp.csv" in record.text
