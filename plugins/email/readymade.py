"""The gallery's ready-made templates: MJML files shipped with the plugin
(``gallery/<id>.<language>.mjml``, subjects and preheaders in
``gallery/manifest.toml``), named and described here in the admin's language.

Example::

    welcome = readymade.get("welcome", "fr")
    welcome.subject, welcome.content   # 'Bienvenue {{ first_name or "et merci" }} !', '<mjml>…'
"""
from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path

from core import translation_domain

_, _l = translation_domain(__name__).pair()
FOLDER = Path(__file__).resolve().parent / "gallery"
#: the languages every ready-made template is written in
LANGUAGES = ("fr", "en")
#: id → (name, description), in the order of the gallery
CATALOGUE = {
    "newsletter": (_l("Newsletter"), _l("A monthly letter: a banner, two stories with a button each, "
                                        "the dates to remember.")),
    "welcome": (_l("Welcome"), _l("For new subscribers: what to expect, how often, and a first guide to read.")),
    "event": (_l("Event invitation"), _l("When, where, the programme and a sign-up button.")),
    "repermission": (_l("Re-permission"), _l("Asks inactive contacts to confirm they still want your emails, "
                                              "and says plainly what happens if they do not (GDPR).")),
    "digest": (_l("Smart-content digest"), _l("A selection of contents picked for the reader, each with a "
                                               "short summary and a link.")),
    "sales": (_l("Sales notification"), _l("Tells a sales rep about a hot lead: the contact, their score "
                                            "and their owner.")),
}


@dataclass(frozen=True)
class ReadyMade:
    """One ready-made template in one language."""

    id: str
    language: str
    subject: str
    preheader: str
    content: str
    content_format: str = "mjml"

    @property
    def name(self) -> str:
        return str(CATALOGUE[self.id][0])

    @property
    def description(self) -> str:
        return str(CATALOGUE[self.id][1])


@functools.lru_cache(maxsize=1)
def _manifest() -> dict:
    return tomllib.loads((FOLDER / "manifest.toml").read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=32)
def _content(template_id: str, language: str) -> str:
    return (FOLDER / f"{template_id}.{language}.mjml").read_text(encoding="utf-8")


def get(template_id: str, language: str) -> ReadyMade | None:
    """The ready-made template ``template_id`` in ``language``, or None."""
    if template_id not in CATALOGUE or language not in LANGUAGES:
        return None
    texts = _manifest()[template_id][language]
    return ReadyMade(template_id, language, texts["subject"], texts.get("preheader", ""),
                     _content(template_id, language))


def all_templates(language: str | None = None) -> list[ReadyMade]:
    """Every ready-made template (in one language when given), gallery order."""
    languages = (language,) if language else LANGUAGES
    return [get(template_id, lang) for template_id in CATALOGUE for lang in languages if get(template_id, lang)]
