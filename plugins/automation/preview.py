"""Preview a step's texts as a chosen contact, in the step editor.

An action declares which of its texts it fills with the contact's tokens
(``core.Setting(..., tokens=True)``, e.g. the subject and message of "Notify
a user by email"). The step form then has a "Preview as a contact" box: the
texts being edited (saved or not) are filled for the contact chosen by id,
address or name (``core.choose_contact``, the newsletter preview's search)
with ``core.fill_tokens``, exactly as the action does when it runs.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from core import Contact, Setting, choose_contact, fill_tokens, translation_domain

#: contacts a preview search offers to choose from
MATCHES_SHOWN = 10
_ = translation_domain(__name__).gettext


@dataclass
class StepPreview:
    """What the form shows under "Preview as a contact"."""

    asked: str = ""
    contact: Contact | None = None
    matches: list = field(default_factory=list)
    texts: list = field(default_factory=list)  # (label, filled text)
    error: str = ""


def token_settings(declared: list[Setting]) -> list[Setting]:
    """The settings whose text the step fills with the contact's tokens."""
    return [setting for setting in declared if setting.tokens and not setting.secret]


def preview_step(declared: list[Setting], values: dict, asked: str | None) -> StepPreview:
    """The step's token texts (``values``, the form being edited) filled for
    the contact ``asked`` names; several matches are offered to choose from."""
    asked = (asked or "").strip()
    shown = StepPreview(asked=asked)
    if not asked:
        shown.error = _("Type a contact's email, name or id to preview the texts with their data.")
        return shown
    shown.contact, shown.matches = choose_contact(asked, MATCHES_SHOWN)
    if shown.contact is None:
        if not shown.matches:
            shown.error = _("No contact matches “%(asked)s”.", asked=asked)
        return shown
    for setting in token_settings(declared):
        text = values.get(setting.key)
        if text is None or text == "":
            text = setting.default or ""
        shown.texts.append((setting.label, fill_tokens(str(text), shown.contact)))
    return shown
