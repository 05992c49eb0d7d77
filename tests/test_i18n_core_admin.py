"""Core's own admin pages beyond the layout speak French (issue 17): the
plugins page and its flashes, API keys, the dashboard's background-work
sentences, field type labels and the validation messages of contact fields."""
from __future__ import annotations

import datetime as dt

import time_machine

from core.queue import enqueue

from .test_i18n import FRENCH

KNOWN_ENGLISH = ("Upload a plugin", "No plugin found", "Deactivate", "When (UTC)", "Copy your new key",
                 "Create a key", "No key yet")


def test_the_plugins_page_and_its_flash_speak_french(admin):
    page = admin.get("/admin/plugins", headers=FRENCH)
    assert "Envoyer un plugin" in page.text and "Historique" in page.text and "Désactiver" in page.text
    assert not [sentence for sentence in KNOWN_ENGLISH if sentence in page.text]
    form = page.forms[next(key for key, f in page.forms.items() if f.action.endswith("/plugins/tracking/deactivate"))]
    done = form.submit(headers=FRENCH).follow(headers=FRENCH)
    assert "Le plugin Suivi du site web est désactivé. Ses données sont conservées." in done.text
    assert "Activé" in done.text or "Désactivé" in done.text  # the history in words


def test_api_keys_speak_french(admin):
    page = admin.get("/admin/api-keys", headers=FRENCH)
    assert "Clés d’API" in page.text or "Clés API" in page.text
    assert "Aucune clé pour l’instant." in page.text and "Créer une clé" in page.text
    form = next(f for f in page.forms.values() if "name" in f.fields)
    form["name"] = "Synchro"
    created = form.submit(headers=FRENCH)
    assert "Copiez votre nouvelle clé maintenant" in created.text


def test_background_work_is_worded_in_french(admin, ctx):
    start = dt.datetime.now(dt.timezone.utc)
    with time_machine.travel(start, tick=False):
        enqueue(print, "first", queue="email")
        enqueue(print, "second", queue="email")
    with time_machine.travel(start + dt.timedelta(hours=2, minutes=1), tick=False):
        section = admin.get("/admin/", headers=FRENCH).html.find(id="background-work")
    [line] = section.select("li[data-queue]")
    assert line.get_text(strip=True) == "Emails à envoyer : 2 tâches en attente, la plus ancienne depuis 2 heures."


def test_a_field_error_and_the_field_types_speak_french(admin, ctx):
    from core.models import CustomField

    CustomField.create(key="birthday", label="Anniversaire", type_id="date")
    page = admin.get("/admin/contacts/new", headers=FRENCH)
    form = page.forms[next(key for key, f in page.forms.items() if "email" in f.fields)]
    form["email"], form["birthday"] = "anne@example.com", "demain"
    refused = form.submit(headers=FRENCH, expect_errors=True)
    [error] = [span.text for span in refused.html.select("span.error")]
    assert error.startswith('"demain" n’est pas une date ; utilisez 31/03/2024')
    fields = admin.get("/admin/fields", headers=FRENCH)
    assert "Choix multiple" in fields.text and "Oui/Non" in fields.text
