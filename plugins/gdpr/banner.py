"""The cookie banner, delivered through core's tracking hooks: the script
part (``static/banner.js``) and its public per-site configuration (texts in
French — the CNIL wording of the source article — and English, the purposes a
visitor can choose). Nothing secret goes in here: it is served to browsers."""
from __future__ import annotations

from pathlib import Path

from .purposes import PURPOSES, setting

SCRIPT = Path(__file__).parent / "static" / "banner.js"
#: cookie purposes offered by the banner (consent purposes of the same ids)
BANNER_PURPOSES = ("analytics", "profiling")
#: the longest a cookie choice is kept before asking again (CNIL: 13 months)
MAX_AGE_DAYS = 395

BUTTONS = {
    "fr": {"title": "Cookies et autres traceurs", "accept": "Tout accepter", "refuse": "Tout refuser",
           "customise": "En savoir plus et paramétrer les cookies", "save": "Enregistrer mes choix",
           "purposes_legend": "Finalités", "privacy": "Politique de confidentialité"},
    "en": {"title": "Cookies and other trackers", "accept": "Accept all", "refuse": "Refuse all",
           "customise": "Learn more and set cookies", "save": "Save my choices",
           "purposes_legend": "Purposes", "privacy": "Privacy policy"},
}
PURPOSE_LABELS_FR = {"analytics": "Mesure d’audience (statistiques de visites)",
                     "profiling": "Contenus adaptés à vos centres d’intérêt (profilage)"}


def script() -> str:
    return SCRIPT.read_text(encoding="utf-8")


def site_config(site=None) -> dict:
    """Only the configured language's texts travel in the script (French by
    default, the source article's CNIL wording); "auto" sends both and lets
    the banner pick by the page's or browser's language (about 0.4 KB more)."""
    choice = setting("banner_language") or "fr"
    languages = ("fr", "en") if choice == "auto" else (choice,)
    texts = {}
    for lang in languages:
        texts[lang] = {**BUTTONS[lang], "message": setting(f"banner_text_{lang}") or "",
                       "more": setting(f"banner_more_{lang}") or ""}
    labels = {"en": lambda p: PURPOSES[p], "fr": lambda p: PURPOSE_LABELS_FR.get(p, PURPOSES[p])}
    purposes = [{"id": p, "label": {lang: labels[lang](p) for lang in languages}} for p in BANNER_PURPOSES]
    return {"gdpr_banner": {"lang": choice, "texts": texts, "purposes": purposes,
                            "privacy_url": setting("privacy_url") or "", "max_age_days": MAX_AGE_DAYS}}
