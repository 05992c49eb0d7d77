"""French first (issue 17): the admin speaks the browser's or the user's
language, recipients get their own language in emails and public pages,
and admin times are shown in the instance time zone."""
from __future__ import annotations

import datetime as dt
import re

from core import Message, send_message
from core.contacts import create_contact
from core.models import Contact, User

from .conftest import login
from .test_email_send import configure, part

FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}
ENGLISH = {"Accept-Language": "en-GB,en;q=0.8"}


def html_lang(page) -> str:
    return re.search(r'<html lang="([^"]+)"', page.text).group(1)


def with_field(page, name):
    return next(form for form in page.forms.values() if name in form.fields)


def menu(page) -> list[str]:
    return [a.text.strip() for a in page.html.select("nav.sidebar ul a")]


def test_a_french_browser_gets_the_french_admin(admin):
    page = admin.get("/admin/", headers=FRENCH).maybe_follow(headers=FRENCH)
    assert html_lang(page) == "fr"
    assert {"Tableau de bord", "Contacts", "Réglages", "Utilisateurs"} <= set(menu(page))
    assert "Se déconnecter" in page.text and "Log out" not in page.text
    english = admin.get("/admin/", headers=ENGLISH).maybe_follow(headers=ENGLISH)
    assert html_lang(english) == "en" and "Dashboard" in menu(english) and "Log out" in english.text


def test_a_plugins_slot_on_a_core_page_speaks_the_plugins_catalogue(admin):
    """The contacts list is core's; its Import / Export buttons are the
    imports plugin's, translated from that plugin's own catalogue."""
    page = admin.get("/admin/contacts", headers=FRENCH)
    buttons = [a.text.strip() for a in page.html.select(".page-head a.button")]
    assert buttons == ["Importer", "Exporter en CSV", "Ajouter un contact"]
    english = admin.get("/admin/contacts", headers=ENGLISH)
    assert [a.text.strip() for a in english.html.select(".page-head a.button")] == \
        ["Import", "Export CSV", "Add a contact"]


def test_the_login_page_follows_the_browser(web, admin_user):
    page = web.get("/admin/login", headers=FRENCH)
    assert html_lang(page) == "fr" and "Mot de passe" in page.text and "Password" not in page.text
    page.form["email"], page.form["password"] = "owner@example.com", "wrong password!"
    refused = page.form.submit(headers=FRENCH, expect_errors=True)
    assert "Email ou mot de passe incorrect." in refused.text


def test_the_first_run_setup_speaks_the_browsers_language(web):
    page = web.get("/admin/setup", headers=FRENCH)
    assert html_lang(page) == "fr" and "Bienvenue dans Couvée" in page.text and "Jeton d’installation" in page.text
    form = with_field(page, "token")
    form["token"], form["email"] = "not the token", "owner@example.com"
    form["password"] = form["password_confirm"] = "a long enough password"
    refused = form.submit(headers=FRENCH, expect_errors=True)
    assert refused.status_int == 400 and "Le jeton d’installation est incorrect." in refused.text
    assert "Welcome to Couvée" in web.get("/admin/setup", headers=ENGLISH).text


def test_without_a_browser_preference_the_instance_default_applies(web, admin_user, monkeypatch):
    monkeypatch.setenv("COUVEE_LANGUAGE", "fr")  # a French install (the suite's default is English)
    assert html_lang(web.get("/admin/login")) == "fr"
    monkeypatch.setenv("COUVEE_LANGUAGE", "en")
    assert html_lang(web.get("/admin/login")) == "en"


def test_the_user_language_wins_over_the_browser(admin, ctx):
    account = admin.get("/admin/account", headers=FRENCH)
    assert "Langue de l’interface" in account.text
    form = account.forms["account-form"]
    form["language"] = "en"
    saved = form.submit(headers=FRENCH).maybe_follow(headers=FRENCH)
    assert "Your settings were saved." in saved.text and html_lang(saved) == "en"
    assert User.get(User.email == "owner@example.com").language == "en"
    dashboard = admin.get("/admin/", headers=FRENCH).maybe_follow(headers=FRENCH)
    assert html_lang(dashboard) == "en" and "Dashboard" in menu(dashboard)


def test_admin_times_are_shown_in_the_instance_time_zone(admin, ctx):
    contact = create_contact({"email": "lea@example.com", "first_name": "Léa"})
    noon_utc = dt.datetime(2026, 7, 14, 12, 0, tzinfo=dt.timezone.utc)
    Contact.update(created_at=noon_utc).where(Contact.id == contact.id).execute()
    page = admin.get(f"/admin/contacts/{contact.id}", headers=FRENCH)
    created = page.html.select_one("#contact-created").text
    assert "14/07/2026" in created and "14:00" in created  # Europe/Paris in summer: UTC+2
    assert "12:00" not in created


