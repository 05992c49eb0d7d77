"""The source article's template rules, checked on the rendered email
before a newsletter can be sent:

- errors (sending refused): no visible unsubscribe link, no sender identity
  (sender name or company, and a postal address), no sender address;
- for a newsletter, an image without alt text (or with an empty one)
  is an error too; for other messages a missing alt is a warning;
- warnings: no "view in browser" link, a ``noreply@`` sender.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from core import translation_domain

from .config import EmailConfig

_ = translation_domain(__name__).gettext
ngettext = translation_domain(__name__).ngettext

_HIDDEN = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_FONT_SIZE = re.compile(r"font-size\s*:\s*([0-9.]+)", re.IGNORECASE)


def _zero_font(style: str) -> bool | None:
    """True when ``style`` sets a zero font size, False for another size, None when it sets none.
    (MJML sets ``font-size:0`` on its wrappers and the size back on the text inside.)"""
    match = _FONT_SIZE.search(style)
    if match is None:
        return None
    try:
        return float(match.group(1)) == 0
    except ValueError:
        return None


@dataclass
class Verdict:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: the pre-send audience check (``core.AudienceCheck``), when there is an audience to check
    audience: object = None

    @property
    def ok(self) -> bool:
        return not self.errors


class _Scan(HTMLParser):
    """Collects links (href, text, hidden?) and images (src, alt)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[dict] = []
        self.images: list[dict] = []
        self.open_links: list[dict] = []
        #: per open element: (hidden by display/visibility/``hidden``, zero font size: True/False/None)
        self.hidden_depth: list[tuple[bool, bool | None]] = []

    def _hidden_now(self) -> bool:
        if any(hidden for hidden, _ in self.hidden_depth):
            return True
        sizes = [zero for _, zero in self.hidden_depth if zero is not None]
        return bool(sizes and sizes[-1])  # the innermost font size wins

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        style = attrs.get("style") or ""
        state = (bool(_HIDDEN.search(style)) or "hidden" in attrs, _zero_font(style))
        if tag not in ("img", "br", "meta", "link", "hr", "input"):
            self.hidden_depth.append(state)
        if tag == "a":
            link = {"href": attrs.get("href") or "", "text": "", "hidden": self._hidden_now()}
            self.links.append(link)
            self.open_links.append(link)
        elif tag == "img":
            self.images.append({"src": attrs.get("src") or "", "alt": attrs.get("alt"),
                                "pixel": attrs.get("width") == "1" and attrs.get("height") == "1"})

    def handle_endtag(self, tag):
        if tag not in ("img", "br", "meta", "link", "hr", "input") and self.hidden_depth:
            self.hidden_depth.pop()
        if tag == "a" and self.open_links:
            self.open_links.pop()

    def handle_data(self, data):
        for link in self.open_links:
            link["text"] += data


def _image_names(sources: list[str]) -> str:
    return ", ".join(src.rsplit("/", 1)[-1] or src for src in sources[:3])


def check_html(html: str, *, unsubscribe_prefix: str, view_prefix: str, config: EmailConfig,
               sender_name: str, sender_email: str, images_need_alt: bool = False) -> Verdict:
    """The rules on a rendered email. ``images_need_alt`` (a newsletter before
    it is sent) makes an image without alt text, or with an empty one, an
    error; otherwise a missing alt is only a warning."""
    verdict = Verdict()
    scan = _Scan()
    scan.feed(html or "")
    unsubscribe = [link for link in scan.links if link["href"].startswith(unsubscribe_prefix)]
    if not any(link["text"].strip() and not link["hidden"] for link in unsubscribe):
        verdict.errors.append(_("There is no visible unsubscribe link: it is mandatory "
                                "(keep it in the layout, or add {{ unsubscribe_url }} to the content)."))
    if not any(link["href"].startswith(view_prefix) for link in scan.links):
        verdict.warnings.append(_("There is no \"view in browser\" link (add {{ view_url }})."))
    if not sender_email:
        verdict.errors.append(_("There is no sender address (Settings → Email, or the newsletter's sender)."))
    elif sender_email.lower().startswith(("noreply@", "no-reply@", "donotreply@", "do-not-reply@")):
        verdict.warnings.append(_("The sender %(address)s looks like a no-reply address: replies are lost and it "
                                  "hurts trust. Use an address someone reads.", address=sender_email))
    if not (sender_name or config.company):
        verdict.errors.append(_("The sender is not identified: set a sender name (Settings → Email) "
                                "or the company name (Settings → General)."))
    if not config.postal_address.strip():
        verdict.errors.append(_("The company's postal address is missing (Settings → General): "
                                "marketing emails must show it."))
    if images_need_alt:
        no_alt = [img["src"] for img in scan.images if not (img["alt"] or "").strip() and not img["pixel"]]
        if no_alt:
            verdict.errors.append(ngettext(
                "%(num)d image has no alt text (%(images)s): describe it (alt=\"…\", or alt in <mj-image>) — "
                "readers whose mail client blocks images, and screen readers, get nothing else.",
                "%(num)d images have no alt text (%(images)s): describe each (alt=\"…\", or alt in <mj-image>) — "
                "readers whose mail client blocks images, and screen readers, get nothing else.",
                len(no_alt), images=_image_names(no_alt)))
    else:
        missing_alt = [img["src"] for img in scan.images if img["alt"] is None and not img["pixel"]]
        if missing_alt:
            verdict.warnings.append(ngettext(
                "%(num)d image without alt text (%(images)s): many readers block images by default.",
                "%(num)d images without alt text (%(images)s): many readers block images by default.",
                len(missing_alt), images=_image_names(missing_alt)))
    return verdict


def check_newsletter(newsletter, config: EmailConfig, contact=None) -> Verdict:
    """Render the newsletter (for ``contact`` or an empty one) and check it."""
    from .personal import ContentError
    from .renderer import Renderer

    try:
        renderer = Renderer(config, subject=newsletter.subject, content=newsletter.content,
                            preheader=newsletter.preheader, scope="", utm=newsletter.utm, track=False,
                            marketing=True, sender_name=newsletter.sender_name or config.from_name,
                            content_format=newsletter.content_format)
        rendered = renderer.render(0, contact)
    except ContentError as error:
        return Verdict(errors=[str(error)])
    prefix = renderer.links.own_prefix
    return check_html(rendered.html, unsubscribe_prefix=prefix[1], view_prefix=prefix[0], config=config,
                      sender_name=newsletter.sender_name or config.from_name,
                      sender_email=newsletter.sender_email or config.from_email, images_need_alt=True)


def footer_refusal(html: str, renderer, config: EmailConfig, sender_name: str, sender_email: str) -> str:
    """The footer rule, which the email channel enforces on every marketing
    message whatever plugin built it: a visible unsubscribe link, the sender's
    identity and the postal address (plus a sender address). Returns why the
    rendered ``html`` is refused, or "" when it may go."""
    prefix = renderer.links.own_prefix
    verdict = check_html(html, unsubscribe_prefix=prefix[1], view_prefix=prefix[0], config=config,
                         sender_name=sender_name, sender_email=sender_email)
    return ("Refused by the footer rule: " + " ".join(verdict.errors)) if verdict.errors else ""
