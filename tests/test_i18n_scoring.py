"""French first for scoring (issue 17, part 2): the Points pages, their flash
messages and validation errors, the registry labels (menu, event kinds, the
points.change action, the tier filter) and the explanations of a score
speak the admin's language; reasons written by users stay as written."""
from __future__ import annotations

import pytest

from core import contacts
from core.models import User
from plugins.scoring.ledger import Change, record_change
from plugins.scoring.models import PointTrigger
from plugins.scoring.reasons import REASON_PERCENT

FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}


@pytest.fixture
def french_admin(admin, ctx):
    User.update(language="fr").where(User.email == "owner@example.com").execute()
    return admin


def test_the_points_pages_speak_french(french_admin):
    overview = french_admin.get("/admin/points")
    assert "Vue d’ensemble" in overview.text and "Déclencheurs" in overview.text
    assert "Le scoring n’est pas encore configuré" in overview.text and "Répartition des scores" in overview.text
    assert "Aucun point n’a encore été attribué." in overview.text and "Érosion : Désactivée." in overview.text
    assert "Scoring is not set up yet" not in overview.text and "Latest changes" not in overview.text
    assert {"Froid", "Tiède", "Chaud"} <= {s.text.split()[1] for s in overview.html.select("#tiers .stat")}

    actions = french_admin.get("/admin/points/actions")
    assert "Aucune action de points pour l’instant" in actions.text and "No point actions yet" not in actions.text
    triggers = french_admin.get("/admin/points/triggers")
    assert "Aucun déclencheur pour l’instant" in triggers.text and "No triggers yet" not in triggers.text

    settings = french_admin.get("/admin/points/settings")
    assert "Niveaux de score" in settings.text and "Les points expirent après un nombre de jours" in settings.text
    assert "Score tiers" not in settings.text and "Points expire after a number of days" not in settings.text


def test_the_forms_flash_and_errors_speak_french(french_admin, ctx):
    page = french_admin.get("/admin/points/actions/new")
    assert "Nouvelle action de points" in page.text and "Caractères génériques" in page.text
    assert "Negative numbers take points away." not in page.text
    form = page.forms["action-form"]
    form["name"], form["delta"], form["kind"] = "Visited pricing", "0", "page_visited"
    refused = form.submit(status=400)
    assert "Le nombre de points ne peut pas être 0." in refused.text
    assert "L’action de points n’a pas été enregistrée" in refused.text
    form = refused.forms["action-form"]
    form["delta"] = "10"
    saved = form.submit().follow()
    assert "L’action de points « Visited pricing » a été enregistrée." in saved.text
    assert "Modifier" in [a.text for a in saved.html.select("#point-actions a")]

    PointTrigger.create(name="Lead chaud", threshold=50, actions=[
        {"action": "points.change", "settings": {"delta": 5, "reason": "Bonus"}}])
    triggers = french_admin.get("/admin/points/triggers")
    assert "Modifier les points du contact (Points : 5, Motif : Bonus)" in triggers.text  # the step in words
    assert "50 points" in triggers.text and "À partir de sa création" in triggers.text

    trigger_page = french_admin.get("/admin/points/triggers/new")
    assert "Nouveau déclencheur" in trigger_page.text
    choices = [label for _, _, label in trigger_page.forms["trigger-form"]["a0-action"].options]
    assert "Modifier les points du contact" in choices  # the registry's action label
    assert "Change the contact's points" not in trigger_page.text


def test_the_contact_panel_explains_the_score_in_french(french_admin, ctx, run_jobs):
    ada = contacts.create_contact({"email": "ada@example.com"})
    record_change(Change(ada.id, 20, "Webinar", "manual"))
    record_change(Change(ada.id, -2, REASON_PERCENT.format(percent=10, days=30), "decay"))
    run_jobs()
    page = french_admin.get(f"/admin/contacts/{ada.id}")
    panel = page.html.select_one("#points-panel").text
    assert "Points : 18" in panel and "Modification manuelle" in panel and "Ajuster les points" in panel
    assert "Érosion : 10 % après 30 jours sans interaction" in panel and "Webinar" in panel  # as written
    assert "decay:" not in panel and "Adjust points" not in panel
    assert "Points modifiés" in [label.text for label in page.html.select(".timeline strong")]  # event kind label
    history = " ".join(span.text for span in page.html.select(".timeline .data"))
    assert "Points : -2 · Total : 18 · Motif : Érosion : 10 % après 30 jours sans interaction · Origine : Érosion" \
        in history and "delta" not in history  # the event's data worded by the plugin

    form = page.forms["points-adjust"]
    form["delta"], form["reason"] = "5", "Salon"
    adjusted = form.submit().follow()
    assert "+5 points enregistrés ; le score est maintenant de 23." in adjusted.text


def test_the_english_admin_is_unchanged(admin, ctx):
    page = admin.get("/admin/points", headers=FRENCH)  # the suite's user has no language: the browser's
    assert "Le scoring n’est pas encore configuré" in page.text
    User.update(language="en").where(User.email == "owner@example.com").execute()
    english = admin.get("/admin/points", headers=FRENCH)
    assert "Scoring is not set up yet" in english.text and "Vue d’ensemble" not in english.text


def test_scorings_registry_labels_speak_french_in_core_editors(french_admin, ctx):
    """The tier filter in the segment editor, the threshold event among the
    workflow triggers and the points action among the workflow steps."""
    from plugins.automation import lifecycle

    segment = french_admin.get("/admin/segments/new")
    assert "Niveau de score" in segment.text and "Score tier" not in segment.text
    workflow = lifecycle.create_workflow("Leads")
    trigger = french_admin.get(f"/admin/workflows/{workflow.id}/triggers/new")
    assert "Seuil de points franchi" in trigger.text and "Points crossed a threshold" not in trigger.text
    step = french_admin.get(f"/admin/workflows/{workflow.id}/steps/new")
    assert "Modifier les points du contact" in step.text and "Change the contact's points" not in step.text
