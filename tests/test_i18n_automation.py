"""French first for workflows (issue 17): the workflows list, the editor,
its trigger and step menus (registry labels: triggers, event kinds, step
kinds, actions), the settings forms, the words on the diagram, the template
library, flash messages and activation problems speak the admin's language."""
from __future__ import annotations

import html
import re

import pytest

from core.models import User

from .conftest import ADMIN_EMAIL


@pytest.fixture
def french_admin(admin, ctx):
    User.update(language="fr").where(User.email == ADMIN_EMAIL).execute()
    return admin


def text(page) -> str:
    return html.unescape(page.text)


def new_workflow(admin, name: str = "Bienvenue VIP"):
    form = admin.get("/admin/workflows").forms["new-workflow"]
    form["name"] = name
    return form.submit().follow()


def test_the_workflows_list_speaks_french(french_admin):
    page = french_admin.get("/admin/workflows")
    assert "Aucun workflow pour l’instant" in text(page) and "Partir d’un modèle" in text(page)
    assert "Créer un workflow vide" in text(page) and "<strong>déclencheur</strong>" in text(page)
    assert "No workflows yet" not in text(page) and "Start from a template" not in text(page)
    menu = [a.text.strip() for a in page.html.select("nav.sidebar ul a")]
    assert "Workflows" in menu and "Segments" in menu


def test_the_editor_and_its_activation_problems_speak_french(french_admin):
    editor = new_workflow(french_admin)
    assert "Ajoutez un déclencheur : qu’est-ce qui fait entrer un contact dans ce workflow ?" in text(editor)
    assert "Ajoutez au moins une étape." in text(editor) and "Règles d’entrée" in text(editor)
    assert "Démarre quand" in text(editor) and "brouillon" in text(editor)
    assert "Add at least one step." not in text(editor) and "Entry rules" not in text(editor)
    refused = editor.forms["status-form"].submit("action", value="activate").follow()
    assert "Non activé — corrigez d’abord ceci" in text(refused) and "Not activated" not in text(refused)


def test_trigger_and_step_menus_show_french_registry_labels(french_admin):
    editor = new_workflow(french_admin)
    menu = editor.click(re.escape("+ Ajouter un déclencheur"))
    assert "Selon le temps" in text(menu) and "Anniversaire d’un champ date" in text(menu)
    assert "A rejoint un segment" in text(menu)  # an event kind registered by core's segments
    assert "Based on time" not in text(menu) and "Joined a segment" not in text(menu)
    trigger_form = menu.click("Aucune interaction depuis N jours").forms["trigger-form"]
    editor = trigger_form.submit().follow()
    assert "Déclencheur « Aucune interaction depuis N jours » enregistré." in text(editor)

    menu = editor.click(re.escape("+ ajouter une étape"), index=0)
    for label in ("Attendre une durée", "Si le contact a une étiquette", "Ajouter une étiquette",
                  "Ajouter à une liste statique", "Délais", "Conditions"):
        assert label in text(menu), label
    step_form = menu.click("Si le contact a une étiquette").forms["step-form"]
    bad = step_form.submit(status=422)
    assert "Étiquette est obligatoire." in text(bad) and "Tag is required." not in text(bad)
    step_form = bad.forms["step-form"]
    step_form["s-tag"] = "client"
    editor = step_form.submit().follow()
    assert "Étape « Si le contact a une étiquette » ajoutée." in text(editor)
    assert "A l’étiquette « client » ?" in text(editor) and "Oui" in text(editor) and "Non" in text(editor)
    assert "Prêt à être activé." in text(editor)


def test_the_template_library_speaks_french(french_admin):
    page = french_admin.get("/admin/workflows/library")
    assert "Scénarios prêts à l’emploi" in text(page) and "Vœux d’anniversaire" in text(page)
    assert "Utiliser ce modèle" in text(page) and "Birthday greeting" not in text(page)
    editor = page.forms[next(key for key, form in page.forms.items()
                             if form.action.endswith("/library/birthday"))].submit().follow()
    assert "« Vœux d’anniversaire » a été créé à partir du modèle." in text(editor)
    assert "E-mail d’anniversaire" in text(editor)  # the step notes are written in the admin's language


def test_english_admins_keep_english(admin, ctx):
    editor = new_workflow(admin, "VIP welcome")
    assert "Add a trigger: what makes a contact enter this workflow?" in editor.text
    assert "Entry rules" in editor.text and "draft" in editor.text
