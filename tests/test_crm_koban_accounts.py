"""Koban sync of accounts (issue 22) against the local fake Koban: accounts
pushed to ncThird in batches of 100 with our id as Extcode (idempotent, no
ping-pong), contacts pushed with their Third, accounts pulled from
GetUpdated (by Guid, Extcode, then domain) with their status, conflicts, bad
data kept out with a clear error, Koban down, the accounts plugin off, and
the CRM page in English and French."""
from __future__ import annotations

import pytest

from core import contacts
from core.models import Event, User, utcnow
from plugins.accounts import account_of, clean_account, create_account, update_account
from plugins.accounts.models import Account
from plugins.crm_koban_sync import push
from plugins.crm_koban_sync.models import KobanRecordLink, RecordConflict, SyncError, SyncRun
from plugins.crm_koban_sync.thirds import sync_accounts

from .conftest import ADMIN_EMAIL, csrf_of
from .fake_koban import koban  # noqa: F401  (fixture)
from .test_crm_koban_sync import configure as configure_contacts, settle


def configure(koban, **extra) -> None:
    configure_contacts(koban, account_status_codes="prospect=PROS, customer=CLI, former=ANC", **extra)


def an_account(**values) -> Account:
    return create_account(clean_account({"name": "Acme", **values}))


def link_of(account) -> KobanRecordLink | None:
    return KobanRecordLink.get_or_none(KobanRecordLink.record_id == account.id)


def last(kind) -> SyncRun:
    return SyncRun.select().where(SyncRun.kind == kind).order_by(SyncRun.id.desc()).first()


def test_accounts_are_pushed_with_their_status_code_once_and_contacts_carry_their_third(ctx, koban, run_jobs):
    configure(koban)
    acme = an_account(domain="acme.fr", status="customer")
    beta = an_account(name="Beta", domain="beta.fr")
    assert sync_accounts() == "ok"
    posts = koban.api.calls("ncThird/PostMany", "POST")
    assert len(posts) == 1 and posts[0].query == {"uniqueproperty": "Extcode"}
    third = next(t for t in koban.api.thirds.values() if t["Extcode"] == str(acme.id))
    assert (third["Label"], third["WebSite"], third["Status"]) == ("Acme", "acme.fr", "CLI")
    assert next(t for t in koban.api.thirds.values() if t["Extcode"] == str(beta.id))["Status"] == "PROS"
    assert link_of(acme).guid == third["Guid"] and link_of(acme).extcode_sent
    assert last("account_push").created == 2

    # the next run pulls our own accounts back, agrees, and sends nothing
    assert sync_accounts() == "ok"
    assert len(koban.api.calls("ncThird/PostMany")) == 1 and len(koban.api.thirds) == 2
    assert last("account_pull").unchanged == 2 and not Event.select().where(Event.source == "crm_koban").exists()

    # a change here is sent on the next run, matched on Extcode (no duplicate)
    update_account(Account.get_by_id(acme.id), {"status": "former"})
    sync_accounts()
    assert len(koban.api.thirds) == 2 and koban.api.thirds[third["Guid"]]["Status"] == "ANC"

    ada = contacts.create_contact({"email": "ada@acme.fr"}, source="admin")
    run_jobs()
    assert account_of(ada.id).id == acme.id
    push.push_batch([ada.id])
    sent = koban.api.calls("ncContact/PostMany")[-1]
    assert sent.body[0]["Third"] == {"Extcode": str(acme.id)}
    assert koban.api.by_extcode(ada.id)["Third"]["Guid"] == third["Guid"]


def test_more_than_a_hundred_accounts_go_in_batches_of_a_hundred(ctx, koban):
    configure(koban)
    for number in range(105):
        an_account(name=f"Company {number}", domain=f"c{number}.fr")
    sync_accounts()
    posts = koban.api.calls("ncThird/PostMany")
    assert [len(p.body) for p in posts] == [100, 5] and len(koban.api.thirds) == 105


