"""Custom fields admin (/admin/fields), as a marketer sets up the contact
record of the Okédito article: create each type, rename, reorder, archive,
edit choices, and fill the fields on a contact (files included)."""
from __future__ import annotations

import contextlib

import pytest

from core import auth
from core.contacts import create_contact, get_values
from core.models import Contact, ContactValue, CustomField, StoredFile

from .conftest import csrf_of, current_app_of, login

PDF = b"%PDF-1.7\n% cahier des charges\n%%EOF\n"
ZONES = "NORAM\nLATAM\nEMEA\nAPAC"
HOSTILE = '<script>alert("x")</script>'

#: the example of the source article: label, type, choices, expected key
ARTICLE_FIELDS = [
    ("Company revenue", "text", "", "company_revenue"),
    ("Geographic zone", "select", ZONES, "geographic_zone"),
    ("Uses Excel", "boolean", "", "uses_excel"),
    ("Company creation date", "date", "", "company_creation_date"),
    ("Specification document", "file", "", "specification_document"),
]


@contextlib.contextmanager
def db(web):
    """An app context with a connection, opened *between* requests."""
    app = current_app_of(web)
    with app.app_context(), app.extensions["couvee"].database_connection():
        yield app


def add_field(admin, label, type_id, options="", help_text="", status=302):
    form = admin.get("/admin/fields").forms["new-field"]
    form["label"] = label
    form["type_id"] = type_id
    form["options"] = options
    form["help_text"] = help_text
    return form.submit(status=status)


def field(web, key) -> CustomField:
    with db(web):
        return CustomField.get(CustomField.key == key)


def new_contact(web, email="ada@example.com", **raw) -> int:
    with db(web):
        return create_contact({"email": email, **raw}, source="test").id


def values_of(web, contact_id) -> dict:
    with db(web):
        return get_values(Contact.get_by_id(contact_id))


def contact_form(admin, contact_id):
    """The edit form of a contact (the page also has the sidebar's log-out form)."""
    page = admin.get(f"/admin/contacts/{contact_id}/edit")
    return next(form for form in page.forms.values() if "email" in form.fields)


def upload(admin, field_id, contact_id, name, content, status=302):
    token = csrf_of(admin.get(f"/admin/contacts/{contact_id}"))
    return admin.post(f"/admin/fields/{field_id}/upload/{contact_id}", {"csrf_token": token},
                      upload_files=[("file", name, content)], status=status)


@pytest.fixture
def article_fields(admin):
    for label, type_id, options, _ in ARTICLE_FIELDS:
        add_field(admin, label, type_id, options)
    return admin


# --- the article's example, end to end --------------------------------------------


def test_the_article_fields_are_created_and_filled_on_a_contact(article_fields):
    admin = article_fields
    listing = admin.get("/admin/fields")
    for label, _, _, key in ARTICLE_FIELDS:
        assert label in listing and f"<code>{key}</code>" in listing
    assert "NORAM, LATAM, EMEA, APAC" in listing
    contact_id = new_contact(admin)

    form = contact_form(admin, contact_id)
    assert "specification_document" not in form.fields  # files are uploaded on the contact page
    form["company_revenue"] = "1,2 M€"
    form["geographic_zone"] = "EMEA"
    form.get("uses_excel", index=0).checked = True
    form["company_creation_date"] = "2014-05-12"
    page = form.submit().follow()
    assert "The contact was saved." in page

    spec = field(admin, "specification_document")
    page = upload(admin, spec.id, contact_id, "Cahier des charges.pdf", PDF).follow()
    assert "“Cahier des charges.pdf” is now the Specification document of this contact." in page

    values = values_of(admin, contact_id)
    assert values["company_revenue"] == "1,2 M€"
    assert values["geographic_zone"] == "EMEA"
    assert values["uses_excel"] == "1"
    assert values["company_creation_date"] == "2014-05-12"
    page = admin.get(f"/admin/contacts/{contact_id}")
    for shown in ("1,2 M€", "EMEA", "Yes", "2014-05-12", "Cahier des charges.pdf"):
        assert shown in page
    assert admin.get(f"/admin/files/{values['specification_document']}").body == PDF


@pytest.mark.parametrize("type_id, options", [
    ("text", ""), ("boolean", ""), ("select", "TPE\nPME\nETI\nENT"), ("multiselect", "TPE\nPME\nETI\nENT"),
    ("date", ""), ("file", ""),
])
def test_every_core_type_can_be_created(admin, type_id, options):
    add_field(admin, f"A {type_id} field", type_id, options)
    created = field(admin, f"a_{type_id}_field")
    assert created.type_id == type_id
    assert created.options == (["TPE", "PME", "ETI", "ENT"] if options else [])


