"""Render one email for one recipient: personalised subject and content
(sandboxed), links rewritten (UTM, click tracking), the theme's layout with
the footer (sender identity, unsubscribe, view in browser), the open pixel,
CSS inlined, and the plain-text part generated from the HTML.

A :class:`Renderer` is built once per newsletter batch (templates compiled,
layout rendered and turned into text once around placeholders) and called
per recipient, who costs the personalised body, its links and the CSS inlining.
"""
from __future__ import annotations

import html as htmlmod
import logging
import re
from dataclasses import dataclass

import css_inline
from flask import render_template
from markupsafe import Markup

from flask_babel import force_locale

from core import Contact, default_language, external_url, make_token, valid_language

from . import mjml, personal, prerendered
from .config import EmailConfig
from .htmltext import html_to_text
from .links import LinkBook, rewrite

_TOKEN = "CVTOKEN0PLACEHOLDER"
_BODY, _SUBJECT, _VIEW, _UNSUB, _PIXEL = (f"CV{name}0PLACEHOLDER" for name in ("BODY", "SUBJ", "VIEW", "UNSUB", "PIXEL"))
_FULL_DOCUMENT = re.compile(r"<html[\s>]", re.IGNORECASE)
log = logging.getLogger("couvee.email")


@dataclass
class Rendered:
    subject: str
    html: str
    text: str


class LinkMaker:
    """Signed links for one send: view, unsubscribe (page and One-Click), open, click."""

    def __init__(self):
        self.bases = {name: external_url(f"email.{name}", t=_TOKEN)
                      for name in ("view", "unsubscribe", "one_click", "open", "click")}
        self.own_prefix = tuple(self.bases[name].split(_TOKEN)[0] for name in ("view", "unsubscribe", "one_click"))

    def url(self, name: str, data) -> str:
        purpose = "email.unsubscribe" if name == "one_click" else f"email.{name}"
        return self.with_token(name, make_token(purpose, data))

    def with_token(self, name: str, token: str) -> str:
        return self.bases[name].replace(_TOKEN, token)