def test_accounts_updated_in_koban_come_back_with_their_status(ctx, koban, run_jobs):
    configure(koban)
    gamma = an_account(name="Gamma", domain="gamma.fr")
    ada = contacts.create_contact({"email": "ada@gamma.fr"}, source="admin")
    run_jobs()
    new = koban.api.add_third(Label="Delta SA", WebSite="https://www.delta.fr/", Status="CLI")
    known = koban.api.add_third(Label="Gamma SAS", WebSite="www.gamma.fr", Status="CLI")
    known["DUpdated"] += 5  # written in Koban after ours: Koban's values win the first match
    assert sync_accounts() == "ok"

    delta = Account.get(Account.domain == "delta.fr")
    assert (delta.name, delta.status) == ("Delta SA", "customer")
    gamma = Account.get_by_id(gamma.id)
    assert (gamma.name, gamma.status) == ("Gamma SAS", "customer")  # matched by domain, not duplicated
    assert Account.select().count() == 2 and link_of(gamma).guid == known["Guid"]
    # first seen in Koban: our id is written back as Extcode, on the same Koban record
    assert koban.api.thirds[new["Guid"]]["Extcode"] == str(delta.id) and len(koban.api.thirds) == 2
    assert {p.query["uniqueproperty"] for p in koban.api.calls("ncThird/PostMany")} == {"Guid"}
    changed = Event.get((Event.contact == ada.id) & (Event.kind == "account_status_changed"))
    assert changed.source == "crm_koban" and changed.data["status"] == "customer"

    koban.api.edit_third(known["Guid"], Status="PROS")
    koban.api.thirds[known["Guid"]]["DUpdated"] += 5
    sync_accounts()
    assert Account.get_by_id(gamma.id).status == "prospect"


def test_a_field_changed_on_both_sides_goes_to_the_later_writer_and_is_recorded(admin, ctx, koban):
    configure(koban)
    acme = an_account(domain="acme.fr")
    sync_accounts()
    sync_accounts()  # Koban's DUpdated of our push is now known
    guid = link_of(acme).guid
    update_account(Account.get_by_id(acme.id), {"name": "Acme here"})
    koban.api.edit_third(guid, Label="Acme there")
    koban.api.thirds[guid]["DUpdated"] += 3600  # Koban wrote later
    sync_accounts()
    assert Account.get_by_id(acme.id).name == "Acme there"
    conflict = RecordConflict.get(RecordConflict.record_id == acme.id)
    assert (conflict.field, conflict.local_value, conflict.remote_value, conflict.winner) == \
        ("name", "Acme here", "Acme there", "koban")
    shown = admin.get(f"/admin/crm/runs/{conflict.run_id}")
    row = shown.html.select_one("#account-conflicts tbody tr").text
    assert f"#{acme.id}" in row and "Acme here" in row and "Acme there" in row

    Account.update(name="Acme later", updated_at=utcnow().replace(year=utcnow().year + 1)).where(
        Account.id == acme.id).execute()
    koban.api.edit_third(guid, Label="Acme earlier")
    koban.api.thirds[guid]["DUpdated"] += 3601
    sync_accounts()
    assert Account.get_by_id(acme.id).name == "Acme later"
    assert koban.api.thirds[guid]["Label"] == "Acme later"  # ours won and was pushed
    assert RecordConflict.select().where(RecordConflict.winner == "couvee").count() == 1


def test_bad_koban_data_is_reported_and_loses_nothing(ctx, koban):
    configure(koban)
    acme = an_account(domain="acme.fr")
    beta = an_account(name="Beta", domain="beta.fr")
    odd = koban.api.add_third(Label="Odd", WebSite="odd.fr", Status="XYZ")
    sync_accounts()
    sync_accounts()
    errors = [e.message for e in SyncError.select().join(SyncRun).where(SyncRun.kind == "account_pull")]
    assert any("XYZ" in message and "status left unchanged" in message for message in errors), errors
    odd_account = Account.get(Account.domain == "odd.fr")
    assert (odd_account.name, odd_account.status) == ("Odd", "prospect")
    assert koban.api.thirds[odd["Guid"]]["Extcode"] == str(odd_account.id)

    # Koban gives Beta the domain of Acme: refused with the form's message, Beta unchanged
    guid = link_of(beta).guid
    koban.api.edit_third(guid, WebSite="acme.fr", Label="Beta renamed")
    koban.api.thirds[guid]["DUpdated"] += 5
    sync_accounts()
    message = SyncError.select().join(SyncRun).where(SyncRun.kind == "account_pull").order_by(SyncError.id.desc()) \
        .first().message
    assert guid in message and "already the account Acme" in message
    beta = Account.get_by_id(beta.id)
    assert (beta.name, beta.domain) == ("Beta", "beta.fr") and Account.get_by_id(acme.id).domain == "acme.fr"

    koban.api.add_third(Label="", WebSite="", Status="CLI")  # no name: skipped, not created
    before = Account.select().count()
    sync_accounts()
    assert Account.select().count() == before


