"""Consent purposes, channels and the plugin's declared settings."""
from __future__ import annotations

from core import ERASE_MODES, Setting, SettingsGroup, get_setting  # noqa: F401 (ERASE_MODES: for the views)
from core import translation_domain

_, _l = translation_domain(__name__).pair()


def N_(message: str) -> str:
    """Marks a label for extraction; it is translated where it is shown."""
    return message


#: purpose id -> English label (the French one is in the catalogue; the English one goes in consent proofs)
PURPOSES = {
    "email_marketing": N_("Marketing emails (newsletters, offers)"),
    "sms_marketing": N_("Marketing text messages"),
    "phone_marketing": N_("Phone prospecting"),
    "profiling": N_("Profiling (content tailored to your interests)"),
    "partners": N_("Sharing with partners"),
    "analytics": N_("Visit statistics"),
}
SOURCES = ("form", "double_opt_in", "preference_centre", "admin", "api", "import")

#: send channel id -> opposition flag
CHANNEL_FLAGS = {"email": "email", "sms": "sms", "phone": "phone"}
FLAG_LABELS = {
    "email": _l("Opposes email prospecting"),
    "sms": _l("Opposes SMS prospecting (opt-out SMS)"),
    "phone": _l("Opposes phone prospecting (opt-out téléprospection)"),
    "all": _l("Opposes all prospecting (full opposition)"),
}
GROUP = "gdpr"


def purpose_label(purpose: str) -> str:
    """The purpose's label in the current language (an unknown purpose: its id)."""
    return _(PURPOSES[purpose]) if purpose in PURPOSES else purpose


def purpose_choices() -> list[tuple]:
    """``(id, label)`` choices for a setting, translated when shown."""
    return [(key, _l(label)) for key, label in PURPOSES.items()]


def marketing_purpose(channel: str) -> str:
    """The consent purpose that marketing on ``channel`` needs."""
    return f"{channel}_marketing"


#: the banner's default message: consent is a click on "Accept" (or per purpose), refusing is as easy, the
#: purposes are named, nothing is stored before the choice (CNIL guidelines on cookies, 2020)
BANNER_TEXT_FR = (
    "Avec votre accord, ce site utilise des cookies et autres traceurs pour mesurer son audience "
    "(statistiques de visites) et vous proposer des contenus adaptés à vos centres d’intérêt. "
    "Vous pouvez tout accepter, tout refuser ou choisir finalité par finalité : refuser est aussi simple "
    "qu’accepter, et vous pouvez changer d’avis à tout moment. Aucun traceur n’est déposé avant votre choix."
)
BANNER_TEXT_EN = (
    "With your agreement, this site uses cookies and other trackers to measure its audience (visit "
    "statistics) and to offer you content suited to your interests. You can accept all, refuse all or choose "
    "purpose by purpose: refusing is as easy as accepting, and you can change your mind at any time. "
    "Nothing is stored before you choose."
)
#: the defaults of earlier versions (the French one took browsing as consent): replaced where still stored
OLD_BANNER_TEXTS = {
    "banner_text_fr": (
        "En poursuivant votre navigation sur ce site, vous acceptez l’utilisation de cookies ou autres traceurs "
        "pour vous proposer des contenus adaptés à vos centres d’intérêt et réaliser des statistiques de visites. "
        "Aucun traceur n’est déposé avant votre choix.", BANNER_TEXT_FR),
    "banner_text_en": (
        "With your agreement, this site uses cookies or other trackers to offer you content suited to your "
        "interests and to measure visits. Nothing is stored before you choose.", BANNER_TEXT_EN),
}


def replace_old_banner_texts(database, migrator):
    """A banner text still equal to an old default becomes the new default;
    a text the admin wrote is left alone."""
    import json

    for key, (old, new) in OLD_BANNER_TEXTS.items():
        for (raw,) in database.execute_sql('SELECT value FROM setting_value WHERE "group" = %s AND key = %s'
                                           .replace("%s", database.param), (GROUP, key)).fetchall():
            if raw is not None and json.loads(raw) == old:
                database.execute_sql('UPDATE setting_value SET value = %s WHERE "group" = %s AND key = %s'
                                     .replace("%s", database.param),
                                     (json.dumps(new, ensure_ascii=False, sort_keys=True), GROUP, key))
BANNER_MORE_FR = (
    "Ce site utilise des cookies – de petits fichiers texte qui sont placés sur votre machine pour aider le site "
    "à fournir une meilleure expérience utilisateur. Vous pouvez accepter ou refuser chaque finalité ci-dessous "
    "et changer d’avis à tout moment. Votre choix est conservé 13 mois au plus."
)
BANNER_MORE_EN = (
    "This site uses cookies – small text files placed on your device to help the site give you a better "
    "experience. You can accept or refuse each purpose below and change your mind at any time. Your choice is "
    "kept for at most 13 months."
)


def settings_group() -> SettingsGroup:
    return SettingsGroup(GROUP, _l("GDPR / RGPD"), [
        Setting("require_consent", _l("Require consent for marketing (opt-in)"), kind="bool", default=True,
                help=_l("Marketing on a channel needs the contact's latest consent for <channel>_marketing to be "
                        "a grant.")),
        Setting("retention_years", _l("Retention: inactive for more than (years)"), kind="int", default=3),
        Setting("retention_warning_days", _l("Reactivation warning: days before the deadline"), kind="int", default=30,
                help=_l("Emits gdpr_retention_warning, which a workflow can trigger on.")),
        Setting("retention_mode", _l("After the deadline"), kind="choice", default="pseudonymise",
                choices=[("pseudonymise", _l("Pseudonymise (keep statistics)")), ("delete", _l("Delete"))]),
        Setting("retention_auto", _l("Apply the retention policy automatically"), kind="bool", default=False,
                help=_l("Off: the daily job only warns and the report lists who is due. Check the dry-run report "
                        "first.")),
        Setting("export_link_days", _l("Self-service export link valid for (days)"), kind="int", default=7),
        Setting("privacy_url", _l("Privacy policy URL (banner's “learn more” link)"), default=""),
        Setting("banner_language", _l("Cookie banner language"), kind="choice", default="fr",
                choices=[("fr", "Français"), ("en", "English"), ("auto", _l("Visitor's browser (French or English)"))],
                help=_l("One language keeps the tracking script under 5 KB gzipped; the visitor's browser choice "
                        "sends both.")),
        Setting("banner_text_fr", _l("Banner text (French)"), kind="textarea", default=BANNER_TEXT_FR),
        Setting("banner_text_en", _l("Banner text (English)"), kind="textarea", default=BANNER_TEXT_EN),
        Setting("banner_more_fr", _l("“Personnaliser” details (French)"), kind="textarea", default=BANNER_MORE_FR),
        Setting("banner_more_en", _l("“Customise” details (English)"), kind="textarea", default=BANNER_MORE_EN),
    ])


def setting(key: str):
    return get_setting(GROUP, key)


def int_setting(key: str, minimum: int = 0) -> int:
    """An int setting, never below ``minimum`` (falls back to the default when unreadable)."""
    try:
        value = int(setting(key))
    except (TypeError, ValueError):
        value = next(s.default for s in settings_group().settings if s.key == key)
    return max(value, minimum)
