"""The pre-send audience check (issue 19): before a newsletter's Send button the
admin sees who will receive it and who is skipped, by reason, computed with the
consent gate in a few queries; a send that would reach nobody is refused with
the reason; the report lists the skips by reason."""
from __future__ import annotations

from core import check_audience
from core.contacts import create_contact
from core.models import SettingValue
from plugins.segments import Segment, add_to_segment
from core.state import state
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, csrf_of
from tests.test_email_newsletter import write_newsletter
from tests.test_email_send import configure, save_settings

from plugins.email import standing
from plugins.email.models import Newsletter
from plugins.gdpr import ledger


def require_consent(sink) -> None:
    configure(sink)  # the email plugin pointed at the sink, with a complete sender identity
    SettingValue.delete().where((SettingValue.group == "gdpr") & (SettingValue.key == "require_consent")).execute()
    save_settings("gdpr", require_consent=True)


def subscriber(email: str, segment: Segment, consent: bool = True):
    contact = create_contact({"email": email})
    add_to_segment(contact, segment)
    if consent:
        ledger.change(contact, "email_marketing", True, source="admin", text="Said yes on the phone")
    return contact


def mixed_audience() -> Segment:
    """2 will receive it; skipped: no consent (2), unsubscribed (1), bounced (1)."""
    readers = Segment.create(name="Readers", kind="static")
    subscriber("ada@example.com", readers)
    subscriber("bob@example.com", readers)
    subscriber("cyd@example.com", readers, consent=False)
    subscriber("cal@example.com", readers, consent=False)
    standing.unsubscribe(subscriber("dee@example.com", readers), None)
    standing.note_bounce(subscriber("eve@example.com", readers), "hard")
    return readers


def test_the_newsletter_page_shows_who_will_receive_it_and_the_report_shows_the_skips(admin, ctx, smtp_sink,
                                                                                          run_jobs):
    require_consent(smtp_sink)
    readers = mixed_audience()
    newsletter, page = write_newsletter(admin, [readers.id])
    assert ("Audience now: <strong>2</strong> will receive it, <strong>4</strong> skipped: "
            "no consent for email_marketing (2), ") in page.text
    assert "unsubscribed (1)" in page.text and "bounced (1)" in page.text
    confirm = next(f for f in page.forms.values() if f.action.endswith("/send")).submit()
    assert "Now: <strong>2</strong> will receive it, <strong>4</strong> skipped" in confirm.text
    yes = next(f for f in confirm.forms.values() if f.fields.get("confirmed"))
    assert "Sending started." in yes.submit().follow().text
    run_jobs()
    assert sorted(m["To"] for m in smtp_sink.wait_for(2)) == ["ada@example.com", "bob@example.com"]
    report = admin.get(f"/admin/email/{newsletter.id}")
    assert "Skipped (4), by reason" in report.text
    assert "<td>no consent for email_marketing (gdpr)</td><td>2</td>" in report.text
    skips = report.text.split("Skipped (4), by reason")[1].split("</details>")[0]
    assert "unsubscribed" in skips and "bounced (email)" in skips, skips


def test_a_send_that_would_reach_nobody_is_refused_with_the_reason(admin, ctx, smtp_sink, run_jobs):
    require_consent(smtp_sink)
    imported = Segment.create(name="Imported", kind="static")
    for email in ("x@example.com", "y@example.com"):
        subscriber(email, imported, consent=False)
    newsletter, page = write_newsletter(admin, [imported.id])
    refusal = "Nobody would receive it: all 2 skipped (no consent for email_marketing (2))."
    assert refusal in page.text
    assert not [f for f in page.forms.values() if f.action.endswith("/send")]  # no Send button
    # posting anyway (an old tab, a script) is refused too, nothing is queued
    answer = admin.post(f"/admin/email/{newsletter.id}/send", {"csrf_token": csrf_of(page), "confirmed": "yes"})
    assert refusal in answer.follow().text
    assert Newsletter.get_by_id(newsletter.id).status == "draft"
    # the confirmation page offers no "Yes" either
    confirm = admin.post(f"/admin/email/{newsletter.id}/send", {"csrf_token": csrf_of(page)})
    assert refusal in confirm.text and "Yes, send now" not in confirm.text
    run_jobs()
    assert smtp_sink.messages == []


def test_the_check_costs_the_same_queries_for_ten_or_three_hundred_contacts(ctx, smtp_sink):
    """Batched: a few queries per chunk of contacts, not one per contact."""
    require_consent(smtp_sink)
    small, large = Segment.create(name="Small", kind="static"), Segment.create(name="Large", kind="static")
    contacts = [subscriber(f"p{i}@example.com", large, consent=i % 3 != 0) for i in range(300)]
    for contact in contacts[:10]:
        add_to_segment(contact, small)
    database = state().database
    executed = []
    original = database.execute_sql

    def counting(sql, params=None, *args, **kwargs):
        executed.append(sql)
        return original(sql, params, *args, **kwargs)

    database.execute_sql = counting
    try:
        counts = []
        for segment in (small, large):
            ids = segment_contact_ids(segment)
            executed.clear()
            check = check_audience(ids, "email", "marketing")
            counts.append(len(executed))
    finally:
        del database.execute_sql
    assert check.total == 300 and check.skipped == {"no consent for email_marketing": 100}
    assert counts[0] == counts[1], counts


def segment_contact_ids(segment):
    from plugins.segments import SegmentMember

    return [row.contact_id for row in SegmentMember.select().where(SegmentMember.segment == segment.id)]


def test_the_audience_check_in_the_browser(live_server, page, admin_user, ctx, smtp_sink):
    require_consent(smtp_sink)
    readers = mixed_audience()
    newsletter = Newsletter.create(name="Spring", subject="Spring news", segments=[readers.id],
                                   content='<p>Hello</p><p><a href="https://shop.example/">Shop</a></p>')
    page.goto(live_server.url + "/admin/login")
    page.fill("input[name=email]", ADMIN_EMAIL)
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.click("button.primary")
    page.goto(f"{live_server.url}/admin/email/{newsletter.id}")
    check = page.locator(".audience-check")
    assert check.inner_text().startswith("Audience now: 2 will receive it, 4 skipped: no consent for email_marketing (2)")
    page.click("form[action$='/send'] button[type=submit]")
    assert page.locator(".audience-check").inner_text().startswith("Now: 2 will receive it, 4 skipped")
    assert page.locator("button", has_text="Yes, send now").is_visible()


def test_a_workflow_email_blocked_by_the_consent_gate_shows_as_skipped_in_the_run_log_and_contact_panel(
        admin, ctx, smtp_sink, run_jobs):
    from core import contacts
    from plugins.automation import runs_of
    from tests.test_automation import live, log_lines

    require_consent(smtp_sink)
    live("Welcome", [{"type": "tag_added", "settings": {"tag": "welcome"}}],
         [{"type": "action", "action": "email.send", "settings": {"subject": "Welcome!", "body": "<p>Hello</p>"}}])
    ada = create_contact({"email": "ada@example.com"})  # imported, never asked: no consent
    contacts.add_tag(ada, "welcome")
    run_jobs()
    (run,) = runs_of(ada)
    assert run.status == "completed"
    assert "Send an email: skipped: no consent for email_marketing (gdpr)" in log_lines(run)
    assert smtp_sink.messages == []
    panel = admin.get(f"/admin/contacts/{ada.id}").text
    assert "No marketing email: no consent for email_marketing." in panel
    assert "Welcome! <span class=\"help\">" in panel and "skipped: no consent for email_marketing (gdpr)" in panel