def test_koban_down_fails_the_run_and_the_next_one_sends_again(ctx, koban):
    configure(koban)
    acme = an_account(domain="acme.fr")
    koban.api.fail("ncThird/PostMany", 503, "busy", times=3)
    assert sync_accounts() == "failed"
    assert last("account_push").status == "failed" and link_of(acme) is None
    assert sync_accounts() == "ok"
    assert link_of(acme).guid and len(koban.api.thirds) == 1


def test_with_the_accounts_plugin_off_contacts_sync_exactly_as_before(admin, wsgi, koban, couvee_cli, run_jobs, ctx):
    configure(koban)
    assert couvee_cli("plugins", "disable", "accounts").exit_code == 0
    ada = contacts.create_contact({"email": "ada@acme.fr", "first_name": "Ada"}, source="admin")
    settle(wsgi, run_jobs)
    posts = koban.api.calls("ncContact/PostMany")
    assert posts and posts[-1].query == {"uniqueproperty": "Extcode", "thirduniqueproperty": "Extcode"}
    assert posts[-1].body == [{"Extcode": str(ada.id), "EMail": "ada@acme.fr", "FirstName": "Ada", "Name": None}]
    page = admin.get("/admin/crm")
    assert "No plugin offers accounts" in page.text and "sync-accounts" not in page.text
    flash = admin.post("/admin/crm/accounts/sync", {"csrf_token": csrf_of(page)}).follow()
    assert "No plugin offers accounts (turn the Accounts plugin on)." in flash.text
    assert not koban.api.calls("ncThird/PostMany") and not koban.api.calls("ncThird/GetUpdated")


def test_the_crm_page_shows_the_account_sync_in_english_and_french(admin, ctx, koban, run_jobs):
    configure(koban)
    an_account(domain="acme.fr")
    page = admin.get("/admin/crm")
    assert "Accounts (Koban ncThird)" in page.text and "Sync accounts now" in page.text
    queued = page.forms["sync-accounts"].submit().follow()
    assert "An account sync with Koban is queued" in queued.text
    run_jobs()
    page = admin.get("/admin/crm")
    box = page.html.select_one("#account-sync").text
    assert "1account linked to Koban" in " ".join(box.split()).replace(" account", "account")
    assert "last account push" in box and "customer ↔ CLI" in box
    assert "account push" in page.html.select_one("#runs").text

    User.update(language="fr").where(User.email == ADMIN_EMAIL).execute()
    page = admin.get("/admin/crm")
    box = page.html.select_one("#account-sync").text
    assert "Comptes (ncThird de Koban)" in page.text and "Synchroniser les comptes maintenant" in box
    assert "compte relié à Koban" in box and "dernier envoi des comptes" in box
    assert "envoi des comptes" in page.html.select_one("#runs").text
    assert "Sync accounts now" not in page.text and "last account push" not in box


def test_hook_crm_sync_record_types(ctx, run_jobs):
    """The accounts plugin answers the sync's hook with the documented contract."""
    from core import state

    answers = state().hooks.call("crm_sync_record_types")
    assert [plugin for plugin, _answer in answers] == ["accounts"]
    [spec] = answers[0][1]
    assert spec["type"] == "account" and str(spec["label"]) == "Accounts"
    acme = an_account(domain="acme.fr", status="customer")
    ada = contacts.create_contact({"email": "ada@acme.fr"}, source="admin")
    run_jobs()
    assert spec["changed_since"](None) == [acme.id] and spec["changed_since"](utcnow()) == []
    values = spec["read"]([acme.id, 999999])
    assert list(values) == [acme.id] and {k: values[acme.id][k] for k in ("name", "domain", "status")} == \
        {"name": "Acme", "domain": "acme.fr", "status": "customer"}
    assert spec["find"]("https://www.ACME.fr/") == acme.id and spec["find"]("nowhere.fr") is None
    assert spec["record_of_contacts"]([ada.id]) == {ada.id: acme.id}
    assert spec["write"](acme.id, {"status": "former"}, "crm_koban") == acme.id
    assert Account.get_by_id(acme.id).status == "former"
    with pytest.raises(ValueError, match="name"):
        spec["write"](None, {"name": "", "domain": "x.fr"}, "crm_koban")
    assert Account.select().count() == 1
