"""The contact's history words what each event carried, in the reader's
language (issue 17): field labels and "old → new" instead of raw data such as
``changes: {'last_name': ['', 'Leclerc']}``."""
from __future__ import annotations

from core.contacts import add_tag, create_contact, update_contact
from core.event_details import event_details, plain_text
from core.models import CustomField

from .test_i18n import ENGLISH, FRENCH


def history(page) -> list[set[str]]:
    """The details of each event of the history, as a set of "label: text" lines."""
    return [set(" ".join(li.select_one(".data").text.split()).split(" · "))
            for li in page.html.select("ol.timeline li") if li.select_one(".data")]


def test_a_change_is_shown_with_field_labels_and_old_and_new_values(admin, ctx):
    CustomField.create(key="company_size", label="Taille de l'entreprise", type_id="text")
    contact = create_contact({"email": "lea@example.com", "first_name": "Léa"}, source="admin")
    update_contact(contact, {"last_name": "Leclerc", "company_size": "PME"}, source="api")
    add_tag(contact, "vip")

    english = history(admin.get(f"/admin/contacts/{contact.id}", headers=ENGLISH))
    assert {"Last name: — → Leclerc", "Taille de l'entreprise: — → PME", "Source: REST API"} in english
    assert {"Tag: vip"} in english and {"Source: by hand in the admin"} in english
    french = admin.get(f"/admin/contacts/{contact.id}", headers=FRENCH)
    shown = history(french)
    assert {"Nom : — → Leclerc", "Taille de l'entreprise : — → PME", "Source : API REST"} in shown
    assert {"Étiquette : vip"} in shown
    assert "Contact modifié" in french.text and "changes" not in french.text and "{'" not in french.text


def test_contact_supplied_values_in_the_history_are_escaped(admin, ctx):
    contact = create_contact({"email": "x@example.com"}, source="admin")
    update_contact(contact, {"first_name": "<script>alert(1)</script>"}, source="admin")
    page = admin.get(f"/admin/contacts/{contact.id}", headers=ENGLISH)
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;" in page.text


def test_an_unregistered_kind_falls_back_to_plain_data(ctx):
    assert event_details("gone_plugin_kind", {"form_id": 3, "tags": ["a", "b"], "empty": ""}) == \
        [("Form id", "3"), ("Tags", "a, b")]
    assert plain_text({"a": 1, "b": None}) == "A: 1"


def test_hook_contact_change_sources(admin, ctx, wsgi):
    """A plugin words its change sources (``import``, ``form``) for the
    history; without the plugin the word is shown as recorded."""
    from core import state
    from core.plugins import lifecycle

    contact = create_contact({"email": "ines@example.com"}, source="import")
    update_contact(contact, {"first_name": "Inès"}, source="form")
    english = history(admin.get(f"/admin/contacts/{contact.id}", headers=ENGLISH))
    assert {"Source: CSV import"} in english and {"First name: — → Inès", "Source: form"} in english
    french = history(admin.get(f"/admin/contacts/{contact.id}", headers=FRENCH))
    assert {"Source : import CSV"} in french and {"Prénom : — → Inès", "Source : formulaire"} in french
    lifecycle.deactivate(state(), "imports")
    wsgi.runtime.refresh()
    assert {"Source : import"} in history(admin.get(f"/admin/contacts/{contact.id}", headers=FRENCH))
