"""Feed HTML is untrusted: keep a safe subset with nh3 for bodies, plain text
for excerpts (the email template escapes them again)."""
from __future__ import annotations

import html
import re

import nh3

_SPACES = re.compile(r"\s+")
ALLOWED_TAGS = {"p", "br", "a", "strong", "em", "b", "i", "ul", "ol", "li", "blockquote", "h2", "h3", "h4",
                "img", "figure", "figcaption", "code", "pre"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "width", "height"}}


def clean_html(raw: str) -> str:
    """Sanitised HTML (no script, style, event handlers or javascript: URLs)."""
    return nh3.clean(raw or "", tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                     url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer")


def plain_text(raw: str, limit: int = 0) -> str:
    """Text of an HTML fragment, whitespace collapsed, cut on a word at ``limit``."""
    text = nh3.clean(raw or "", tags=set(), clean_content_tags={"script", "style"})
    text = _SPACES.sub(" ", html.unescape(text)).strip()
    if limit and len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0].rstrip(",;:.") + "…"
    return text
