"""French first for the email plugin (issue 17, part 2): an admin whose
language is French gets the newsletters list, editor, newsletter page,
confirmation, preview, email settings and deliverability panel, their flash
messages and the plugin's registry labels (menu, settings, event kinds, the
email.send action) in French; an English admin still gets English."""
from __future__ import annotations

from core.contacts import create_contact
from core.events import emit
from core.models import User
from plugins.segments import Segment, add_to_segment

from .conftest import ADMIN_EMAIL
from .test_email_send import configure

from plugins.email import standing
from plugins.email.actions import check_send_settings, email_actions
from plugins.email.models import Newsletter

ENGLISH = {"Accept-Language": "en-GB,en;q=0.8"}


def speaks_french(ctx):
    User.update(language="fr").where(User.email == ADMIN_EMAIL).execute()


def editor_form(page):
    return next(f for f in page.forms.values() if "subject" in f.fields)


def flashes(page) -> str:
    return " ".join(node.text.strip() for node in page.html.select(".flash"))


def draft(segment_ids=()) -> Newsletter:
    return Newsletter.create(name="Soldes", subject="Nos soldes", content="<p>Bonjour</p>",
                             segments=list(segment_ids))


def test_the_newsletters_list_and_menu_in_french(admin, ctx):
    speaks_french(ctx)
    page = admin.get("/admin/email")
    assert "Newsletters" in [a.text.strip() for a in page.html.select("nav.sidebar ul a")]
    assert "Aucune newsletter pour l’instant" in page.text and "Nouvelle newsletter" in page.text
    assert "Réglages email" in page.text
    for english in ("No newsletters yet", "New newsletter", "Write a newsletter", "Email settings"):
        assert english not in page.text
    draft()
    listed = admin.get("/admin/email")
    assert "30 derniers jours" in listed.text and "Objet" in listed.text and "Destinataires" in listed.text
    assert listed.html.select_one("td .badge").text == "brouillon"
    assert "<strong>0,0 %</strong> délivrés" in listed.text  # French decimals
    assert "Last 30 days" not in listed.text and "Recipients" not in listed.text


def test_the_editor_its_errors_and_its_flash_in_french(admin, ctx):
    speaks_french(ctx)
    segment = Segment.create(name="Clients", kind="static")
    page = admin.get("/admin/email/new")
    assert "Plage d’envoi" in page.text and "Suivre les ouvertures et les clics" in page.text
    assert [label.text.strip() for label in page.html.select("fieldset label.check")][:2] == ["lun.", "mar."]
    for english in ("Send window", "Track opens and clicks", "Except the members of", "Content (HTML)"):
        assert english not in page.text
    form = editor_form(page)
    form["subject"], form["sender_email"] = "Bonjour", "pas une adresse"
    refused = form.submit(status=422)
    assert "La newsletter n’a pas été enregistrée" in refused.text
    assert "Donnez un nom à la newsletter." in refused.text and "Cette adresse email n’est pas valide." in refused.text
    assert "Give the newsletter a name." not in refused.text
    form = editor_form(refused)
    form["name"], form["sender_email"], form["content"] = "Soldes", "", "<p>Bonjour</p>"
    form["content_format"] = "html"
    form["segments"] = [str(segment.id)]
    saved = form.submit().follow()
    assert "Newsletter enregistrée." in flashes(saved)
    assert "Avant l’envoi" in saved.text and "Aperçu et test" in saved.text
    assert saved.html.select_one("h1 .badge").text == "brouillon"
    # the send rules speak French too
    assert "L’adresse postale de la société manque" in saved.text
    assert "Before sending" not in saved.text and "postal address is missing" not in saved.text


def test_the_confirmation_preview_and_actions_in_french(admin, ctx):
    configure()
    speaks_french(ctx)
    segment = Segment.create(name="Clients", kind="static")
    add_to_segment(create_contact({"email": "ada@example.com"}), segment)
    newsletter = draft([segment.id])
    page = admin.get(f"/admin/email/{newsletter.id}")
    assert "Avant l’envoi" in page.text and "Audience actuelle" in page.text
    form = next(f for f in page.forms.values() if f.action.endswith("/send"))
    confirm = form.submit()
    assert "Envoyer « Nos soldes » maintenant ?" in confirm.text and "Oui, envoyer maintenant" in confirm.text
    assert "Elle part au <strong>1</strong> contact" in confirm.text
    assert "Yes, send now" not in confirm.text and "cannot be called back" not in confirm.text
    preview = admin.get(f"/admin/email/{newsletter.id}/preview?contact=nobody@example.com")
    assert "Aucun contact avec cet identifiant ou cet email" in preview.text and "Envoyer un test" in preview.text
    assert "Send a test" not in preview.text
    deleted = next(f for f in page.forms.values() if f.action.endswith("/delete")).submit().follow()
    assert "Newsletter supprimée." in flashes(deleted)


