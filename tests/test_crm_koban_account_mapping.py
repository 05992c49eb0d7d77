"""The Koban account (ncThird) field mapping (issue 22): rows on the CRM
mapping page (defaults name ↔ Label and domain ↔ WebSite from migration 4),
a mapped revenue, industry, size band and custom field pushed and pulled in
their canonical form without ping-pong, a renamed property used both ways,
bad rows refused on the page with nothing saved, and Koban values an
account cannot hold reported while the rest is applied."""
from __future__ import annotations

from core.models import User
from plugins.accounts import clean_account, create_account, update_account
from plugins.accounts.models import Account, AccountField
from plugins.crm_koban_sync.models import RecordMapping, SyncError, SyncRun
from plugins.crm_koban_sync.thirds import sync_accounts

from .conftest import ADMIN_EMAIL
from .fake_koban import koban  # noqa: F401  (fixture)
from .test_crm_koban_accounts import configure, link_of


def an_account(**values) -> Account:
    return create_account(clean_account({"name": "Acme", **values}))


def rows() -> list[tuple[str, str, str]]:
    return [(r.record_field, r.koban_field, r.direction)
            for r in RecordMapping.select().order_by(RecordMapping.position, RecordMapping.id)]


def add_row(admin, record_field, koban_field, direction="both", status=302):
    form = admin.get("/admin/crm/mapping").forms["add-account-mapping"]
    form["record_field"], form["koban_field"], form["direction"] = record_field, koban_field, direction
    return form.submit(status=status)


def account_errors() -> list[str]:
    return [e.message for e in SyncError.select().join(SyncRun).where(SyncRun.kind == "account_pull")]


def test_migration_creates_todays_mapping_and_the_page_lists_the_fields(admin, ctx):
    assert rows() == [("name", "Label", "both"), ("domain", "WebSite", "both")]
    AccountField.create(key="siret", label="SIRET", type_id="text")
    page = admin.get("/admin/crm/mapping")
    table = page.html.select_one("#account-mapping").text
    assert "Label" in table and "WebSite" in table
    offered = [o["value"] for o in page.html.select("#add-account-mapping select[name=record_field] option")]
    assert offered == ["name", "domain", "size_band", "revenue", "industry", "siret"]
    assert "could not confirm them" in page.text


def test_mapped_revenue_industry_and_size_band_go_both_ways_without_ping_pong(admin, ctx, koban, run_jobs):
    configure(koban)
    assert "revenue ↔ Turnover added." in add_row(admin, "revenue", "Turnover").follow().text
    add_row(admin, "industry", "Sector")
    add_row(admin, "size_band", "Workforce", "pull")
    acme = an_account(domain="acme.fr", revenue="1500000", industry="Aéronautique", size_band="eti")
    page = admin.get("/admin/crm")
    page.forms["sync-accounts"].submit().follow()
    run_jobs()
    third = next(t for t in koban.api.thirds.values() if t["Extcode"] == str(acme.id))
    assert third["Turnover"] == 1500000 and third["Sector"] == "Aéronautique"
    assert "Workforce" not in third and third["Label"] == "Acme" and third["WebSite"] == "acme.fr"

    # Koban's own copy comes back: nothing differs, nothing is sent again
    assert sync_accounts() == "ok"
    assert len(koban.api.calls("ncThird/PostMany")) == 1

    # Koban writes revenue as text with spaces, the size band as its label: stored canonically
    koban.api.edit_third(third["Guid"], Turnover="2 500 000", Sector="Spatial", Workforce="PME")
    koban.api.thirds[third["Guid"]]["DUpdated"] += 5
    assert sync_accounts() == "ok"
    acme = Account.get_by_id(acme.id)
    assert (acme.revenue, acme.industry, acme.size_band) == (2500000, "Spatial", "pme")
    assert link_of(acme).synced["revenue"] == "2500000"
    assert len(koban.api.calls("ncThird/PostMany")) == 1  # agreed: no echo back to Koban
    assert sync_accounts() == "ok" and len(koban.api.calls("ncThird/PostMany")) == 1

    # a change here is pushed once, as a number
    update_account(acme, {"revenue": 3000000})
    sync_accounts()
    assert koban.api.thirds[third["Guid"]]["Turnover"] == 3000000
    assert len(koban.api.calls("ncThird/PostMany")) == 2


