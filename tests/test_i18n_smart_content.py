"""French first for smart content (issue 17, part 2): its admin pages, flash
messages, validation errors and stage labels speak the admin's language,
and the programme's email (the default template's sentences) speaks each
contact's own language, whoever else is logged in."""
from __future__ import annotations

import pytest

from core import contacts, emit
from core.models import User
from plugins.smart_content import library, programme as programme_settings
from plugins.smart_content.models import Feed
from plugins.smart_content.sender import run_programme

from .test_smart_content_send import configure_email

FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}


@pytest.fixture
def french_admin(admin, ctx):
    User.update(language="fr").where(User.email == "owner@example.com").execute()
    return admin


def _article(**changes):
    values = {"title": "Automatiser son CRM", "url": "https://blog.example.fr/crm",
              "image_url": "https://cdn.example.fr/crm.jpg", "excerpt": "Un guide", "stage": "engagement",
              "tags": ["CRM"], "score": 5}
    return library.save_content(None, {**values, **changes})


def test_the_smart_content_pages_speak_french(french_admin):
    dashboard = french_admin.get("/admin/smart-content")
    assert "Contenu intelligent" in dashboard.text and "Envois par jour (30 derniers jours)" in dashboard.text
    assert "Programme : <strong>désactivé</strong>" in dashboard.text and "le programme est désactivé" in dashboard.text
    assert "Fidélisation" in dashboard.text  # a stage label
    assert "Sends per day" not in dashboard.text and "Loyalty" not in dashboard.text

    contents = french_admin.get("/admin/smart-content/contents")
    assert "Aucun contenu pour l’instant" in contents.text and "No content yet" not in contents.text
    feeds = french_admin.get("/admin/smart-content/feeds")
    assert "Aucun flux pour l’instant" in feeds.text and "Adresse du flux (RSS ou Atom)" in feeds.text
    Feed.create(url="https://blog.example.fr/feed", last_status="ok: 3 items, 1 new")
    feeds = french_admin.get("/admin/smart-content/feeds")
    assert "OK : 3 articles, nouveaux : 1" in feeds.text and "Récupérer maintenant" in feeds.text
    matrix = french_admin.get("/admin/smart-content/matrix")
    assert "Matrice marketing" in matrix.text and "No tagged content yet" not in matrix.text
    programme = french_admin.get("/admin/smart-content/programme")
    assert "Programme d’envoi" in programme.text and "Jours autorisés" in programme.text
    assert "lun." in programme.text and "Allowed weekdays" not in programme.text
    test = french_admin.get("/admin/smart-content/test")
    assert "Envoi de test et aperçu" in test.text and "Ajoutez d’abord un contenu." in test.text
    log = french_admin.get("/admin/smart-content/log")
    assert "Rien d’envoyé pour l’instant" in log.text and "Nothing sent yet" not in log.text


def test_flash_messages_and_errors_speak_french(french_admin, ctx):
    page = french_admin.get("/admin/smart-content/contents/new")
    form = page.forms["content-form"]
    form["title"], form["url"], form["score"] = "Guide CRM", "not an address", "many"
    refused = form.submit(status=400)
    assert "Corrigez les champs signalés ; rien n’a été enregistré." in refused.text
    assert "Indiquez l’adresse web du contenu (http:// ou https://)." in refused.text
    assert "Le score doit être un nombre entier." in refused.text
    form = refused.forms["content-form"]
    form["url"], form["score"] = "https://blog.example.fr/guide", "3"
    saved = form.submit().follow()
    assert "Contenu « Guide CRM » enregistré." in saved.text
    assert "étape" in saved.html.select_one("td.sc-missing").text  # what is missing, in French

    programme = french_admin.get("/admin/smart-content/programme").forms["programme-form"]
    programme["every_days"] = "often"
    refused = programme.submit(status=400)
    assert "La fréquence doit être un nombre entier." in refused.text


def test_the_programme_email_speaks_each_contacts_language(french_admin, ctx, run_jobs, smtp_sink):
    configure_email(smtp_sink)
    _article()
    for email, language in (("jeanne@example.com", "fr"), ("john@example.com", "en")):
        person = contacts.create_contact({"email": email, "first_name": email.split("@")[0].title(),
                                          "language": language})
        contacts.add_tag(person, "CRM")
        emit(person, "consent_given", {"purpose": "email_marketing", "source": "admin", "text": "Oui",
                                       "text_version": "1"})
    run_jobs()
    settings = programme_settings.load()
    settings.enabled, settings.weekdays, settings.excluded_dates = True, list(range(7)), []
    settings.hour_start, settings.hour_end = 0, 24
    programme_settings.store(settings)

    assert run_programme()["claimed"] == 2
    run_jobs(queues=["email"])
    received = {message["To"]: message.get_body(("html",)).get_content() for message in smtp_sink.wait_for(2)}
    french, english = received["jeanne@example.com"], received["john@example.com"]
    assert "Bonjour Jeanne," in french and "Lire l’article" in french and "Read it" not in french
    assert "Hello John," in english and "Read it" in english and "Bonjour" not in english

    dashboard = french_admin.get("/admin/smart-content")
    assert "Programme : <strong>activé</strong>, un envoi par période de 10 jours" in dashboard.text
