"""GDPR plugin, retention and the register: inactive contacts are warned
before the deadline (an event a workflow can trigger on), shown in a dry-run
report, then pseudonymised or deleted by the daily job when the policy is
automatic; the processing register lists purposes per form."""
from __future__ import annotations

import datetime as dt

import time_machine

from core import contacts, emit
from core.models import Contact, Event, SettingValue

from .conftest import login

NOW = dt.datetime(2030, 6, 1, 12, tzinfo=dt.timezone.utc)


def at(moment):
    return time_machine.travel(moment, tick=False)


def test_last_interaction_moves_with_the_contacts_own_events_only(ctx):
    with at(NOW - dt.timedelta(days=10)):
        ada = contacts.create_contact({"email": "ada@example.com"})
        assert Contact.get_by_id(ada.id).last_interaction_at is None  # creation is not an interaction
    with at(NOW):
        emit(ada, "email_opened", {"email_id": 1, "machine": False})
    assert Contact.get_by_id(ada.id).last_interaction_at == NOW


def test_warning_then_report_then_automatic_pseudonymisation(ctx, admin, run_jobs):
    from plugins.gdpr.erasure import is_erased
    from plugins.gdpr.retention import run_retention

    with at(NOW - dt.timedelta(days=3 * 365 + 10)):
        old = contacts.create_contact({"email": "old@example.com", "last_name": "Oldman"})
        emit(old, "page_visited", {"url": "https://ex.test/"})
    with at(NOW - dt.timedelta(days=3 * 365 - 20)):
        soon = contacts.create_contact({"email": "soon@example.com"})
        emit(soon, "page_visited", {"url": "https://ex.test/"})
    with at(NOW - dt.timedelta(days=30)):
        recent = contacts.create_contact({"email": "recent@example.com"})
    run_jobs()
    with at(NOW):
        login(admin)  # the session does not survive years of time travel
        page = admin.get("/admin/gdpr/retention")
        assert "Past the deadline (1)" in page.text and "Oldman" in page.text
        assert "Deadline within 30 days (1)" in page.text and "soon@example.com" in page.text
        assert "automatic application is off" in page.text
        assert run_retention() == {"warned": 1, "erased": 0, "failed": 0}
        assert run_retention()["warned"] == 0  # one warning per deadline
    [warning] = Event.select().where(Event.kind == "gdpr_retention_warning")
    assert warning.contact_id == soon.id and warning.data["action"] == "pseudonymise"
    before = Contact.get_by_id(soon.id).last_interaction_at
    assert before < NOW - dt.timedelta(days=365)  # the warning is not the contact interacting
    assert not is_erased(old.id)  # dry run: nothing erased while the policy is manual

    SettingValue.create(group="gdpr", key="retention_auto", value=True)
    with at(NOW):
        assert run_retention() == {"warned": 0, "erased": 1, "failed": 0}
    assert is_erased(old.id) and Contact.get_by_id(old.id).email is None
    assert not is_erased(soon.id) and not is_erased(recent.id)
    with at(NOW + dt.timedelta(days=30)):  # soon's deadline passed, delete mode now
        SettingValue.create(group="gdpr", key="retention_mode", value="delete")
        assert run_retention()["erased"] == 1
    assert Contact.get_or_none(Contact.id == soon.id) is None
    assert Contact.get_by_id(recent.id).email == "recent@example.com"


def test_processing_register_lists_purposes_per_form(ctx, admin, run_jobs):
    ada = contacts.create_contact({"email": "ada@example.com"})
    for purpose in ("email_marketing", "profiling"):
        emit(ada, "consent_given", {"purpose": purpose, "text": "Oui", "text_version": "5", "source": "form",
                                    "form_id": "12"})
    emit(ada, "consent_given", {"purpose": "sms_marketing", "text": "Yes", "text_version": "1",
                                "source": "preference_centre"})
    run_jobs()
    page = admin.get("/admin/gdpr/register")
    assert "<td>Form</td><td>12</td>" in page.text
    assert "<strong>Marketing emails (newsletters, offers)</strong> — versions 5 · 1 decision" in page.text
    assert "<td>Preference centre</td><td>—</td>" in page.text
    assert "3 years after the last interaction, then pseudonymised" in page.text


def test_overview_and_audit_pages(ctx, admin, run_jobs):
    ada = contacts.create_contact({"email": "ada@example.com"})
    admin.get(f"/admin/gdpr/contacts/{ada.id}/export.json")
    assert "<span class=\"n\">1</span>contact with an address" in admin.get("/admin/gdpr/").text
    audit = admin.get("/admin/gdpr/audit")
    assert "export.json" in audit.text and f"#{ada.id}" in audit.text