class Renderer:
    """Renders a template (user-edited, sandboxed) or a finished HTML body."""

    def __init__(self, config: EmailConfig, *, subject: str, content: str, preheader: str = "",
                 scope: str = "", utm: dict | None = None, track: bool = True, marketing: bool = True,
                 sender_name: str = "", is_template: bool = True, text: str = "", prerender: bool = False,
                 language: str = "", content_format: str = "html"):
        self.arguments = dict(subject=subject, content=content, preheader=preheader, scope=scope, utm=utm,
                              track=track, marketing=marketing, sender_name=sender_name, is_template=is_template,
                              text=text, prerender=prerender, content_format=content_format)
        #: the layout and footer speak this language; a contact who speaks another gets a sibling renderer
        self.language = valid_language(language) or default_language()
        self.siblings = {self.language: self}
        self.config = config
        self.is_template = is_template
        self.track = track
        self.utm = utm or {}
        self.marketing = marketing
        self.book = LinkBook(scope) if (track and scope) else None
        self.links = LinkMaker()
        self.given_text = text
        #: an MJML content is rendered (once per version) into the whole document, locked parts included
        self.is_mjml = is_template and content_format == "mjml"
        if self.is_mjml:
            with force_locale(self.language):
                content = mjml.newsletter_document(
                    content or "", preheader=preheader, lang=self.language, from_name=sender_name or config.from_name,
                    company=config.company, postal_address=config.postal_address, marketing=marketing, track=track)
        if is_template:
            self.subject_t = personal.compile_template(subject, html=False)
            self.content_t = personal.compile_template(content, html=True)
            self.needs_fields, self.needs_owner = personal.needs(subject + content)
            #: names other plugins lend per recipient (``email_template_values``); usually none
            self.foreign = personal.foreign_names(subject, content)
        else:
            self.subject, self.content = subject, content
        self.full_document = not is_template and bool(_FULL_DOCUMENT.search(content or ""))
        with force_locale(self.language):
            self.layout = "" if self.full_document else _BODY if self.is_mjml else render_template(
                "email/layout.html", body=Markup(_BODY), subject=_SUBJECT, preheader=preheader,
                view_url=_VIEW, unsubscribe_url=_UNSUB if marketing else "", pixel_url=_PIXEL if track else "",
                from_name=sender_name or config.from_name, company=config.company,
                postal_address=config.postal_address if marketing else "", lang=self.language,
            )
            # a marketing message that brings its own document still gets the footer (the footer rule)
            self.footer = render_template(
                "email/footer.html", from_name=sender_name or config.from_name, company=config.company,
                postal_address=config.postal_address, unsubscribe_url=_UNSUB,
            ) if self.full_document and marketing else ""
        self.inliner = css_inline.CSSInliner(keep_style_tags=True, load_remote_stylesheets=False)
        # the layout's text once, around placeholders: per recipient only the body is converted
        self.layout_text = html_to_text(self.layout) if self.layout else ""
        # for many recipients (``prerender``), a content that only prints contact data is rendered
        # once and personalised by substitution
        self.fast = None
        if prerender and is_template and self.layout:
            try:
                self.fast = prerendered.build(self, content or "", {
                    "body": _BODY, "subject": _SUBJECT, "view": _VIEW, "unsubscribe": _UNSUB, "pixel": _PIXEL})
            except personal.ContentError:
                self.fast = None
        self.fast_checked = False

    def urls(self, send_id: int) -> dict:
        urls = {name: self.links.url(name, send_id) for name in ("view", "open")}
        # One-Click carries the unsubscribe page's token (same purpose, same data): signed once
        token = make_token("email.unsubscribe", send_id)
        urls.update(unsubscribe=self.links.with_token("unsubscribe", token),
                    one_click=self.links.with_token("one_click", token))
        return urls

    def clicks(self, send_id: int):
        """The click-tracking URL of each link id for one send (each signed once)."""
        made: dict[int, str] = {}

        def click(link_id: int) -> str:
            if link_id not in made:
                made[link_id] = self.links.url("click", [send_id, link_id])
            return made[link_id]
        return click

    def for_language(self, language: str) -> "Renderer":
        """The renderer whose layout and footer speak ``language`` (built once,
        sharing this one's recorded links)."""
        if language not in self.siblings:
            sibling = Renderer(self.config, language=language, **self.arguments)
            sibling.book, sibling.links, sibling.siblings = self.book, self.links, self.siblings
            self.siblings[language] = sibling
        return self.siblings[language]

    def render(self, send_id: int, contact: Contact | None, urls: dict | None = None) -> Rendered:
        if contact is not None and valid_language(contact.language) and contact.language != self.language:
            return self.for_language(contact.language).render(send_id, contact, urls)
        urls = urls or self.urls(send_id)
        click = self.clicks(send_id)
        if self.fast is not None:
            context = self.context(contact, urls)
            subject = " ".join(personal.render(self.subject_t, context).split())
            filled = self.fast.render(context, subject, urls, click)
            if filled is not None:
                rendered = Rendered(subject=subject, html=filled[0], text=filled[1])
                if not self.fast_checked:  # the first recipient: both ways must give the same email
                    self.fast_checked = True
                    full = self.render_full(send_id, contact, urls, click, context)
                    if full != rendered:
                        log.warning("the prerendered newsletter differs from its full rendering; rendering each")
                        self.fast = None
                        return full
                return rendered
            return self.render_full(send_id, contact, urls, click, context)  # a value needs the full rendering
        return self.render_full(send_id, contact, urls, click)

    def context(self, contact: Contact | None, urls: dict) -> dict:
        """What the template sees for this recipient: the contact's data, the
        send's own links, and what plugins lend for names the email plugin
        does not fill (asked only when the template uses such a name)."""
        context = personal.plugin_values(contact, self.foreign) if self.foreign else {}
        context.update(personal.contact_context(contact, self.needs_fields, self.needs_owner))
        context.update(unsubscribe_url=urls["unsubscribe"], view_url=urls["view"], pixel_url=urls["open"])
        return context

    def render_full(self, send_id: int, contact: Contact | None, urls: dict, click,
                    context: dict | None = None) -> Rendered:
        """Every step for this recipient (the content may use logic, or a value needs it);
        ``context``: this recipient's, when already built."""
        if self.is_template:
            context = context if context is not None else self.context(contact, urls)
            subject = " ".join(personal.render(self.subject_t, context).split())
            body = personal.render(self.content_t, context)
        else:
            subject, body = self.subject, self.content or _text_as_html(self.given_text)
        body = rewrite(body, self.utm, self.book, click, skip=self.links.own_prefix)
        if self.full_document:
            footer = self.footer.replace(_UNSUB, htmlmod.escape(urls["unsubscribe"]))
            html = _before_body_end(body, _FOOTER_BOX.format(footer) if footer else "")
            if self.track:
                pixel = f'<img src="{htmlmod.escape(urls["open"])}" width="1" height="1" alt="">'
                html = re.sub(r"(</body>)", pixel + r"\1", html, count=1, flags=re.IGNORECASE) if "</body>" in html.lower() else html + pixel
        else:
            html = (self.layout.replace(_BODY, body).replace(_SUBJECT, htmlmod.escape(subject))
                    .replace(_VIEW, htmlmod.escape(urls["view"])).replace(_UNSUB, htmlmod.escape(urls["unsubscribe"]))
                    .replace(_PIXEL, htmlmod.escape(urls["open"])))
        html = self.inliner.inline(html)
        if self.given_text and not self.is_template:
            text = self.given_text
        elif self.full_document:
            text = html_to_text(html)
        else:
            text = (self.layout_text.replace(_BODY, html_to_text(body).strip()).replace(_SUBJECT, subject)
                    .replace(_VIEW, urls["view"]).replace(_UNSUB, urls["unsubscribe"]).replace(_PIXEL, urls["open"]))
        return Rendered(subject=subject, html=html, text=text)


_FOOTER_BOX = ('<div class="footer" style="padding:16px 24px 24px;font-size:12px;line-height:1.5;'
               'color:#6b7280;text-align:center">{}</div>')


def _before_body_end(html: str, addition: str) -> str:
    if not addition:
        return html
    if "</body>" in html.lower():
        return re.sub(r"(</body>)", lambda m: addition + m.group(1), html, count=1, flags=re.IGNORECASE)
    return html + addition


def _text_as_html(text: str) -> str:
    return "<p>" + htmlmod.escape(text or "").replace("\n\n", "</p><p>").replace("\n", "<br>") + "</p>"
