"""French first for the tracking plugin (issue 17, part 2): the visits,
sites and assets pages, the site form and its errors, the contact's visits
panel, flash messages, settings and event kind labels speak the admin's
language."""
from __future__ import annotations

from core import contacts
from core.models import User
from plugins.tracking import link_visitor

from .test_i18n import ENGLISH, FRENCH, menu
from .tracking_helpers import drain_now, hit_body, make_site, send_hit

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_the_empty_tracking_pages_speak_french(admin):
    visits = admin.get("/admin/tracking/visits", headers=FRENCH)
    assert "Visites" in menu(visits)
    assert "Aucun site suivi pour l’instant" in visits.text and "No tracked site yet" not in visits.text
    sites = admin.get("/admin/tracking/sites", headers=FRENCH)
    assert "Sites suivis" in sites.text and "Aucun site pour l’instant" in sites.text
    assert "Ajouter un site" in sites.text and "Tracked sites" not in sites.text
    assets = admin.get("/admin/tracking/assets", headers=FRENCH)
    assert "Aucune ressource pour l’instant" in assets.text and "No asset yet" not in assets.text
    assert "Tracked sites" in admin.get("/admin/tracking/sites", headers=ENGLISH).text


def test_the_site_form_its_errors_and_the_snippet_page_speak_french(admin, ctx):
    form = admin.get("/admin/tracking/sites/new", headers=FRENCH).forms["site-form"]
    form["name"] = "Blog"
    form["origins"] = "ftp://nope"
    form["rate_limit"] = "0"
    refused = form.submit(headers=FRENCH, status=422)
    assert "Le site n’a pas été enregistré : corrigez les éléments signalés ci-dessous." in refused.text
    assert "'ftp://nope' n’est pas une origine comme https://www.example.com" in refused.html.get_text()
    assert "Hits par minute et par adresse : un nombre entier de 1 à 100000." in refused.text
    assert "is not an origin" not in refused.text

    form = refused.forms["site-form"]
    form["origins"] = "https://www.example.com"
    form["rate_limit"] = "120"
    site_page = form.submit(headers=FRENCH).follow(headers=FRENCH)
    assert "Site Blog enregistré." in site_page.text
    assert "Extrait de code" in site_page.text and "Collez ceci dans chaque page" in site_page.text
    assert "Requis avant tout stockage ou envoi" in site_page.text and "0 hit" in site_page.text
    assert "Paste this into every page" not in site_page.text


def test_visits_and_the_contact_panel_speak_french(admin, web, wsgi, ctx):
    site = make_site(wsgi.app)
    ada = contacts.create_contact({"email": "ada@example.com", "first_name": "Ada"})
    send_hit(web, hit_body(site, v="visitorofada000001"))
    send_hit(web, hit_body(site, v="visitorofada000001", k="event", n="added_to_cart"))
    send_hit(web, hit_body(site, v="someoneelse0000001", u="https://www.example.com/blog"))
    drain_now(wsgi.app)
    link_visitor("visitorofada000001", ada)

    page = admin.get("/admin/tracking/visits", headers=FRENCH)
    assert "Pages vues par jour" in page.text and "Pages les plus vues" in page.text
    assert "Dernières visites" in page.text and "événement" in page.text and "anonyme" in page.text
    assert 'aria-label="Pages vues par jour"' in page.text
    assert "Top pages" not in page.text and "Page views per day" not in page.text
    bad = admin.get("/admin/tracking/visits", {"since": "hier"}, headers=FRENCH)
    assert "Du : 'hier' n’est pas une date comme 2024-05-31." in bad.html.get_text()
    none = admin.get("/admin/tracking/visits", {"since": "2999-01-01"}, headers=FRENCH)
    assert "Aucune visite ne correspond à ces filtres pour l’instant." in none.text

    contact_page = admin.get(f"/admin/contacts/{ada.id}", headers=FRENCH)
    panel = contact_page.html.select_one("#contact-visits").get_text()
    assert "Visites du site web" in panel and "événement" in panel and "Website visits" not in panel
    # the event kinds' labels in the contact's history
    assert "Visiteur identifié" in contact_page.text and "Page visitée" in contact_page.text
    assert "Visitor identified" not in contact_page.text


def test_an_admin_whose_language_is_french_gets_the_settings_and_asset_messages(admin, ctx):
    User.update(language="fr").execute()
    settings = admin.get("/admin/settings/tracking")
    assert "Conserver les visites anonymes (jours)" in settings.text
    assert "Keep anonymous visits" not in settings.text

    form = admin.get("/admin/tracking/assets").forms["asset-upload"]
    form["title"] = "Livre blanc"
    form["file"] = ("livre-blanc.pdf", PDF)
    listing = form.submit().follow()
    assert "Ressource Livre blanc envoyée." in listing.text and "Lien suivi" in listing.text
    deleted = next(f for f in listing.forms.values() if f.action.endswith("/delete")).submit().follow()
    assert "Ressource Livre blanc supprimée." in deleted.text
