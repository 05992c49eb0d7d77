"""The owners plugin in French (its own catalogue, plugins/owners/translations):
the assignment page and the rule form, its flash messages and form errors,
and its registry labels where core shows them (menu, settings, the event kind
on a contact's timeline, the workflow action)."""
from __future__ import annotations

import re

from core import auth
from core.contacts import create_contact
from core.models import Contact, User

from .test_i18n import html_lang, menu


def speak_french(admin_email="owner@example.com") -> None:
    User.update(language="fr").where(User.email == admin_email).execute()


def a_rep() -> int:
    return auth.create_user("lea@example.com", "x" * 12, role="sales", name="Léa").id


def test_the_assignment_page_speaks_french(admin, ctx):
    speak_french()
    page = admin.get("/admin/assignment")
    assert html_lang(page) == "fr" and "Attribution" in menu(page)
    for french in ("Attribution des propriétaires", "Aucune règle pour l’instant : chaque nouveau contact passe",
                   "Ajouter la règle", "Aucun commercial n’est disponible", "Rôles qui prennent leur tour :",
                   "Contacts sans propriétaire : 0", "Appliquer les règles aux contacts sans propriétaire",
                   "Si le champ", "alors le propriétaire est"):
        assert french in page.text, french
    for english in ("Owner assignment", "No rule: every new contact goes to round robin.", "Add the rule",
                    "No rep is available", "Roles taking turns", "Apply rules to contacts without owner",
                    "If the field", "then the owner is"):
        assert english not in page.text, english
    operators = [o.text for o in page.html.find("select", attrs={"name": "operator"}).find_all("option")]
    assert operators == ["est", "contient"]


def test_rules_are_added_edited_and_refused_in_french(admin, ctx):
    speak_french()
    rep = a_rep()
    form = admin.get("/admin/assignment").forms["new-rule"]
    form["field_key"], form["operator"], form["value"], form["owner_id"] = "last_name", "is", "Lovelace", str(rep)
    page = form.submit().follow()
    assert "Règle ajoutée : si Nom est « Lovelace », le propriétaire est Léa." in page.text
    assert "Rule added" not in page.text
    assert "active" in page.html.find(id="rules").text and "Suspendre" in page.text

    refused = admin.get("/admin/assignment").forms["new-rule"]
    refused["value"] = ""
    refused = refused.submit(status=400)
    assert "La règle n’a pas été ajoutée : veuillez corriger le formulaire." in refused.text
    assert "Saisissez la valeur à rechercher." in refused.text and "Enter the value" not in refused.text

    edit = admin.get(admin.get("/admin/assignment").html.find("a", string="Modifier")["href"])
    assert "Modifier la règle 1" in edit.text and "Toutes les règles" in edit.text and "Edit rule" not in edit.text


def test_the_owners_labels_are_french_where_core_shows_them(admin, ctx, run_jobs):
    speak_french()
    rep = a_rep()
    contact = create_contact({"email": "ada@example.com"}, source="test")
    run_jobs()  # round robin gives Ada to Léa: an owner_assigned event on her timeline
    timeline = admin.get(f"/admin/contacts/{contact.id}")
    assert "Propriétaire attribué" in timeline.text and "Owner assigned" not in timeline.text
    assert Contact.get_by_id(contact.id).owner_id == rep

    settings = admin.get("/admin/settings/owners")
    assert "Attribuer un propriétaire aux nouveaux contacts" in settings.text
    assert "Assign an owner to new contacts" not in settings.text

    page = admin.get("/admin/workflows")
    form = page.forms["new-workflow"]
    form["name"] = "Leads chauds"
    editor = form.submit().follow()
    steps = editor.click(re.escape("+ ajouter une étape"), index=0)
    assert "Attribuer un propriétaire" in steps.text and "Assign an owner" not in steps.text


def sentences(page) -> set[str]:
    """The page's visible lines of three words or more (as the browser crawl of
    tests/test_i18n_browser.py compares them)."""
    main = page.html.find("main") or page.html
    lines = (" ".join(line.split()) for line in main.get_text("\n").splitlines())
    return {line for line in lines if len(re.findall(r"[A-Za-zÀ-ÿ]{2,}", line)) >= 3}


def test_no_english_sentence_is_left_on_the_french_assignment_pages(admin, ctx, run_jobs):
    rep = a_rep()
    from plugins.owners.models import AssignmentRule

    rule = AssignmentRule.create(position=1, field_key="last_name", value="Lovelace", owner=rep)
    create_contact({"email": "ada@example.com"}, source="test")
    run_jobs()
    for path in ("/admin/assignment", f"/admin/assignment/rules/{rule.id}/edit"):
        english = admin.get(path, headers={"Accept-Language": "en"})
        french = admin.get(path, headers={"Accept-Language": "fr"})
        assert len(sentences(french)) >= 3, path
        assert not sentences(english) & sentences(french), path
