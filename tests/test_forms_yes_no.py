"""Yes/no fields on public forms (issue 15 item 5): a checkbox left unticked
never replaces an answer the contact already gave, so nobody silently leaves
the segments built on it; a field the form asks as a required yes/no question
(Yes/No buttons) is the only way a form turns a stored "Yes" into "No"."""
from __future__ import annotations

import re

from core import contacts
from core.migrations import apply_migrations
from core.models import Contact, MigrationRecord
from plugins.segments import segments_of
from plugins.segments.editing import save_segment
from plugins.forms import builder, register_migrations
from plugins.forms.models import FormField, SubmittedValue

from .conftest import csrf_of
from .forms_helpers import custom, field_of, later, make_form, open_form

WANTS_DEMO = {"match": "all", "groups": [{"match": "all", "conditions": [
    {"filter": "field", "params": {"field": "wants_demo", "operator": "equals", "value": "yes"}}]}]}


def demo_form():
    custom("wants_demo", "boolean", label="I would like a demo")
    return make_form("Contact us", fields=["first_name", "wants_demo"])


def in_demo_segment(email: str) -> bool:
    contact = Contact.get(Contact.email == email)
    return "Wants a demo" in [segment.name for segment in segments_of(contact)]


def send(web, form, email: str, tick: bool = False, status="*", **values):
    """Fill the hosted form like a browser; ``tick`` ticks the yes/no checkbox."""
    page, html_form = open_form(web, form)
    html_form["email"] = email
    if tick:
        html_form.get("wants_demo", index=0).checked = True
    for name, value in values.items():
        html_form[name] = value
    with later():
        return html_form.submit(status=status)


def answer_of(email: str):
    return contacts.get_values(Contact.get(Contact.email == email)).get("wants_demo")


def test_an_unticked_box_never_replaces_a_stored_yes(web, ctx, run_jobs):
    form = demo_form()
    contacts.create_contact({"email": "ada@example.com", "wants_demo": "yes"})
    save_segment(None, name="Wants a demo", kind="dynamic", definition=WANTS_DEMO)
    run_jobs()
    assert in_demo_segment("ada@example.com")

    page, html_form = open_form(web, form)
    assert html_form.get("wants_demo", index=0).attrs["type"] == "checkbox"
    send(web, form, "ada@example.com", first_name="Ada")  # the box stays unticked
    run_jobs()
    assert Contact.get(Contact.email == "ada@example.com").first_name == "Ada"
    assert answer_of("ada@example.com") == "1"
    assert in_demo_segment("ada@example.com")
    history = SubmittedValue.get(SubmittedValue.name == "wants_demo")
    assert history.value == "not ticked"  # the history says what happened, not a "No" nobody gave

    # someone without an answer who leaves it unticked is recorded as "No"; a tick is a "Yes"
    send(web, form, "bob@example.com")
    assert answer_of("bob@example.com") == "0"
    send(web, form, "bob@example.com", tick=True)
    run_jobs()
    assert answer_of("bob@example.com") == "1" and in_demo_segment("bob@example.com")


def test_a_required_yes_no_question_lets_people_answer_no(admin, ctx, run_jobs):
    form = demo_form()
    contacts.create_contact({"email": "ada@example.com", "wants_demo": "yes"})
    save_segment(None, name="Wants a demo", kind="dynamic", definition=WANTS_DEMO)
    run_jobs()
    field = field_of(form, "wants_demo")
    edit = admin.get(f"/admin/forms/{form.id}/fields/{field.id}")
    assert "Ask as a required yes/no question" in edit.text
    edit.forms["field-form"]["yes_no_question"].checked = True
    edit.forms["field-form"].submit().follow()
    field = FormField.get_by_id(field.id)
    assert field.yes_no_question and field.required

    page, html_form = open_form(admin, form)
    assert re.findall(r'type="radio" name="wants_demo" value="(\d)"', page.text) == ["1", "0"]
    assert "<span>Yes</span>" in page.text and "<span>No</span>" in page.text
    assert 'type="checkbox" id="cv-{}-wants_demo"'.format(form.key) not in page.text
    refused = send(admin, form, "ada@example.com", status=422)
    assert "This field is required." in refused.text  # a question must be answered
    assert answer_of("ada@example.com") == "1"

    send(admin, form, "ada@example.com", wants_demo="0")
    run_jobs()
    assert answer_of("ada@example.com") == "0"
    assert not in_demo_segment("ada@example.com")


def test_the_js_embed_gets_the_question_with_its_words(web, ctx):
    custom("wants_demo", "boolean", label="I would like a demo")
    form = make_form("Question", fields=["wants_demo"], origins=["https://www.example.com"], language="fr")
    builder.update_field(form, field_of(form, "wants_demo"), {"label": "Demo?", "yes_no_question": "1"})
    other = make_form("Checkbox", fields=["wants_demo"], origins=["https://www.example.com"], language="fr")
    headers = {"Origin": "https://www.example.com"}
    definition = web.get(f"/f/{form.key}/form.json", headers=headers).json
    [question] = [f for f in definition["fields"] if f["name"] == "wants_demo"]
    assert (question["widget"], question["required"]) == ("yes_no", True)
    assert (definition["strings"]["yes"], definition["strings"]["no"]) == ("Oui", "Non")
    plain = web.get(f"/f/{other.key}/form.json", headers=headers).json
    assert [f["widget"] for f in plain["fields"] if f["name"] == "wants_demo"] == ["boolean"]


def test_only_yes_no_fields_can_be_asked_as_a_question(admin, ctx):
    custom("company", "text")
    form = make_form("Contact us", fields=["company"])
    field = field_of(form, "company")
    page = admin.get(f"/admin/forms/{form.id}/fields/{field.id}")
    assert "yes_no_question" not in page.text
    admin.post(f"/admin/forms/{form.id}/fields/{field.id}",
               {"csrf_token": csrf_of(page), "label": "Company", "yes_no_question": "1"})
    assert not FormField.get_by_id(field.id).yes_no_question


def test_migration_adds_the_question_flag_to_existing_fields(ctx):
    from playhouse.migrate import SchemaMigrator, migrate

    form = demo_form()
    database = ctx.extensions["couvee"].database
    table = FormField._meta.table_name
    migrate(SchemaMigrator.from_database(database).drop_column(table, "yes_no_question"))
    MigrationRecord.delete().where((MigrationRecord.plugin == "forms") & (MigrationRecord.version == 2)).execute()
    assert "yes_no_question" not in {c.name for c in database.get_columns(table)}

    applied = apply_migrations(database, "forms", register_migrations())
    assert [m.version for m in applied] == [2]
    assert FormField.get_by_id(field_of(form, "wants_demo").id).yes_no_question is False


def test_a_hidden_yes_no_field_sets_its_fixed_answer(web, ctx, run_jobs):
    form = demo_form()
    builder.update_field(form, field_of(form, "wants_demo"), {"label": "Demo", "hidden": "1",
                                                              "hidden_source": "fixed", "default": "no"})
    contacts.create_contact({"email": "ada@example.com", "wants_demo": "yes"})
    send(web, form, "ada@example.com")
    assert answer_of("ada@example.com") == "0"  # a value the form sets, not a box left unticked
