"""The block editor's server side: the blocks other plugins add (the
``email_builder_blocks`` hook), the locked parts shown in the editor, and
saving a draft sent by the editor.

The editor shows the locked parts (the "view in browser" link, the footer
with the unsubscribe link) around the author's sections, marked with the
``couvee-locked`` CSS class; they are never saved into the content: the
renderer adds them at send time (see :mod:`.mjml`).

Example::

    source = editor_source(newsletter)   # what GrapesJS opens, locked parts in
    save_draft(newsletter, posted_mjml)           # DraftError (422/409) or the saved content
"""
from __future__ import annotations

import html as htmlmod
import logging
import re

from core import state, translation_domain, utcnow

from . import formats, mjml
from .config import load_config
from .models import DRAFT, SCHEDULED, Newsletter

log = logging.getLogger("couvee.email")
_ = translation_domain(__name__).gettext
#: the CSS class of the locked sections in the editor (never saved)
LOCKED = "couvee-locked"
_LOCKED_SECTION = re.compile(r"<mj-section\b[^>]*\bcss-class=\"[^\"]*\b" + LOCKED + r"\b[^\"]*\"[^>]*>.*?</mj-section\s*>",
                             re.IGNORECASE | re.DOTALL)
_LOCKED_RAW = re.compile(r"<mj-raw\b[^>]*\bcss-class=\"" + LOCKED + r"\"[^>]*>.*?</mj-raw\s*>", re.IGNORECASE | re.DOTALL)
_TOKEN = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
_SECTION = re.compile(r"<mj-(section|wrapper|hero)\b", re.IGNORECASE)


class DraftError(ValueError):
    """A draft the editor cannot save; ``status`` is the HTTP answer (422, 409)."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


def plugin_blocks() -> list[dict]:
    """The blocks other plugins add, as plain dicts for the editor's JSON
    (``id``, ``label``, ``category``, ``content``), labels in the current language."""
    blocks, seen = [], set()
    for answer in state().hooks.results("email_builder_blocks"):
        for block in answer or []:
            try:
                block_id, content = str(block["id"]), str(block["content"])
                label, category = str(block["label"]), str(block.get("category") or _("Other blocks"))
            except (KeyError, TypeError):
                log.warning("email_builder_blocks: a block without id, label or content is left out: %r", block)
                continue
            if block_id in seen or not _SECTION.search(content):
                log.warning("email_builder_blocks: block %r is a duplicate or has no MJML section", block_id)
                continue
            seen.add(block_id)
            blocks.append({"id": block_id, "label": label, "category": category, "content": content})
    return blocks


def _locked(markup: str) -> str:
    """Mark the locked parts' sections so the editor locks them and saving drops them."""
    markup = re.sub(r"<mj-section\b", f'<mj-section css-class="{LOCKED}"', markup)
    return re.sub(r"<mj-raw\b", f'<mj-raw css-class="{LOCKED}"', markup)


def editor_source(newsletter: Newsletter) -> str:
    """The MJML the editor opens: the newsletter's, with the locked parts
    (as the sender's settings make them) around its sections."""
    config = load_config()
    content = newsletter.content if newsletter.content_format == formats.MJML else ""
    top, bottom = mjml.locked_parts(from_name=newsletter.sender_name or config.from_name, company=config.company,
                                    postal_address=config.postal_address, marketing=True, track=False)
    return mjml.framed(content or formats.starter(), top=_locked(top), bottom=_locked(bottom))


def without_locked(source: str) -> str:
    """The MJML without the locked parts (never saved: the renderer adds them)."""
    return _LOCKED_RAW.sub("", _LOCKED_SECTION.sub("", source or ""))


def _tokens_unescaped(source: str) -> str:
    """The editor writes quotes and ampersands inside tokens as entities
    (``{{ first_name or &quot;there&quot; }}``): back to what Jinja reads."""
    return _TOKEN.sub(lambda match: htmlmod.unescape(match.group(0)), source)


def save_draft(newsletter: Newsletter, source: str) -> str:
    """Check and save the editor's MJML as the newsletter's content; returns
    what was saved. :class:`DraftError` 409 when the newsletter is sending
    or sent, 422 with mrml's (or the template's) message when invalid."""
    if not newsletter.is_editable:
        raise DraftError(_("This newsletter was sent (or is being sent): it can no longer be edited."), 409)
    content = _tokens_unescaped(without_locked(source)).strip() + "\n"
    if problem := formats.content_error(content, formats.MJML):
        raise DraftError(problem, 422)
    updated = (Newsletter.update(content=content, content_format=formats.MJML, updated_at=utcnow())
               .where((Newsletter.id == newsletter.id) & Newsletter.status.in_([DRAFT, SCHEDULED])).execute())
    if not updated:  # started sending between the check and the write
        raise DraftError(_("This newsletter was sent (or is being sent): it can no longer be edited."), 409)
    return content