def test_the_email_settings_and_deliverability_panel_in_french(admin, ctx):
    speaks_french(ctx)
    page = admin.get("/admin/settings/email")
    labels = [label.text.strip() for label in page.html.select("form label")]
    assert any(label.startswith("Adresse de l’expéditeur") for label in labels)
    assert any(label.startswith("Boîte de rebonds : serveur IMAP") for label in labels)
    assert "Signature DKIM" in page.text and "Générer une clé" in page.text and "Tester la connexion SMTP" in page.text
    assert "0 = pas de limite." in page.text
    for english in ("Sender address", "Bounce mailbox: IMAP host", "DKIM signature", "Test SMTP connection",
                    "0 = no limit."):
        assert english not in page.text
    generated = next(f for f in page.forms.values() if f.action.endswith("/dkim/generate")).submit().follow()
    assert "Une nouvelle clé de 2048 bits est enregistrée." in flashes(generated)
    assert "Une clé est enregistrée (empreinte" in generated.text and "Supprimer la clé" in generated.text
    assert "A new 2048-bit key is stored." not in generated.text
    smtp = next(f for f in page.forms.values() if f.action.endswith("/smtp-check")).submit().follow()
    assert "Le transport est « Fichiers » (développement)" in flashes(smtp)
    mailbox = next(f for f in page.forms.values() if f.action.endswith("/mailbox-check")).submit().follow()
    assert "Boîte de rebonds : aucune boîte de rebonds n’est configurée" in flashes(mailbox)


def test_the_event_kind_labels_and_contact_panel_in_french(admin, ctx):
    configure()  # no consent needed: the panel's only reason is the email plugin's
    speaks_french(ctx)
    contact = create_contact({"email": "ada@example.com"})
    emit(contact, "email_sent", {"email_id": 1, "subject": "Soldes"})
    emit(contact, "email_opened", {"email_id": 1})
    page = admin.get(f"/admin/contacts/{contact.id}")
    assert "Email envoyé" in page.text and "Email ouvert" in page.text
    assert "Email sent" not in page.text and "Email opened" not in page.text
    assert "Aucun email envoyé pour l’instant." in page.text and "No email sent yet." not in page.text
    standing.unsubscribe(contact, None)
    panel = admin.get(f"/admin/contacts/{contact.id}").html.select_one(".panel .problem").text
    assert "Aucun email marketing :" in panel and "désinscrit" in panel and "unsubscribed" not in panel


def test_the_action_label_and_its_checks_in_french(ctx):
    """The workflow editor shows the action's label, settings and checks."""
    with ctx.test_request_context(headers={"Accept-Language": "fr"}):
        action = email_actions()[0]
        assert str(action.label) == "Envoyer un email"
        assert [str(s.label) for s in action.settings][1:] == ["Objet", "Corps (HTML)"]
        assert check_send_settings({}) == ["rédigez un objet et un corps, ou choisissez une newsletter comme modèle."]


def test_an_english_admin_still_gets_english(admin, ctx):
    draft()
    page = admin.get("/admin/email", headers=ENGLISH)
    assert "Last 30 days" in page.text and page.html.select_one("td .badge").text == "draft"
    settings = admin.get("/admin/settings/email", headers=ENGLISH)
    assert "Sender address" in settings.text and "DKIM signature" in settings.text


def test_the_workflow_editor_shows_the_french_labels(admin, ctx):
    """Core's workflow pages show the plugin's trigger and action labels in the
    admin's language (the segment builder words events with their ``past``
    phrase, which core composes into English sentences: not translated yet)."""
    from plugins.automation.lifecycle import create_workflow

    speaks_french(ctx)
    workflow = create_workflow("Bienvenue")
    triggers = admin.get(f"/admin/workflows/{workflow.id}/triggers/new")
    assert "Email ouvert" in triggers.text and "Email cliqué" in triggers.text and "Email opened" not in triggers.text
    steps = admin.get(f"/admin/workflows/{workflow.id}/steps/new")
    assert "Envoyer un email" in steps.text and "Send an email" not in steps.text


def test_the_mjml_editor_image_library_and_duplicate_in_french(admin, ctx):
    speaks_french(ctx)
    page = admin.get("/admin/email/new")
    form = editor_form(page)
    assert form["content_format"].value == "mjml" and "MJML (blocs adaptés au mobile)" in page.text
    assert "Bonjour {{ first_name or" in form["content"].value and "Lire la suite" in form["content"].value
    assert "Read more" not in form["content"].value
    form["name"], form["content"] = "Soldes", "<mjml><mj-body><mj-text>x</mj-body></mjml>"
    refused = form.submit(status=422)
    assert "Ce MJML ne peut pas être mis en forme :" in refused.text
    assert "This MJML cannot be rendered" not in refused.text
    library = admin.get("/admin/email/images")
    assert "Bibliothèque d’images" in library.text and "Aucune image pour l’instant" in library.text
    assert "Texte alternatif" in library.text and "No images yet" not in library.text
    assert "jusqu’à 5,0 Mo" in library.text  # sizes in French too
    original = draft()
    page = admin.get(f"/admin/email/{original.id}")
    copied = next(f for f in page.forms.values() if f.action.endswith("/duplicate")).submit().follow()
    assert "Copie créée en brouillon" in flashes(copied) and "<dt>Format</dt><dd>HTML</dd>" in copied.text
    assert Newsletter.select().order_by(Newsletter.id.desc()).first().name == "Copie de Soldes"
