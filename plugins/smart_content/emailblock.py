"""The "recommended content" block smart content adds to the newsletter
block editor (the email plugin's ``email_builder_blocks`` hook), and the
values that fill it for each recipient (its ``email_template_values`` hook).

The block is the programme email's own layout (see :mod:`.template`) in MJML,
with the same slots (``{{ content.title }}``, ``{{ content.image_url }}``,
``{{ content.excerpt }}``, ``{{ content.url }}``). When a newsletter uses
``content``, the email plugin asks :func:`recipient_values` for each
recipient: the content the programme would pick for that contact today (its
stage and interests, leaving out what it was sent in the last 365 days,
ignoring the programme's frequency). The button's link is click-tracked and
signed per send by the newsletter like any link of it.

A contact with nothing to recommend (no interest matches), and the
newsletter's checks and previews without a contact, get the library's best
content instead (highest score, then the most recent): the section always
shows a real content. Only an empty library (no active content) leaves the
slots empty; the image's empty alt text then makes the send rules refuse the
newsletter before anything goes out. A newsletter's recommendation is not a
programme pick: it does not count for the programme's frequency nor its
"already sent" memory (docs/email.md, "Blocks from plugins").
"""
from __future__ import annotations

from core import translation_domain

from . import programme as programme_settings
from .models import Content
from .picker import pick_for_contact

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


#: the slots, empty: what a newsletter shows when the library has no active content
EMPTY = {"title": "", "url": "", "image_url": "", "excerpt": ""}


def _slots(content: Content) -> dict:
    return {"title": content.title, "url": content.url, "image_url": content.image_url, "excerpt": content.excerpt}


def best_content() -> Content | None:
    """The library's best active content (the fallback)."""
    return (Content.select().where(Content.active == True)  # noqa: E712 - peewee expression
            .order_by(Content.score.desc(), Content.published_at.desc(), Content.id.desc()).first())


def recommended_for(contact) -> dict:
    """The ``content`` slots for one recipient (``contact`` None: the fallback)."""
    content = None
    if contact is not None and contact.id is not None:
        programme = programme_settings.load()
        choice = pick_for_contact(contact, programme, programme.send_date())
        if choice.content_id is not None:
            content = Content.get_or_none((Content.id == choice.content_id) & (Content.active == True))  # noqa: E712
    content = content or best_content()
    return _slots(content) if content is not None else dict(EMPTY)


def recipient_values(contact, names) -> dict | None:
    """``email_template_values``: ``content`` for a template that uses it."""
    if "content" not in names:
        return None
    return {"content": recommended_for(contact)}
