"""The data-protection zone (issue 22): per channel on the contact page
(email, SMS, phone opposition and the latest ledger decision, with who and
when), phone opposition set by a marketer into the ledger, SMS STOP shown
from the ledger, and the account page's summary through a slot the GDPR
plugin fills; none of it when the GDPR plugin is off."""
from __future__ import annotations

import re

from core import contacts, emit
from core.plugins import lifecycle
from core.models import User
from plugins.accounts import clean_account, create_account, link

from .conftest import csrf_of


def _row(page, channel):
    return re.search(r'<tr data-channel="%s">(.*?)</tr>' % channel, page.text, re.S).group(1)


def test_phone_opposition_set_by_a_marketer_is_in_the_ledger_with_who_and_when(ctx, admin, run_jobs):
    from plugins.gdpr.models import ConsentRecord

    ada = contacts.create_contact({"email": "ada@example.com", "first_name": "<script>x</script>"})
    page = admin.get(f"/admin/contacts/{ada.id}")
    assert "nothing in the ledger" in _row(page, "phone")
    token = csrf_of(page)
    admin.post(f"/admin/gdpr/contacts/{ada.id}/opposition", {"csrf_token": token, "phone": "1"})
    [entry] = ConsentRecord.select().where(ConsentRecord.contact == ada.id)
    user = User.get(User.id == entry.user_id)
    assert (entry.purpose, entry.granted, entry.source) == ("phone_marketing", False, "admin")
    assert entry.text == f"Opposition to phone prospecting recorded by {user.email}"
    run_jobs()
    assert ConsentRecord.select().count() == 1  # the event's dispatch adds nothing
    page = admin.get(f"/admin/contacts/{ada.id}")
    phone = _row(page, "phone")
    assert "opposes phone prospecting (démarchage téléphonique)" in phone
    assert "withdrawn " in phone and f"via admin</span>" not in phone and f"by {user.email}" in phone
    assert "no opposition recorded" in _row(page, "email") and "<script>x</script>" not in page.text
    # unticking lifts the flag; the ledger keeps the decision, the audit log the change
    admin.post(f"/admin/gdpr/contacts/{ada.id}/opposition", {"csrf_token": token})
    assert ConsentRecord.select().count() == 1
    assert "opposes phone prospecting" in _row(admin.get(f"/admin/contacts/{ada.id}"), "phone")  # still withdrawn


def test_sms_stop_and_email_consent_are_shown_per_channel_from_the_ledger(ctx, admin, run_jobs):
    ada = contacts.create_contact({"email": "ada@example.com"})
    emit(ada, "consent_withdrawn", {"purpose": "sms_marketing", "source": "sms_stop", "text": "SMS reply: STOP",
                                    "at": "2026-03-02T09:30:00+00:00"}, source="sms")
    emit(ada, "consent_given", {"purpose": "email_marketing", "source": "form", "text": "Newsletter <b>yes</b>",
                                "at": "2026-01-05T08:00:00+00:00"}, source="forms")
    run_jobs()
    page = admin.get(f"/admin/contacts/{ada.id}")
    sms = _row(page, "sms")
    assert "opposes SMS prospecting" in sms and "via sms_stop" in sms
    assert "withdrawn 3/2/26, 10:30" in sms  # 09:30 UTC in the instance time zone (Paris)
    email = _row(page, "email")
    assert "consent given" in email and "opposes" not in email and "via form" in email
    assert "<b>yes</b>" not in page.text


def test_the_zone_escapes_what_an_event_said(ctx, admin, run_jobs):
    ada = contacts.create_contact({"email": "ada@example.com"})
    emit(ada, "consent_withdrawn", {"purpose": "phone_marketing", "source": "<img src=x onerror=alert(1)>"},
         source="api")
    run_jobs()
    phone = _row(admin.get(f"/admin/contacts/{ada.id}"), "phone")
    assert "via &lt;img src=x onerror=alert(1)&gt;" in phone and "<img" not in phone


def _acme_with(emails):
    acme = create_account(clean_account({"name": "Acme <i>SA</i>"}))
    people = []
    for email in emails:
        person = contacts.create_contact({"email": email})
        link(person, acme, source="manual")
        people.append(person)
    return acme, people


def test_the_account_page_counts_its_contacts_opposed_per_channel(ctx, admin, run_jobs):
    from plugins.gdpr.opposition import set_flags

    acme, (ada, bob, cyd) = _acme_with(["ada@acme.test", "bob@acme.test", "cyd@acme.test"])
    outsider = contacts.create_contact({"email": "eve@other.test"})
    set_flags(ada, "admin", phone=True)
    set_flags(bob, "admin", all=True)
    set_flags(outsider, "admin", all=True)  # not in the account: not counted
    emit(cyd, "consent_withdrawn", {"purpose": "sms_marketing", "source": "sms_stop"}, source="sms")
    run_jobs()
    page = admin.get(f"/admin/accounts/{acme.id}")
    zone = page.html.find(id="account-data-protection")
    assert zone is not None
    counts = {li["data-channel"]: li.get_text(" ", strip=True) for li in zone.find_all("li")}
    assert counts == {"email": "Oppose email prospecting: 1 of 3 contacts",
                      "sms": "Oppose SMS prospecting: 2 of 3 contacts",
                      "phone": "Oppose phone prospecting: 2 of 3 contacts"}
    assert "<i>SA</i>" not in page.text


def test_no_zone_when_the_gdpr_plugin_is_off(ctx, admin, wsgi):
    acme, (ada,) = _acme_with(["ada@acme.test"])
    assert 'id="account-data-protection"' in admin.get(f"/admin/accounts/{acme.id}").text
    lifecycle.deactivate(wsgi.app.extensions["couvee"], "gdpr")
    wsgi.runtime.refresh()
    assert not wsgi.app.extensions["couvee"].host.is_active("gdpr")
    assert 'id="account-data-protection"' not in admin.get(f"/admin/accounts/{acme.id}").text
    contact_page = admin.get(f"/admin/contacts/{ada.id}").text
    assert 'id="gdpr-channels"' not in contact_page and 'id="data-protection"' not in contact_page
