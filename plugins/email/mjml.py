"""MJML newsletters: the source rendered to HTML by ``mrml`` (the Rust port
of MJML, no Node.js), once per version, then personalised per recipient.

A newsletter stored as MJML keeps its tokens (``{{ first_name }}``) in the
source. :func:`newsletter_document` adds the locked parts every marketing
email carries (the "view in browser" link on top, the footer with the
sender's identity, postal address and unsubscribe link, the open pixel)
as MJML sections, and renders the whole document once (:func:`to_html`,
memoised per source). The HTML it returns is the newsletter's
template: the renderer resolves its tokens per recipient, exactly as for an
HTML newsletter, so the template rules, link tracking and the text part
work the same way.

Example::

    html = to_html('<mjml><mj-body><mj-section><mj-column>'
                   '<mj-text>Hello {{ first_name }}</mj-text>'
                   '</mj-column></mj-section></mj-body></mjml>')
    # a full responsive HTML document, "{{ first_name }}" still in it
"""
from __future__ import annotations

import functools
import html as htmlmod
import re

import mrml
from flask import render_template

from core import translation_domain

from .personal import ContentError

_ = translation_domain(__name__).gettext
#: rendered documents kept (see :func:`to_html`)
CACHE_SIZE = 64

_STYLE = re.compile(r"(<style\b[^>]*>)(.*?)(</style\s*>)", re.IGNORECASE | re.DOTALL)
_JINJA_OPENERS = re.compile(r"\{(?=[{%#])|(?<=\})\}")
_MJML_OPEN = re.compile(r"<mjml\b([^>]*)>", re.IGNORECASE)
_HEAD_OPEN = re.compile(r"<mj-head\b[^>]*>", re.IGNORECASE)
_BODY_OPEN = re.compile(r"<mj-body\b[^>]*>", re.IGNORECASE)
_BODY_CLOSE = re.compile(r"</mj-body\s*>", re.IGNORECASE)
#: placeholders in the locked parts, replaced by the renderer's own links once rendered
_PARTS_LINKS = {"CVMJVIEW0PLACEHOLDER": "{{ view_url }}", "CVMJUNSUB0PLACEHOLDER": "{{ unsubscribe_url }}",
                "CVMJPIXEL0PLACEHOLDER": "{{ pixel_url }}"}


class MjmlError(ContentError):
    """An MJML source mrml cannot render; the message says what mrml said."""


def _styles_without_jinja(document: str) -> str:
    """CSS can hold ``{#id`` or ``}}`` (``@media{#a{x:y}}``), which Jinja would
    read as its own syntax: a space between two braces changes nothing in CSS."""
    def spaced(match):
        return match.group(1) + _JINJA_OPENERS.sub(lambda m: m.group(0) + " " if m.group(0) == "{" else " }",
                                                   match.group(2)) + match.group(3)
    return _STYLE.sub(spaced, document)


def to_html(source: str) -> str:
    """The HTML document of an MJML source; :class:`MjmlError` with mrml's
    message when it cannot be rendered. Rendered once per source, then
    memoised (:func:`_render`: a pure function of the text, nothing about an
    app or its plugins is in it), so a send job runs mrml once for all its
    recipients."""
    return _render((source or "").replace("\r\n", "\n").replace("\r", "\n"))  # mrml refuses the CRs browsers post


@functools.lru_cache(maxsize=CACHE_SIZE)
def _render(source: str) -> str:
    try:
        output = mrml.to_html(source)
    except Exception as error:  # mrml raises OSError (and may raise others) with its parser's message
        raise MjmlError(_("This MJML cannot be rendered: %(error)s", error=str(error) or type(error).__name__)) from None
    return _styles_without_jinja(output.content)


def _no_jinja(text: str) -> str:
    """Text of ours (a company name, a translation) placed in a template: its braces as entities."""
    return text.replace("{", "&#123;").replace("}", "&#125;")


def locked_parts(*, from_name: str, company: str, postal_address: str, marketing: bool, track: bool) -> tuple[str, str]:
    """``(top, bottom)`` MJML sections every newsletter gets: the "view in
    browser" link, the footer (the theme's ``email/footer.html``) and the open
    pixel. Call inside the recipient's locale."""
    rendered = {}
    for part in ("top", "bottom"):
        markup = render_template(
            "email/mjml_parts.html", part=part, view_url="CVMJVIEW0PLACEHOLDER",
            unsubscribe_url="CVMJUNSUB0PLACEHOLDER" if marketing else "",
            pixel_url="CVMJPIXEL0PLACEHOLDER" if track else "", from_name=from_name, company=company,
            postal_address=postal_address if marketing else "")
        markup = _no_jinja(markup)
        for placeholder, token in _PARTS_LINKS.items():
            markup = markup.replace(placeholder, token)
        rendered[part] = markup
    return rendered["top"], rendered["bottom"]


def framed(source: str, *, top: str, bottom: str, preheader: str = "", lang: str = "") -> str:
    """The MJML ``source`` with ``top`` first in its body, ``bottom`` last,
    the preheader as ``<mj-preview>`` (unless it has one) and ``lang`` on
    ``<mjml>`` (unless it has one). A source without ``<mjml>``/``<mj-body>``
    is returned as it is (mrml then says what is wrong)."""
    opening = _MJML_OPEN.search(source or "")
    body_open = _BODY_OPEN.search(source or "")
    closings = list(_BODY_CLOSE.finditer(source or ""))
    if opening is None or body_open is None or not closings:
        return source
    close = closings[-1]
    result = source[:close.start()] + bottom + source[close.start():]
    result = result[:body_open.end()] + top + result[body_open.end():]
    if preheader and "<mj-preview" not in result.lower():
        preview = f"<mj-preview>{_no_jinja(htmlmod.escape(preheader, quote=False))}</mj-preview>"
        head = _HEAD_OPEN.search(result)
        if head is not None:
            result = result[:head.end()] + preview + result[head.end():]
        else:
            opening = _MJML_OPEN.search(result)
            result = result[:opening.end()] + f"<mj-head>{preview}</mj-head>" + result[opening.end():]
    if lang and not re.search(r"\blang\s*=", opening.group(1)):
        opening = _MJML_OPEN.search(result)
        result = result[:opening.end() - 1] + f' lang="{htmlmod.escape(lang)}">' + result[opening.end():]
    return result


def newsletter_document(source: str, *, preheader: str, lang: str, from_name: str, company: str,
                        postal_address: str, marketing: bool, track: bool) -> str:
    """The rendered HTML of a newsletter's MJML with its locked parts, its
    tokens still to resolve (the renderer's content template)."""
    top, bottom = locked_parts(from_name=from_name, company=company, postal_address=postal_address,
                               marketing=marketing, track=track)
    return to_html(framed(source, top=top, bottom=bottom, preheader=preheader, lang=lang))


def check(source: str) -> str:
    """Why ``source`` is not a usable MJML newsletter ("" when it is): mrml's
    error, a missing ``<mj-body>``, or a template error in its tokens."""
    from .personal import compile_template

    if not _MJML_OPEN.search(source or "") or not _BODY_OPEN.search(source or ""):
        return _("An MJML document starts with <mjml> and has a <mj-body>: choose the HTML format "
                 "for an HTML content.")
    try:
        compile_template(to_html(source), html=True)
    except ContentError as error:
        return str(error)
    return ""