def test_the_type_list_offers_every_registered_type(admin):
    with db(admin) as app:
        registered = [t.id for t in app.extensions["couvee"].registries.field_types]
    offered = [value for value, _, _ in admin.get("/admin/fields").forms["new-field"]["type_id"].options]
    assert offered == registered
    assert {"text", "boolean", "select", "multiselect", "date", "file"} <= set(offered)


def test_a_multiselect_is_filled_through_the_contact_form(admin):
    add_field(admin, "Company size", "multiselect", "TPE\nPME\nETI\nENT")
    contact_id = new_contact(admin)
    form = contact_form(admin, contact_id)
    for checkbox in form.fields["company_size"]:
        if checkbox.__class__.__name__ == "Checkbox" and checkbox._value in ("PME", "ETI"):
            checkbox.checked = True
    form.submit().follow()
    assert values_of(admin, contact_id)["company_size"] == ["ETI", "PME"]


# --- keys and renaming -------------------------------------------------------------


def test_the_key_comes_from_the_label_and_stays_unique(admin):
    add_field(admin, "Zone d’activité géographique", "text")
    add_field(admin, "Zone d'activite geographique !", "text")
    add_field(admin, "Email", "text")
    add_field(admin, "2024 budget", "text")
    add_field(admin, "???", "text")
    with db(admin):
        keys = [f.key for f in CustomField.select().order_by(CustomField.id)]
    assert keys == ["zone_d_activite_geographique", "zone_d_activite_geographique_2", "email_field",
                    "f_2024_budget", "field"]


def test_renaming_keeps_the_key_and_the_values(article_fields):
    admin = article_fields
    contact_id = new_contact(admin, geographic_zone="APAC", company_revenue="3 M€")
    zone = field(admin, "geographic_zone")
    form = admin.get(f"/admin/fields/{zone.id}/edit").forms["edit-field"]
    assert "key" not in form.fields
    form["label"] = "Sales territory"
    page = form.submit().follow()
    assert "The field “Sales territory” was saved." in page
    renamed = field(admin, "geographic_zone")
    assert renamed.label == "Sales territory" and renamed.id == zone.id
    assert values_of(admin, contact_id)["geographic_zone"] == "APAC"
    assert "Sales territory" in admin.get(f"/admin/contacts/{contact_id}")


def test_a_posted_key_is_ignored(article_fields):
    zone = field(article_fields, "geographic_zone")
    token = article_fields.get("/admin/fields").forms["new-field"]["csrf_token"].value
    article_fields.post(f"/admin/fields/{zone.id}/edit", {
        "csrf_token": token, "label": "Zone", "key": "hacked", "options": ZONES, "position": "2"})
    assert field(article_fields, "geographic_zone").label == "Zone"


# --- order --------------------------------------------------------------------------


def form_order(admin, contact_id):
    form = contact_form(admin, contact_id)
    names = [name for name in form.fields if name not in ("csrf_token", "email", "first_name", "last_name", "language",
                                                          "owner_id", None)]
    return list(dict.fromkeys(names))


def test_reorder_with_buttons_and_with_a_position(article_fields):
    admin = article_fields
    contact_id = new_contact(admin)
    assert form_order(admin, contact_id) == ["company_revenue", "geographic_zone", "uses_excel",
                                             "company_creation_date"]
    listing = admin.get("/admin/fields")
    up = [f for f in listing.forms.values()
          if f.action.endswith(f"/{field(admin, 'uses_excel').id}/move") and f["direction"].value == "up"][0]
    up.submit().follow()
    assert form_order(admin, contact_id) == ["company_revenue", "uses_excel", "geographic_zone",
                                             "company_creation_date"]

    date = field(admin, "company_creation_date")
    form = admin.get(f"/admin/fields/{date.id}/edit").forms["edit-field"]
    assert form["position"].value == "4"
    form["position"] = "1"
    form.submit().follow()
    assert form_order(admin, contact_id) == ["company_creation_date", "company_revenue", "uses_excel",
                                             "geographic_zone"]
    with db(admin):
        positions = [f.position for f in CustomField.select().where(~CustomField.archived)
                     .order_by(CustomField.position)]
    assert positions == [1, 2, 3, 4, 5]


def test_a_bad_position_is_refused_with_a_message(article_fields):
    zone = field(article_fields, "geographic_zone")
    form = article_fields.get(f"/admin/fields/{zone.id}/edit").forms["edit-field"]
    form["position"] = "first"
    page = form.submit(status=400)
    assert "The position is a whole number from 1." in page