def test_a_contact_language_is_editable_and_shown(admin, ctx):
    contact = create_contact({"email": "tom@example.com"})
    form = with_field(admin.get(f"/admin/contacts/{contact.id}/edit"), "language")
    assert [value for value, *_ in form["language"].options] == ["", "fr", "en"]
    form["language"] = "en"
    form.submit().maybe_follow()
    assert Contact.get_by_id(contact.id).language == "en"
    page = admin.get(f"/admin/contacts/{contact.id}", headers=FRENCH)
    assert page.html.select_one("#contact-language").text == "English"


def test_the_api_accepts_a_contact_language(admin, ctx):
    from core import auth

    _, secret = auth.create_api_key(User.get(User.email == "owner@example.com"), "test")
    headers = {"Authorization": f"Bearer {secret}"}
    made = admin.post_json("/api/v1/contacts", {"email": "eva@example.com", "language": "fr"}, headers=headers)
    assert made.json["language"] == "fr"
    refused = admin.post_json("/api/v1/contacts", {"email": "max@example.com", "language": "de"},
                              headers=headers, expect_errors=True)
    assert refused.status_int == 422


def _marketing_email(contact, smtp_sink, key):
    result = send_message(Message(to=contact.email, contact=contact, kind="smart_content.pick", purpose="marketing",
                                  subject="News", html="<p>Hello</p>", key=key, track=True))
    assert result.status == "sent", result.reason
    return result


def test_the_email_footer_and_unsubscribe_page_speak_the_contact_language(ctx, web, smtp_sink):
    configure(smtp_sink)
    french = create_contact({"email": "jeanne@example.com", "language": "fr"})
    english = create_contact({"email": "john@example.com", "language": "en"})
    _marketing_email(french, smtp_sink, "fr:1")
    _marketing_email(english, smtp_sink, "en:1")
    to_french, to_english = smtp_sink.wait_for(2)
    if to_french["To"] != french.email:
        to_french, to_english = to_english, to_french

    html = part(to_french, "html")
    assert "Vous recevez cet email car vous êtes inscrit à nos actualités." in html
    assert "Voir cet email dans votre navigateur" in html and 'lang="fr"' in html
    assert "You receive this email" not in html
    assert "Se désinscrire" in part(to_french, "plain")
    english_html = part(to_english, "html")
    assert "You receive this email because you subscribed to our news." in english_html
    assert "Vous recevez" not in english_html

    def unsubscribe_page(mail):
        url = re.search(r'href="http://couvee\.test(/e/u/[^"]+)"', part(mail, "html")).group(1)
        return web.get(url.replace("&amp;", "&"), headers=ENGLISH)  # the contact's language beats the browser's

    page = unsubscribe_page(to_french)
    assert html_lang(page) == "fr" and "Se désinscrire" in page.text and "jeanne@example.com" in page.text
    done = page.forms[0].submit(headers=ENGLISH)
    assert "Vous êtes désinscrit" in done.text
    page = unsubscribe_page(to_english)
    assert html_lang(page) == "en" and "Stop receiving our emails at" in page.text


def test_a_contact_without_language_gets_the_instance_default(ctx, smtp_sink, monkeypatch):
    monkeypatch.setenv("COUVEE_LANGUAGE", "fr")
    configure(smtp_sink)
    nobody = create_contact({"email": "sans-langue@example.com"})
    _marketing_email(nobody, smtp_sink, "default:1")
    [mail] = smtp_sink.wait_for(1)
    assert "Vous recevez cet email" in part(mail, "html")


def test_the_preference_centre_speaks_the_contact_language(ctx, web):
    from plugins.gdpr.public_views import preferences_url

    french = create_contact({"email": "claire@example.com", "language": "fr"})
    english = create_contact({"email": "clara@example.com", "language": "en"})
    page = web.get(preferences_url(french).replace("http://couvee.test", ""), headers=ENGLISH)
    assert html_lang(page) == "fr" and "Vos préférences" in page.text and "Je m’oppose à" in page.text
    assert "La prospection par email" in page.text and "Your preferences" not in page.text
    page = web.get(preferences_url(english).replace("http://couvee.test", ""), headers=FRENCH)
    assert html_lang(page) == "en" and "Your preferences" in page.text and "Opposes email prospecting" in page.text


