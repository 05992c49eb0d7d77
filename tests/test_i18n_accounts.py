"""The accounts plugin in French (its own catalogue, plugins/accounts/translations):
the list, the form and its errors, the account page, the contact panel, and
its registry labels where core shows them (menu, an event on the timeline)."""
from __future__ import annotations

from core import contacts
from core.models import User
from plugins.accounts import clean_account, create_account

from .test_i18n import html_lang, menu


def speak_french(admin_email="owner@example.com") -> None:
    User.update(language="fr").where(User.email == admin_email).execute()


def test_the_accounts_pages_speak_french(admin, ctx, run_jobs):
    speak_french()
    page = admin.get("/admin/accounts")
    assert html_lang(page) == "fr" and "Comptes" in menu(page)
    assert "Aucun compte pour l’instant" in page.text and "No accounts yet" not in page.text

    form = admin.get("/admin/accounts/new").forms["account-form"]
    form["domain"] = "pas un domaine"
    refused = form.submit(status=400)
    for french in ("Le compte n’a pas été enregistré : veuillez corriger le formulaire.",
                   "Saisissez le nom de l’entreprise.", "« pas un domaine » n’est pas un nom de domaine",
                   "PME (10 à 249 salariés)", "Ancien client"):
        assert french in refused.text, french

    acme = create_account(clean_account({"name": "Acme", "domain": "acme.fr", "revenue": "1500000"}))
    ada = contacts.create_contact({"email": "ada@acme.fr", "first_name": "Ada"})
    run_jobs()
    shown = admin.get(f"/admin/accounts/{acme.id}")
    for french in ("Score combiné", "Somme des points des contacts", "Historique de ses contacts",
                   "Rattaché à un compte", "Compte : Acme", "1\u202f500\u202f000\u202f€", "domaine e-mail"):
        assert french in shown.text, french
    assert "Combined score" not in shown.text and "Linked to an account" not in shown.text
    panel = admin.get(f"/admin/contacts/{ada.id}").html.find(id="account-panel")
    assert "Compte" in panel.text and "Détacher de ce compte" in panel.text
    assert "Trouver un compte par son nom ou son domaine" in panel.decode()
    choose = admin.get(f"/admin/accounts/contacts/{ada.id}/choose", {"q": "zzz"})
    assert "Aucun compte ne correspond à « zzz »." in choose.text