# --- archive ----------------------------------------------------------------------------


def test_archiving_hides_the_field_from_the_contact_form_and_keeps_values(article_fields):
    admin = article_fields
    contact_id = new_contact(admin, company_revenue="5 M€")
    revenue = field(admin, "company_revenue")
    listing = admin.get("/admin/fields")
    archive = [f for f in listing.forms.values() if f.action.endswith(f"/{revenue.id}/archive")][0]
    page = archive.submit().follow()
    assert "was archived: its values are kept" in page
    assert "company_revenue" not in contact_form(admin, contact_id).fields
    assert "Archived fields" in page

    form = contact_form(admin, contact_id)
    form["geographic_zone"] = "EMEA"
    form.submit().follow()  # saving the form without the archived field keeps its value
    with db(admin):
        assert ContactValue.get(ContactValue.field == revenue.id).value == "5 M€"

    back = [f for f in admin.get("/admin/fields").forms.values() if f.action.endswith(f"/{revenue.id}/archive")][0]
    back.submit().follow()
    assert "company_revenue" in contact_form(admin, contact_id).fields
    assert values_of(admin, contact_id)["company_revenue"] == "5 M€"


# --- choices ------------------------------------------------------------------------------


def test_removing_a_used_choice_warns_then_keeps_the_values(article_fields):
    admin = article_fields
    apac = [new_contact(admin, f"apac{i}@example.com", geographic_zone="APAC") for i in range(2)]
    new_contact(admin, "emea@example.com", geographic_zone="EMEA")
    zone = field(admin, "geographic_zone")
    form = admin.get(f"/admin/fields/{zone.id}/edit").forms["edit-field"]
    form["options"] = "NORAM\nEMEA\nAPJ"  # LATAM unused, APAC used twice
    page = form.submit(status=200)
    assert "“APAC”: 2 contacts" in page
    assert "LATAM" not in page.html.find(id="options-in-use").text
    assert field(admin, "geographic_zone").options == ["NORAM", "LATAM", "EMEA", "APAC"]  # nothing saved yet

    page = page.forms["edit-field"].submit("confirm_removal").follow()
    assert field(admin, "geographic_zone").options == ["NORAM", "EMEA", "APJ"]
    assert values_of(admin, apac[0])["geographic_zone"] == "APAC"  # kept
    select = contact_form(admin, apac[0])["geographic_zone"]
    assert select.value == "APAC"  # still shown, so saving the form does not lose it


def test_removing_an_unused_choice_needs_no_confirmation(article_fields):
    zone = field(article_fields, "geographic_zone")
    form = article_fields.get(f"/admin/fields/{zone.id}/edit").forms["edit-field"]
    form["options"] = "NORAM\nEMEA\nAPAC"
    form.submit().follow()
    assert field(article_fields, "geographic_zone").options == ["NORAM", "EMEA", "APAC"]


def test_changing_the_case_of_a_choice_respells_the_values(article_fields):
    contact_id = new_contact(article_fields, geographic_zone="EMEA")
    zone = field(article_fields, "geographic_zone")
    form = article_fields.get(f"/admin/fields/{zone.id}/edit").forms["edit-field"]
    form["options"] = "NORAM\nLATAM\nEmea\nAPAC"
    form.submit().follow()
    assert values_of(article_fields, contact_id)["geographic_zone"] == "Emea"


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize("label, type_id, options, message", [
    ("", "text", "", "Give the field a label."),
    ("Zone", "select", "", "List the choices, one per line."),
    ("Zone", "select", "EMEA\nemea", "“emea” is listed twice."),
    ("Zone", "select", "x" * 201, "is longer than 200 characters"),
    ("x" * 201, "text", "", "the maximum is 200"),
])
def test_invalid_fields_are_refused_with_messages(admin, label, type_id, options, message):
    page = add_field(admin, label, type_id, options, status=400)
    assert message in page
    assert "The field was not created" in page
    assert page.forms["new-field"]["options"].value == options  # what was typed is kept
    with db(admin):
        assert CustomField.select().count() == 0


def test_an_unknown_type_and_a_duplicate_label_are_refused(admin):
    add_field(admin, "Company revenue", "text")
    token = admin.get("/admin/fields").forms["new-field"]["csrf_token"].value
    page = admin.post("/admin/fields/new", {"csrf_token": token, "label": "Other", "type_id": "nope"}, status=400)
    assert "Choose a field type." in page
    page = add_field(admin, "company REVENUE", "text", status=400)
    assert "A field named “Company revenue” already exists." in page


