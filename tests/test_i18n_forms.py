"""French first for the forms plugin (issue 17): its admin pages, flash
messages, validation errors, settings labels and event kind label come from
the plugin's own catalogue, in the admin's language; a new form's native
fields are labelled in the form's language."""
from __future__ import annotations

from core.models import Contact, User
from plugins.forms import builder
from plugins.forms.models import Form, FormField

from .conftest import ADMIN_EMAIL
from .forms_helpers import field_of, make_form, submit

FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}


def speak_french() -> None:
    User.update(language="fr").where(User.email == ADMIN_EMAIL).execute()


def menu(page) -> list[str]:
    return [a.text.strip() for a in page.html.select("nav.sidebar ul a")]


def test_the_forms_list_and_the_builder_speak_the_admins_language(admin, ctx):
    speak_french()
    empty = admin.get("/admin/forms")
    assert "Formulaires" in menu(empty)
    assert "Aucun formulaire pour l’instant" in empty.text and "Créer votre premier formulaire" in empty.text
    assert "No forms yet" not in empty.text

    form = make_form("Lettre d'information", fields=["first_name", ("utm_source", None)],
                     consents=[("email_marketing", "J'accepte de recevoir la lettre.")])
    builder.save_action(form, builder.add_action(form, "points.change"), {"s_delta": "10"})
    listing = admin.get("/admin/forms")
    assert "Nouveau formulaire" in listing.text and "Codes d’intégration" in listing.text
    assert "Publié" in listing.text and "Double opt-in" in listing.text
    assert "New form" not in listing.text and "Embed codes" not in listing.text

    page = admin.get(f"/admin/forms/{form.id}")
    for french in ("Publication", "Dépublier", "Champs", "Ajouter un champ du contact", "Cases de consentement",
                   "Actions après chaque envoi", "Libellé du bouton d’envoi", "Demander une confirmation par email",
                   "Enregistrer les réglages", "Supprimer ce formulaire", "Emails marketing"):
        assert french in page.text, french
    fields = [" ".join(row.text.split()) for row in page.html.select("#fields tbody tr")]
    # an English form keeps its English label; its type is named in the admin's language (core's catalogue)
    assert fields[1].startswith("First name") and "Texte" in fields[1]
    assert "caché · paramètre d’URL" in fields[2]
    assert "Points : 10" in " ".join(page.html.select_one("#actions").text.split())  # the action's setting label
    for english in ("Consent boxes", "Actions after each submission", "Save settings", "Delete this form",
                    "Add a contact field", "Email marketing"):
        assert english not in page.text, english
    # the placeholders show the default words of the form's language
    assert page.forms["settings-form"]["submit_label"].attrs["placeholder"] == "Send"


def test_the_other_forms_pages_speak_french(admin, ctx):
    form = make_form("Demande de démo", fields=["first_name"], publish=False, language="fr")
    first_name = field_of(form, "first_name")
    pages = {
        "/admin/forms/new": ("Nouveau formulaire", "Langue du formulaire", "Créer"),
        f"/admin/forms/{form.id}/embed": ("Code JS (recommandé)", "Page hébergée", "HTML simple",
                                          "Ce formulaire est un brouillon"),
        f"/admin/forms/{form.id}/submissions": ("Envois", "Aucun envoi pour l’instant", "publiez-le d’abord"),
        f"/admin/forms/{form.id}/fields/{first_name.id}": ("Champ « Prénom »", "Texte d’aide", "Valeur par défaut",
                                                          "La valeur d’un champ caché provient de"),
    }
    for url, words in pages.items():
        page = admin.get(url, headers=FRENCH)
        for word in words:
            assert word in page.text, (url, word)
    field_page = admin.get(f"/admin/forms/{form.id}/fields/{first_name.id}", headers=FRENCH)
    assert "Help text" not in field_page.text and "Un paramètre de l’URL de la page" in field_page.text
    embed = admin.get(f"/admin/forms/{form.id}/embed", headers=FRENCH)
    assert "JS snippet" not in embed.text and "Hosted page" not in embed.text


