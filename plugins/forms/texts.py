"""Words shown to the people filling a form, in French (default) and English.

The double opt-in email follows the confirmation email given as an example in
Koban's GDPR guide ("Exemple d'email de confirmation d'inscription (double
optin)"); ``{link}`` is replaced by the signed confirmation link.
"""
from __future__ import annotations

STRINGS = {
    "fr": {
        "language": "fr",
        "submit": "Envoyer",
        "yes": "Oui",
        "no": "Non",
        "success": "Merci, votre demande a bien été enregistrée.",
        "required": "Ce champ est obligatoire.",
        "too_fast": "Vous avez été très rapide ! Vérifiez vos réponses puis envoyez à nouveau.",
        "expired": "Ce formulaire a expiré ; vérifiez vos réponses puis envoyez à nouveau.",
        "invalid": "Ce formulaire n'est pas valide ; rechargez la page.",
        "consent_changed": "Ce texte a changé depuis l'affichage du formulaire ; relisez-le et cochez à nouveau.",
        "file_again": "Choisissez à nouveau le fichier.",
        "fix_errors": "Corrigez les champs signalés puis envoyez à nouveau.",
        "rate_limited": "Trop d'envois depuis votre connexion ; réessayez dans quelques minutes.",
        "too_large": "L'envoi est trop volumineux.",
        "unavailable": "Ce champ n'est plus disponible.",
        "no_email_field": "Ce formulaire n'a pas de champ email.",
        "honeypot": "Laissez ce champ vide",
        "doi_pending": "Merci ! Un email de confirmation vient de vous être envoyé : cliquez sur le lien qu'il contient pour confirmer votre inscription.",
        "confirm_title": "Confirmez votre inscription",
        "confirm_intro": "Cliquez sur le bouton ci-dessous pour confirmer votre adresse email.",
        "confirm_button": "Je confirme mon inscription",
        "confirmed": "Merci, votre inscription est confirmée.",
        "already_confirmed": "Votre inscription était déjà confirmée.",
        "link_expired": "Ce lien de confirmation a expiré. Remplissez à nouveau le formulaire pour recevoir un nouveau lien.",
        "link_invalid": "Ce lien de confirmation n'est pas valide.",
        "doi_wording": "Je confirme mon inscription ({purpose}) avec l'adresse {email}.",
    },
    "en": {
        "language": "en",
        "submit": "Send",
        "yes": "Yes",
        "no": "No",
        "success": "Thank you, we received your request.",
        "required": "This field is required.",
        "too_fast": "That was quick! Check your answers, then send again.",
        "expired": "This form expired; check your answers, then send again.",
        "invalid": "This form is not valid; reload the page.",
        "consent_changed": "This text changed since the form was shown; read it again and tick the box again.",
        "file_again": "Choose the file again.",
        "fix_errors": "Correct the fields shown, then send again.",
        "rate_limited": "Too many submissions from your connection; try again in a few minutes.",
        "too_large": "The submission is too large.",
        "unavailable": "This field is no longer available.",
        "no_email_field": "This form has no email field.",
        "honeypot": "Leave this field empty",
        "doi_pending": "Thank you! We just sent you a confirmation email: click the link it contains to confirm your subscription.",
        "confirm_title": "Confirm your subscription",
        "confirm_intro": "Click the button below to confirm your email address.",
        "confirm_button": "I confirm my subscription",
        "confirmed": "Thank you, your subscription is confirmed.",
        "already_confirmed": "Your subscription was already confirmed.",
        "link_expired": "This confirmation link has expired. Fill in the form again to receive a new link.",
        "link_invalid": "This confirmation link is not valid.",
        "doi_wording": "I confirm my subscription ({purpose}) with the address {email}.",
    },
}

DOI_SUBJECT = {
    "fr": "Confirmez votre inscription",
    "en": "Please confirm your subscription",
}

DOI_BODY = {
    "fr": (
        "Bonjour,\n\n"
        "Merci pour votre demande d'inscription sur nos listes de diffusion.\n\n"
        "Cliquez sur le lien ci-dessous pour confirmer votre adresse email : {link}\n\n"
        "Si vous ne pouvez pas cliquer sur ce lien, copiez-collez cette adresse dans votre navigateur.\n\n"
        "Si vous n'avez pas effectué une telle demande, ignorez simplement ce message. Nous demandons "
        "confirmation après inscription pour éviter les emails non conformes ou les inscriptions non désirées."
    ),
    "en": (
        "Hello,\n\n"
        "Thank you for subscribing to our mailing lists.\n\n"
        "Click the link below to confirm your email address: {link}\n\n"
        "If you cannot click the link, copy and paste this address into your browser.\n\n"
        "If you did not make this request, simply ignore this message. We ask for confirmation after "
        "subscription to avoid unwanted or non-compliant sign-ups."
    ),
}

PURPOSE_WORDS = {
    "fr": {"email_marketing": "emails marketing", "sms_marketing": "SMS marketing",
           "phone_marketing": "appels marketing", "profiling": "profilage",
           "partners": "partage avec des partenaires", "analytics": "mesure d'audience"},
    "en": {"email_marketing": "marketing emails", "sms_marketing": "marketing SMS",
           "phone_marketing": "marketing calls", "profiling": "profiling",
           "partners": "sharing with partners", "analytics": "analytics"},
}


def strings(language: str) -> dict:
    """The words for ``language`` (French when unknown)."""
    return STRINGS.get(language, STRINGS["fr"])


def purpose_words(language: str, purpose: str) -> str:
    return PURPOSE_WORDS.get(language, PURPOSE_WORDS["fr"]).get(purpose, purpose)
