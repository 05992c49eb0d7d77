"""Issue 17: a form's field labels, placeholders and help texts are edited
per form, in the form's language. A new field mapped to a native contact
field is labelled in the form's language; the admin changes the label, the
placeholder and the help text on the field's page; the hosted page and the
JS embed show them as text, never as HTML."""
from __future__ import annotations

from core.migrations import apply_migrations
from core.models import MigrationRecord
from plugins.forms import builder, register_migrations
from plugins.forms.models import Form, FormField

from .conftest import csrf_of
from .forms_helpers import custom, field_of, make_form, open_form

ORIGIN = "https://www.example.com"


def test_the_admin_edits_a_fields_label_placeholder_and_help_shown_escaped(admin, web, ctx):
    form = make_form("Inscription", origins=[ORIGIN], fields=["first_name"], language="fr")
    first_name = field_of(form, "first_name")
    assert first_name.label == "Prénom"
    page = admin.get(f"/admin/forms/{form.id}/fields/{first_name.id}")
    edit = page.forms["field-form"]
    assert edit["label"].value == "Prénom" and edit["placeholder"].value == ""
    edit["label"] = "Votre prénom <b>ici</b>"
    edit["placeholder"] = 'Jeanne"><script>alert(1)</script>'
    edit["help"] = "Pour vous saluer <i>par votre nom</i>."
    edit.submit().follow()
    saved = FormField.get_by_id(first_name.id)
    assert (saved.label, saved.placeholder, saved.help) == (
        "Votre prénom <b>ici</b>", 'Jeanne"><script>alert(1)</script>', "Pour vous saluer <i>par votre nom</i>.")

    hosted, html_form = open_form(web, Form.get_by_id(form.id))
    field = hosted.html.select_one(f"#cv-{form.key}-first_name")
    assert field["placeholder"] == 'Jeanne"><script>alert(1)</script>'
    assert hosted.html.select_one(f"label[for=cv-{form.key}-first_name]").text.startswith("Votre prénom <b>ici</b>")
    assert "<script>alert(1)</script>" not in hosted.text and "<b>ici</b>" not in hosted.text
    assert "Pour vous saluer &lt;i&gt;par votre nom&lt;/i&gt;." in hosted.text

    definition = web.get(f"/f/{form.key}/form.json", headers={"Origin": ORIGIN}).json
    shown = next(f for f in definition["fields"] if f["name"] == "first_name")
    assert (shown["label"], shown["placeholder"], shown["help"]) == (
        saved.label, saved.placeholder, saved.help)  # the embed sets them with textContent / setAttribute


def test_no_placeholder_by_default_and_none_on_a_choice_field(admin, web, ctx):
    custom("zone", "select", options=["EMEA", "APAC"])
    form = make_form("Newsletter", fields=["zone"])
    hosted, _html_form = open_form(web, form)
    assert hosted.html.select_one(f"#cv-{form.key}-email").get("placeholder") is None
    zone = field_of(form, "zone")
    assert "name=\"placeholder\"" not in admin.get(f"/admin/forms/{form.id}/fields/{zone.id}").text


def test_changing_the_forms_language_relabels_only_the_default_labels(ctx):
    form = make_form("Sign up", fields=["first_name", "last_name"], language="en")
    builder.update_field(form, field_of(form, "last_name"), {"label": "Surname", "hidden_source": "fixed"})
    builder.save_settings(form, {"name": "Inscription", "language": "fr", "doi_purpose": "email_marketing"})
    labels = [f.label for f in FormField.select().where(FormField.form == form.id).order_by(FormField.position)]
    assert labels == ["Email", "Prénom", "Surname"]  # what the admin wrote is kept
    builder.save_settings(form, {"name": "Sign up", "language": "en", "doi_purpose": "email_marketing"})
    assert field_of(form, "first_name").label == "First name"


def test_the_placeholder_column_is_added_to_an_existing_install(admin, ctx):
    from playhouse.migrate import SchemaMigrator, migrate

    form = make_form("Newsletter", fields=["first_name"])
    database = ctx.extensions["couvee"].database
    table = FormField._meta.table_name
    migrate(SchemaMigrator.from_database(database).drop_column(table, "placeholder"))
    MigrationRecord.delete().where((MigrationRecord.plugin == "forms") & (MigrationRecord.version == 3)).execute()
    assert "placeholder" not in {c.name for c in database.get_columns(table)}

    applied = apply_migrations(database, "forms", register_migrations())
    assert [m.version for m in applied] == [3]
    assert field_of(form, "first_name").placeholder == ""
    page = admin.get(f"/admin/forms/{form.id}/fields/{field_of(form, 'first_name').id}")
    admin.post(f"/admin/forms/{form.id}/fields/{field_of(form, 'first_name').id}",
               {"csrf_token": csrf_of(page), "label": "First name", "placeholder": "Ada", "hidden_source": "fixed"})
    assert field_of(form, "first_name").placeholder == "Ada"