def test_flash_messages_and_validation_errors_are_french(admin, ctx):
    speak_french()
    page = admin.get("/admin/forms/new")
    page.forms["new-form"]["name"] = ""
    refused = page.forms["new-form"].submit(status=400)
    assert "Donnez un nom au formulaire." in refused.text and "Give the form a name." not in refused.text
    refused.forms["new-form"]["name"] = "Inscription"
    refused.forms["new-form"]["language"] = "fr"
    created = refused.forms["new-form"].submit().follow()
    assert "Le formulaire « Inscription » a été créé en brouillon. Ajoutez des champs, puis publiez-le." \
        in created.text
    settings = created.forms["settings-form"]
    settings["allowed_origins"] = "not a site"
    invalid = settings.submit(status=400)
    assert "Ce ne sont pas des adresses de site (https://www.example.com) : not a site" in invalid.text
    builder_page = admin.get(f"/admin/forms/{Form.get().id}")
    publication = next(f for f in builder_page.forms.values() if f.action.endswith("/publish"))
    published = publication.submit("action").follow()
    assert "Le formulaire est publié." in published.text


def test_a_new_forms_native_fields_are_labelled_in_the_forms_language(ctx):
    french = builder.create_form("Inscription", "fr")
    english = builder.create_form("Sign up", "en")
    for form in (french, english):
        builder.add_field(form, "first_name")
        builder.add_field(form, "last_name")
    labels = {form.language: [f.label for f in FormField.select().where(FormField.form == form.id)
                              .order_by(FormField.position)] for form in (french, english)}
    assert labels == {"fr": ["Email", "Prénom", "Nom"], "en": ["Email", "First name", "Last name"]}


def test_the_event_kind_the_panel_and_the_settings_speak_french(admin, web, ctx):
    form = make_form("Newsletter", fields=["first_name"])
    submit(web, form, {"email": "lea@example.com", "first_name": "Léa"})
    contact = Contact.get(Contact.email == "lea@example.com")
    speak_french()
    page = admin.get(f"/admin/contacts/{contact.id}")
    assert "Formulaire envoyé" in page.text and "Form submitted" not in page.text
    assert "Formulaires envoyés" in page.text  # the plugin's panel on core's contact page
    history = " ".join(page.html.select_one("ol.timeline").text.split())
    assert "Formulaire : Newsletter" in history and "form_name" not in history
    settings = admin.get("/admin/settings/forms")
    assert "Temps de remplissage minimum (secondes)" in settings.text
    assert "Validité du lien de double opt-in (jours)" in settings.text
    assert "Minimum fill time" not in settings.text


def test_the_english_admin_stays_english(admin, web, ctx):
    form = make_form("Newsletter", language="fr")
    listing = admin.get("/admin/forms", headers={"Accept-Language": "en"})
    assert "New form" in listing.text and "Embed codes" in listing.text and "Nouveau formulaire" not in listing.text
    submit(web, form, {"email": "lea@example.com"})
    contact = Contact.get(Contact.email == "lea@example.com")
    page = admin.get(f"/admin/contacts/{contact.id}", headers={"Accept-Language": "en"})
    history = " ".join(page.html.select_one("ol.timeline").text.split())
    assert "Form submitted" in history and "Form: Newsletter" in history  # a French form, an English reader


def test_a_field_gone_since_publication_is_refused_in_the_forms_language(web, ctx):
    from core.models import CustomField

    from .forms_helpers import custom

    custom("company", "text")
    form = make_form("Inscription", fields=["company"], language="fr")
    CustomField.delete().where(CustomField.key == "company").execute()
    refused = submit(web, form, {"email": "lea@example.com", "company": "ACME"})
    shown = refused.html.get_text()
    assert "Ce champ n'est plus disponible." in shown and "This field is no longer available." not in shown


def test_a_wrong_value_is_refused_in_the_forms_language_whatever_the_browser(web, ctx):
    from .forms_helpers import custom

    custom("birthday", "date")
    form = make_form("Inscription", fields=["birthday"], language="fr")
    web.extra_environ["HTTP_ACCEPT_LANGUAGE"] = "en-GB,en;q=0.8"
    try:
        refused = submit(web, form, {"email": "lea@example.com", "birthday": "31/02/2024"}, status=422)
    finally:
        web.extra_environ.pop("HTTP_ACCEPT_LANGUAGE")
    shown = refused.html.get_text()
    assert "n’est pas une date valide" in shown and "is not a valid calendar date" not in shown