def test_the_privacy_request_page_follows_the_browser(web):
    page = web.get("/privacy/request", headers=FRENCH)
    assert "Vos données personnelles" in page.text and "Envoyez-moi le lien" in page.text
    assert "Your personal data" in web.get("/privacy/request", headers=ENGLISH).text


def test_an_import_column_sets_the_contact_language(ctx):
    from plugins.imports.models import ImportJob

    from .test_imports import reported, run, upload

    create_contact({"email": "old@example.com", "language": "en"})
    job = run(upload("email,prénom,langue\nnew@example.com,Zoé,fr-FR\nold@example.com,Olga,FR\n"
                     "bad@example.com,Bea,klingon\n", policy="update"))
    assert [column["target"] for column in ImportJob.get_by_id(job.id).mapping] == ["email", "first_name", "language"]
    assert Contact.get(Contact.email == "new@example.com").language == "fr"
    assert Contact.get(Contact.email == "old@example.com").language == "fr"
    assert [(line, reason) for line, _, reason in reported(job)] == [
        (4, "langue: unknown language 'klingon' (use fr or en)")]


def test_the_reoptin_request_uses_the_contact_language_unless_the_admin_wrote_the_text(ctx, smtp_sink):
    from plugins.gdpr.reoptin import REOPTIN_SUBJECT, REOPTIN_TEXT, request_reoptin

    configure(smtp_sink)
    french = create_contact({"email": "paul@example.com", "language": "fr"})
    english = create_contact({"email": "paula@example.com", "language": "en"})
    defaults = {"campaign": "2026", "subject": REOPTIN_SUBJECT, "body": REOPTIN_TEXT}  # as a new workflow stores them
    assert request_reoptin(french, defaults) == "sent"
    assert request_reoptin(english, defaults) == "sent"
    own = {"campaign": "own", "subject": "Toujours partant ?", "body": "Dites-nous oui : {link}"}
    assert request_reoptin(english, own) == "sent"
    mails = {(mail["To"], mail["Subject"]): part(mail, "plain") for mail in smtp_sink.wait_for(3)}
    french_text = mails[("paul@example.com", "Souhaitez-vous toujours avoir de nos nouvelles ?")]
    assert french_text.startswith("Bonjour,") and "/privacy/preferences?" in french_text
    assert mails[("paula@example.com", "Do you still want to hear from us?")].startswith("Hello,")
    assert mails[("paula@example.com", "Toujours partant ?")].startswith("Dites-nous oui : http")


def test_a_page_translated_by_the_browser_varies_on_accept_language(web, ctx):
    from plugins.gdpr.public_views import preferences_url

    assert "Accept-Language" in web.get("/privacy/request", headers=FRENCH).headers.get("Vary", "")
    contact = create_contact({"email": "vary@example.com", "language": "fr"})
    page = web.get(preferences_url(contact).replace("http://couvee.test", ""), headers=FRENCH)
    assert "Accept-Language" not in page.headers.get("Vary", "")  # the contact's language, whoever asks


def test_the_general_settings_speak_french_and_check_the_time_zone(admin):
    page = admin.get("/admin/settings/general", headers=FRENCH)
    assert "Langue par défaut" in page.text and "Fuseau horaire par défaut" in page.text
    assert "Défini par la variable d’environnement COUVEE_LANGUAGE." in page.text  # the suite's English default
    form = page.forms["settings-form"]
    form["timezone"] = "Mars/Olympus"
    refused = form.submit(headers=FRENCH, expect_errors=True)
    assert refused.status_int == 400 and "unknown time zone &#39;Mars/Olympus&#39;" in refused.text
    form["timezone"] = "America/Montreal"
    saved = form.submit(headers=FRENCH).maybe_follow(headers=FRENCH)
    assert "Réglages « Général » enregistrés." in saved.text


def test_error_pages_speak_the_visitor_language(web):
    missing = web.get("/privacy/nowhere", headers=FRENCH, status=404)
    assert "404 · Page introuvable" in missing.text and "Vérifiez l’adresse." in missing.text
    assert "Not Found" not in missing.text
    english = web.get("/privacy/nowhere", headers=ENGLISH, status=404)
    assert "404 · Page not found" in english.text


def test_a_broken_link_is_explained_in_the_visitor_language(web):
    page = web.get("/privacy/preferences?t=abc", headers=FRENCH, status=403)
    assert html_lang(page) == "fr" and "Ce lien n’est pas valide." in page.text and "Vos préférences" in page.text
    assert "This link is not valid." in web.get("/privacy/preferences?t=abc", headers=ENGLISH, status=403).text
