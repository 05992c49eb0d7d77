"""The SMS plugin in French (its own catalogue, plugins/sms/translations):
the campaign pages, their errors, the phone field's refusal and the reasons
a send is skipped."""
from __future__ import annotations

from core import use_language
import pytest

from core.models import User
from plugins.sms.phones import PhoneError, to_e164

from .test_i18n import html_lang, menu


def speak_french(admin_email="owner@example.com") -> None:
    User.update(language="fr").where(User.email == admin_email).execute()


def test_the_campaign_pages_speak_french(admin, ctx):
    speak_french()
    page = admin.get("/admin/sms/")
    assert html_lang(page) == "fr" and "SMS" in menu(page)
    for french in ("Campagnes SMS", "Aucune campagne SMS pour l’instant.", "Nouvelle campagne",
                   "Enregistrer et vérifier le coût", "Les jetons comme {{ first_name }} sont remplis"):
        assert french in page.text, french
    assert "No SMS campaign yet." not in page.text and "Save and check the cost" not in page.text
    form = page.forms["new-campaign"]
    form["name"] = "Soldes"
    refused = form.submit(status=400)
    assert "Écrivez le texte du message." in refused.text
    form = refused.forms["new-campaign"]
    form["body"] = "Soldes ce week-end"
    shown = form.submit().follow()
    assert "1 segment en GSM-7, 18 caractères." in shown.text
    assert "Les SMS ne sont pas configurés" in shown.text and "brouillon" in shown.text


def test_phone_errors_in_french(ctx):
    with ctx.test_request_context("/"):
        use_language("fr")
        with pytest.raises(PhoneError) as refused:
            to_e164("12")
    assert str(refused.value) == "« 12 » n’est pas un numéro de téléphone valide"
