"""French first (issue 17, part 2): the GDPR plugin's admin pages, its panel on
the contact page, its flash messages and its registry labels speak French to
an admin whose language is French, from the plugin's own catalogue."""
from __future__ import annotations

import pytest

from core import contacts, emit
from core.models import User

from .conftest import ADMIN_EMAIL


@pytest.fixture
def french_admin(admin, ctx):
    User.update(language="fr").where(User.email == ADMIN_EMAIL).execute()
    return admin


def consent(contact):
    return emit(contact, "consent_given", {"purpose": "email_marketing", "text": "Je veux la newsletter",
                                           "text_version": "3", "source": "form", "form_id": "7"}, source="forms")


def menu(page) -> list[str]:
    return [a.text.strip() for a in page.html.select("nav.sidebar ul a")]


def tabs(page) -> list[str]:
    return [a.text.strip() for a in page.html.select("nav.tabs a")]


def test_the_overview_and_its_tabs_are_french(french_admin):
    page = french_admin.get("/admin/gdpr/")
    assert "Protection des données" in menu(page)
    assert tabs(page) == ["Vue d’ensemble", "Conservation", "Registre des traitements", "Re-opt-in",
                          "Journal d’audit", "Liste d’exclusion", "Réglages"]
    assert "Consentements par finalité" in page.text and "Emails marketing (newsletters, offres)" in page.text
    assert "Consents by purpose" not in page.text and "contacts with an address" not in page.text
    assert "Marketing emails (newsletters, offers)" not in page.text


def test_each_admin_page_is_french(french_admin):
    expected = {
        "/admin/gdpr/retention": ("Conservation (simulation)", "l’application automatique est désactivée",
                                  "Retention (dry run)"),
        "/admin/gdpr/register": ("Registre des traitements", "3 ans après la dernière interaction",
                                 "Collection points and purposes"),
        "/admin/gdpr/reoptin": ("Campagne de re-opt-in", "Le workflow, étape par étape", "The workflow, step by step"),
        "/admin/gdpr/audit": ("Journal d’audit", "Aucun export, effacement ou changement de consentement",
                              "No export, erasure or consent change yet."),
        "/admin/gdpr/suppression": ("Liste d’exclusion", "Vérifier", "erased addresses are kept as salted hashes"),
    }
    for url, (heading, sentence, english) in expected.items():
        page = french_admin.get(url)
        assert page.html.select_one("h1").text == heading, url
        assert sentence in page.text, url
        assert english not in page.text, url


def test_the_contact_panel_erase_page_and_a_flash_are_french(french_admin, run_jobs):
    ada = contacts.create_contact({"email": "ada@example.com"}, source="import")
    consent(ada)
    run_jobs()
    page = french_admin.get(f"/admin/contacts/{ada.id}")
    panel = page.html.select_one("#data-protection")
    assert panel.select_one("h2").text == "Protection des données"
    assert "donné le" in panel.text and "via form (formulaire n° 7), texte v3" in panel.text
    assert "Enregistrer les oppositions" in panel.text and "La prospection par email" in panel.text
    assert "Save opposition" not in panel.text and "Last interaction" not in panel.text
    # a registry label: the consent_given event kind, on the contact's timeline
    assert "Consentement donné" in [s.text for s in page.html.select(".timeline strong")]

    form = next(f for f in page.forms.values() if f.action.endswith("/opposition"))
    form["sms"].checked = True
    saved = form.submit().maybe_follow()
    assert "Oppositions enregistrées." in saved.text and "Opposition flags saved." not in saved.text

    erase = french_admin.get(f"/admin/gdpr/contacts/{ada.id}/erase")
    assert "Effacer cette personne" in erase.text and "Cette action est irréversible." in erase.text
    form = next(f for f in erase.forms.values() if "confirm" in f.fields)
    form["mode"], form["confirm"] = "delete", "not the address"
    refused = form.submit(status=400)
    assert "Saisissez exactement l’adresse du contact pour confirmer." in refused.text


def test_the_settings_and_the_workflow_labels_are_french(french_admin):
    settings = french_admin.get("/admin/settings/gdpr")
    assert "Exiger le consentement pour le marketing (opt-in)" in settings.text
    assert "Require consent for marketing (opt-in)" not in settings.text
    from plugins.gdpr import kinds, reoptin

    with french_admin.app.app.test_request_context("/admin/", headers={"Accept-Language": "fr"}):
        assert str(reoptin.actions()[0].label) == "Redemander le consentement (re-opt-in)"
        assert str(reoptin.segment_filters()[0].label) == "Consentement (RGPD)"
        assert [str(k.label) for k in kinds.gdpr_event_kinds()][:2] == ["Consentement donné", "Consentement retiré"]


def test_the_english_admin_is_unchanged(admin):
    page = admin.get("/admin/gdpr/")
    assert "Data protection" in menu(page) and "Consents by purpose" in page.text


def test_the_suppression_check_answers_in_french(french_admin):
    page = french_admin.get("/admin/gdpr/suppression")
    form = next(f for f in page.forms.values() if "email" in f.fields)
    form["email"] = "nobody@example.com"
    answer = form.submit()
    assert "nobody@example.com n’est pas sur la liste d’exclusion." in answer.text
    form = next(f for f in answer.forms.values() if "email" in f.fields)
    form["email"] = "not an address"
    refused = form.submit().follow()
    assert "« not an address » n’est pas une adresse email valide." in refused.text