def test_a_mapped_custom_field_is_pushed(admin, ctx, koban):
    configure(koban)
    AccountField.create(key="siret", label="SIRET", type_id="text")
    add_row(admin, "siret", "Siret", "push")
    acme = an_account(domain="acme.fr", **{"field.siret": "12345678900011"})
    sync_accounts()
    third = next(t for t in koban.api.thirds.values() if t["Extcode"] == str(acme.id))
    assert third["Siret"] == "12345678900011"


def test_a_renamed_property_is_used_both_ways(admin, ctx, koban):
    configure(koban)
    token_page = admin.get("/admin/crm/mapping")
    website = RecordMapping.get(RecordMapping.koban_field == "WebSite")
    form = next(f for f in token_page.forms.values() if f.action.endswith(f"/mapping/accounts/{website.id}/delete"))
    assert "domain ↔ WebSite removed." in form.submit().follow().text
    add_row(admin, "domain", "Site")
    acme = an_account(domain="acme.fr")
    sync_accounts()
    third = next(t for t in koban.api.thirds.values() if t["Extcode"] == str(acme.id))
    assert third["Site"] == "acme.fr" and "WebSite" not in third
    koban.api.add_third(Label="Delta", Site="https://www.delta.fr/", WebSite="ignored.fr", Status="CLI")
    sync_accounts()
    assert Account.get(Account.name == "Delta").domain == "delta.fr"


def test_invalid_rows_are_refused_on_the_page_and_nothing_is_saved(admin, ctx):
    before = rows()
    cases = [("name", "Title", "both", "name is already mapped"),
             ("industry", "Label", "both", "Label is already mapped"),
             ("industry", "", "both", "Give the Koban property"),
             ("industry", "Status", "both", "Status is handled by the sync itself"),
             ("industry", "Sector code", "both", "“Sector code” is not a Koban property name."),
             ("industry", "Sector", "sideways", "Choose a direction")]
    for record_field, koban_field, direction, message in cases:
        answer = add_row(admin, record_field, koban_field, status=400) if direction == "both" else None
        if answer is None:
            page = admin.get("/admin/crm/mapping")
            answer = admin.post("/admin/crm/mapping/accounts", {
                "csrf_token": page.forms["add-account-mapping"]["csrf_token"].value, "record_field": record_field,
                "koban_field": koban_field, "direction": direction}, status=400)
        assert message in answer.html.select_one("#add-account-mapping").find_previous("div").text, message
        assert answer.forms["add-account-mapping"]["koban_field"].value == koban_field  # what was typed is kept
    page = admin.get("/admin/crm/mapping")
    answer = admin.post("/admin/crm/mapping/accounts", {
        "csrf_token": page.forms["add-account-mapping"]["csrf_token"].value, "record_field": "owner_id",
        "koban_field": "Owner", "direction": "both"}, status=400)
    assert "“owner_id” is not a field of this record type." in answer.text
    assert rows() == before

    User.update(language="fr").where(User.email == ADMIN_EMAIL).execute()
    answer = add_row(admin, "industry", "", status=400)
    assert "Indiquez la propriété Koban" in answer.text and "Ajouter un champ de compte" in answer.text
    assert rows() == before


def test_a_koban_value_an_account_cannot_hold_is_reported_and_the_rest_applied(admin, ctx, koban):
    configure(koban)
    add_row(admin, "revenue", "Turnover")
    add_row(admin, "size_band", "Workforce")
    koban.api.add_third(Label="Delta", WebSite="delta.fr", Turnover="lots", Workforce="huge", Status="CLI")
    assert sync_accounts() in ("ok", "partial")
    delta = Account.get(Account.domain == "delta.fr")
    assert (delta.name, delta.revenue, delta.size_band, delta.status) == ("Delta", None, "", "customer")
    errors = account_errors()
    assert any("Turnover" in e and "whole number of euros" in e and "revenue left unchanged" in e for e in errors)
    assert any("Workforce" in e and "size band" in e for e in errors), errors
