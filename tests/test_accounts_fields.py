"""Custom fields of accounts (issue 22, part 2): defined on the Account fields
page with the contacts' field types, shown and edited on the account form and
page (bad values re-render the form with messages, nothing saved), recorded
in ``account_updated`` and carried by the CSV export and import."""
from __future__ import annotations

from core.models import Event
from plugins.accounts import clean_account, create_account, update_account
from plugins.accounts.fields import create_field, values_of
from plugins.accounts.models import Account, AccountField, AccountValue


def test_fields_defined_in_the_admin_then_edited_on_the_account_form(admin, ctx):
    page = admin.get("/admin/accounts").click("Account fields")
    form = page.forms["account-field-form"]
    form["label"], form["type_id"] = "", "select"
    refused = form.submit(status=400)
    assert "Enter a label." in refused.text and "Enter the choices, one per line." in refused.text
    form = refused.forms["account-field-form"]
    form["label"], form["type_id"], form["options"] = "Secteur ciblé", "select", "Industrie\nServices"
    page = form.submit().follow()
    assert "its CSV column is secteur_cible" in page.text
    form = page.forms["account-field-form"]
    form["label"], form["type_id"], form["options"] = "Marchés", "multiselect", "France\nBelgique\nSuisse"
    form.submit().follow()
    form = admin.get("/admin/accounts/fields").forms["account-field-form"]
    form["label"], form["type_id"] = "Date de signature", "date"
    form.submit().follow()
    form = admin.get("/admin/accounts/fields").forms["account-field-form"]
    form["label"], form["type_id"] = "Name", "text"  # a native column's name gets another key
    form.submit().follow()
    assert [f.key for f in AccountField.select().order_by(AccountField.position)] == [
        "secteur_cible", "marches", "date_de_signature", "f_name"]

    new = admin.get("/admin/accounts/new").forms["account-form"]
    new["name"], new["field.secteur_cible"], new["field.date_de_signature"] = "Acme", "Industrie", "31 février"
    new.set("field.marches", True, index=1)  # the hidden empty input comes first, then France
    refused = new.submit(status=400)
    assert "Date de signature:" in refused.text and Account.select().count() == 0
    again = refused.forms["account-form"]
    assert again["field.secteur_cible"].value == "Industrie"
    assert [box.checked for box in again.fields["field.marches"][1:]] == [True, False, False]
    again["field.date_de_signature"] = "2026-03-15"
    shown = again.submit().follow()
    acme = Account.get(Account.name == "Acme")
    assert values_of(acme.id) == {"secteur_cible": "Industrie", "marches": ["France"],
                                  "date_de_signature": "2026-03-15"}
    fields_shown = shown.html.find(id="account-fields").text
    assert "Secteur ciblé" in fields_shown and "Industrie" in fields_shown and "France" in fields_shown

    edit = shown.click("Edit", index=0).forms["account-form"]
    assert edit["field.secteur_cible"].value == "Industrie"
    edit["field.secteur_cible"] = "Services"
    edit.set("field.marches", True, index=3)
    edit.submit().follow()
    assert values_of(acme.id)["marches"] == ["France", "Suisse"]


def test_a_bad_choice_is_refused_and_a_change_is_an_account_updated_event(ctx, run_jobs):
    from core import contacts

    create_field({"label": "Segment", "type_id": "select", "options": "A\nB"})
    acme = create_account(clean_account({"name": "Acme", "domain": "acme.fr", "field.segment": "A"}))
    ada = contacts.create_contact({"email": "ada@acme.fr"})
    run_jobs()
    try:
        clean_account({"name": "Acme", "field.segment": "Z"}, acme)
    except ValueError as error:
        assert "Segment:" in error.errors["field.segment"]
    else:
        raise AssertionError("a choice outside the options was accepted")
    changes = update_account(acme, clean_account({"name": "Acme", "domain": "acme.fr", "field.segment": "B"}, acme))
    assert changes == {"segment": ("A", "B")}
    event = Event.get((Event.contact == ada.id) & (Event.kind == "account_updated"))
    assert event.data["changes"] == {"segment": ["A", "B"]}
    assert update_account(acme, clean_account({"name": "Acme", "domain": "acme.fr", "field.segment": "B"},
                                              acme)) == {}


def test_custom_fields_go_out_and_back_in_through_csv(admin, ctx):
    create_field({"label": "SIRET", "type_id": "text"})
    create_field({"label": "Marchés", "type_id": "multiselect", "options": "France\nBelgique"})
    create_field({"label": "Partenaire", "type_id": "boolean"})
    data = ("name;domain;siret;marches;partenaire\n"
            "Acme;acme.fr;552 100 554;France, Belgique;oui\n"
            "Globex;globex.fr;;Allemagne;\n").encode("utf-8")
    page = admin.get("/admin/accounts/import")
    assert "Custom fields, by key: siret, marches, partenaire" in page.text
    form = page.forms["import-form"]
    form["file"] = ("accounts.csv", data)
    report = form.submit()
    assert "Created: 1 · updated: 0 · unchanged: 0" in report.text
    assert "Marchés: \"Allemagne\" is not one of the choices" in report.html.find(id="import-errors").text
    acme = Account.get(Account.domain == "acme.fr")
    stored = values_of(acme.id)
    assert stored["siret"] == "552 100 554" and stored["marches"] == ["Belgique", "France"]

    exported = admin.get("/admin/accounts/export.csv").text.lstrip("\ufeff").splitlines()
    assert exported[0].endswith(",last_interaction_at,siret,marches,partenaire")
    assert exported[1].startswith("Acme,acme.fr,") and ',552 100 554,"Belgique, France",' in exported[1]
    again = admin.get("/admin/accounts/import").forms["import-form"]
    again["file"] = ("accounts.csv", "\n".join(exported).encode("utf-8"))
    assert "Created: 0 · updated: 0 · unchanged: 1" in again.submit().text
    assert values_of(acme.id) == stored


def test_deleting_a_field_deletes_its_values(admin, ctx):
    field = create_field({"label": "SIRET", "type_id": "text"})
    create_account(clean_account({"name": "Acme", "field.siret": "1"}))
    page = admin.get("/admin/accounts/fields")
    delete = next(f for f in page.forms.values() if f.action.endswith(f"/fields/{field.id}/delete"))
    assert "Field SIRET deleted, with its values." in delete.submit().follow().text
    assert AccountField.select().count() == 0 and AccountValue.select().count() == 0
    assert field.key not in admin.get("/admin/accounts/new").text