def test_edit_errors_are_shown_and_nothing_is_saved(article_fields):
    zone = field(article_fields, "geographic_zone")
    form = article_fields.get(f"/admin/fields/{zone.id}/edit").forms["edit-field"]
    form["label"] = "Company revenue"
    form["options"] = ""
    page = form.submit(status=400)
    assert "A field named “Company revenue” already exists." in page
    assert "List the choices, one per line." in page
    assert field(article_fields, "geographic_zone").label == "Geographic zone"


def test_hostile_labels_and_choices_are_escaped(admin):
    add_field(admin, HOSTILE, "select", f"{HOSTILE}\nEMEA", help_text=HOSTILE)
    created = field(admin, "script_alert_x_script")
    contact_id = new_contact(admin)
    for url in ("/admin/fields", f"/admin/fields/{created.id}/edit", f"/admin/contacts/{contact_id}/edit",
                f"/admin/contacts/{contact_id}"):
        page = admin.get(url)
        assert HOSTILE not in page.text, url
        assert "&lt;script&gt;" in page.text, url


# --- who may manage fields ----------------------------------------------------------------------


def test_sales_reps_cannot_manage_fields_but_marketers_can(web, admin_user):
    with db(web):
        auth.create_user("rep@example.com", "x" * 12, role="sales")
        auth.create_user("mkt@example.com", "x" * 12, role="marketer")
    login(web, "rep@example.com", "x" * 12)
    assert 'data-menu="fields"' not in web.get("/admin/")
    web.get("/admin/fields", status=403)
    web.reset()
    login(web, "mkt@example.com", "x" * 12)
    assert 'data-menu="fields"' in web.get("/admin/")
    add_field(web, "Company revenue", "text")


# --- files on contacts -----------------------------------------------------------------------------


def test_an_uploaded_file_is_stored_outside_static_and_replaces_the_previous(article_fields):
    admin = article_fields
    contact_id = new_contact(admin)
    spec = field(admin, "specification_document")
    upload(admin, spec.id, contact_id, "v1.pdf", PDF)
    upload(admin, spec.id, contact_id, "v2.txt", b"second version")
    with db(admin) as app:
        stored = StoredFile.get_by_id(int(get_values(Contact.get_by_id(contact_id))["specification_document"]))
        uploads = app.extensions["couvee"].config.uploads_path
        static = app.static_folder
    assert stored.original_name == "v2.txt"
    path = (uploads / stored.path).resolve()
    assert path.read_bytes() == b"second version"
    assert path.is_relative_to(uploads.resolve()) and not str(path).startswith(static)
    page = admin.get(f"/admin/contacts/{contact_id}")
    assert "v2.txt" in page

    token = csrf_of(page)
    admin.post(f"/admin/fields/{spec.id}/clear/{contact_id}", {"csrf_token": token}).follow()
    assert "specification_document" not in values_of(admin, contact_id)


@pytest.mark.parametrize("name, content, message", [
    ("payload.exe", b"MZ...", "payload.exe&#34;: .exe files are not accepted"),
    ("photo.png", b"<html>not a png</html>", "is not a real PNG image"),
    ("empty.pdf", b"", "is empty"),
])
def test_invalid_uploads_are_refused_with_a_message(article_fields, name, content, message):
    admin = article_fields
    contact_id = new_contact(admin)
    spec = field(admin, "specification_document")
    page = upload(admin, spec.id, contact_id, name, content).follow()
    assert "flash-error" in page and message in page.text
    assert "specification_document" not in values_of(admin, contact_id)
    with db(admin) as app:
        assert StoredFile.select().count() == 0
        uploads = app.extensions["couvee"].config.uploads_path
    assert not [p for p in uploads.rglob("*") if p.is_file()]


def test_an_upload_without_file_or_on_a_non_file_field_is_refused(article_fields):
    admin = article_fields
    contact_id = new_contact(admin)
    token = csrf_of(admin.get(f"/admin/contacts/{contact_id}"))
    spec = field(admin, "specification_document")
    page = admin.post(f"/admin/fields/{spec.id}/upload/{contact_id}", {"csrf_token": token}).follow()
    assert "Choose a file to attach as Specification document." in page
    revenue = field(admin, "company_revenue")
    admin.post(f"/admin/fields/{revenue.id}/upload/{contact_id}", {"csrf_token": token},
               upload_files=[("file", "a.pdf", PDF)], status=404)
    admin.post(f"/admin/fields/{spec.id}/upload/99999", {"csrf_token": token},
               upload_files=[("file", "a.pdf", PDF)], status=404)
    admin.post(f"/admin/fields/{spec.id}/upload/{contact_id}", upload_files=[("file", "a.pdf", PDF)],
               status=400)  # no CSRF token
