"""French first (issue 17, part 2): the Koban CRM sync's admin pages (overview
and sync log, a run, the field mapping), its contact panel, flash messages,
settings and registry labels speak French to an admin whose language is
French, from the plugin's own catalogue."""
from __future__ import annotations

import pytest

from core import contacts
from core.models import User
from plugins.crm_koban_sync.runs import finish_run, start_run

from .conftest import ADMIN_EMAIL, csrf_of
from .fake_koban import koban  # noqa: F401  (fixture)
from .test_crm_koban_sync import configure


@pytest.fixture
def french_admin(admin, ctx):
    User.update(language="fr").where(User.email == ADMIN_EMAIL).execute()
    return admin


def menu(page) -> list[str]:
    return [a.text.strip() for a in page.html.select("nav.sidebar ul a")]


def test_the_empty_overview_is_french(french_admin):
    page = french_admin.get("/admin/crm")
    assert "CRM Koban" in menu(page)
    assert "Aucune synchronisation pour l’instant" in page.text and "Désactivée" in page.text
    assert "Tester la connexion" in page.text and "Réglages de connexion" in page.text
    assert "No sync yet" not in page.text and "Test connection" not in page.text


def test_the_sync_log_and_a_run_are_french(french_admin):
    run = start_run("push")
    run.sent, run.created = 3, 2
    finish_run(run)
    page = french_admin.get("/admin/crm")
    assert "Journal de synchronisation" in page.text and "Sync log" not in page.text
    assert page.html.select_one("#runs a").text == f"#{run.id} envoi"
    assert "la plus ancienne d’abord" in page.text and "oldest first" not in page.text
    shown = french_admin.get(f"/admin/crm/runs/{run.id}")
    assert shown.html.select_one("h1").text.startswith(f"Synchronisation n° {run.id}")
    assert "envoyés : 3, créés : 2" in shown.text and "Aucune erreur lors de cette synchronisation." in shown.text
    assert "still running" not in shown.text and "No error in this run." not in shown.text


def test_the_mapping_page_its_errors_and_flash_are_french(french_admin):
    page = french_admin.get("/admin/crm/mapping")
    assert page.html.select_one("h1").text == "Correspondance des champs"
    assert "Dans les deux sens" in page.text and "Ajouter un champ" in page.text and "Prénom" in page.text
    assert "Add a field" not in page.text and "Both ways" not in page.text
    form = page.forms["add-mapping"]
    form["couvee_field"], form["koban_field"] = "email", "Guid"
    refused = form.submit(status=400)
    assert "Guid est géré par la synchronisation elle-même" in refused.text
    form = refused.forms["add-mapping"]
    form["couvee_field"], form["koban_field"] = "first_name", "Cell"
    added = form.submit().follow()
    assert "first_name ↔ Cell ajouté." in added.text


def test_flash_messages_the_panel_and_the_test_button_are_french(french_admin, koban):
    person = contacts.create_contact({"email": "lea@example.com"})
    contact_page = french_admin.get(f"/admin/contacts/{person.id}")
    assert "Pas encore dans Koban." in contact_page.text and "Not in Koban yet." not in contact_page.text
    page = french_admin.get("/admin/crm")
    refused = french_admin.post("/admin/crm/pull", {"csrf_token": csrf_of(page)}).follow()
    assert "Activez d’abord la synchronisation et saisissez les deux clés" in refused.text
    configure(koban)
    tested = french_admin.post("/admin/crm/test", {"csrf_token": csrf_of(page)}).follow()
    assert f"Connecté à Koban sur {koban.url} : le compte contient" in tested.text


def test_settings_and_registry_labels_are_french(french_admin):
    settings = french_admin.get("/admin/settings/crm_koban")
    assert "Synchroniser avec Koban" in settings.text and "Sync with Koban" not in settings.text
    from plugins import crm_koban_sync
    from plugins.crm_koban_sync.kinds import crm_event_kinds

    with french_admin.app.app.test_request_context("/admin/", headers={"Accept-Language": "fr"}):
        assert str(crm_koban_sync.register_actions()[0].label) == "Envoyer au CRM (Koban)"
        assert [str(kind.label) for kind in crm_event_kinds()] == [
            "Statut CRM modifié", "Opportunité perdue dans le CRM", "Désinscrit dans le CRM"]


def test_the_english_admin_is_unchanged(admin):
    page = admin.get("/admin/crm")
    assert "Koban CRM" in menu(page) and "No sync yet" in page.text
