"""The "recommended content" block smart content adds to the newsletter
block editor (the email plugin's ``email_builder_blocks`` hook).

A newsletter has no per-recipient pick: the block is the programme email's
own layout (see :mod:`.template`) in MJML, with the same slots
(``{{ content.title }}``, ``{{ content.image_url }}``, ``{{ content.excerpt }}``,
``{{ content.url }}``). Those slots are filled when smart content renders its
programme emails; in a newsletter they render empty, so the block is a
starting point for the programme's template, or for a section the author
fills by hand (docs/email.md, "Blocks from plugins").
"""
from __future__ import annotations

from core import translation_domain

_, _l = translation_domain(__name__).pair()


def recommended_block() -> dict:
    """The block, for ``email_builder_blocks``."""
    read = _("Read it")
    return {
        "id": "smart_content.recommended",
        "label": _l("Recommended content"),
        "category": _l("Smart content"),
        "content": (
            '<mj-section background-color="#ffffff" padding="16px 0">'
            "<mj-column>"
            '<mj-text font-size="20px" font-weight="bold"><h2 style="margin:0">{{ content.title }}</h2></mj-text>'
            '<mj-image src="{{ content.image_url }}" alt="{{ content.title }}" />'
            "<mj-text>{{ content.excerpt }}</mj-text>"
            f'<mj-button href="{{{{ content.url }}}}" background-color="#2b6cb0">{read}</mj-button>'
            "</mj-column></mj-section>"),
    }
