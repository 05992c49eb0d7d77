"""The email template of the programme: checked for its three slots and
rendered in a sandbox.

The article's rule: the template must hold a title (an ``h1``/``h2``), an
image and a button. Here the slots are Jinja expressions an editor writes::

    <h2>{{ content.title }}</h2>
    <img src="{{ content.image_url }}" alt="{{ content.title }}">
    <a class="button" href="{{ content.url }}">Read</a>

Rendering uses Jinja's sandbox with autoescaping on, so neither an editor's
template nor a feed's text can run code or inject markup.
"""
from __future__ import annotations

from html.parser import HTMLParser

from jinja2 import TemplateError as JinjaError
from jinja2.sandbox import SandboxedEnvironment

from core import translation_domain

_ = translation_domain(__name__).gettext

DEFAULT_SUBJECT = "{{ content.title }}"
DEFAULT_TEMPLATE = """<!doctype html>
<html><body style="font-family:Arial,sans-serif;background:#f5f5f5;margin:0;padding:24px">
<table role="presentation" width="100%" style="max-width:600px;margin:auto;background:#fff;padding:24px">
<tr><td>
<p>{{ words.greeting }}</p>
<p>{{ words.intro }}</p>
<h2 style="margin:16px 0">{{ content.title }}</h2>
<img src="{{ content.image_url }}" alt="{{ content.title }}" width="552" style="max-width:100%;height:auto">
<p>{{ content.excerpt }}</p>
<p><a class="button" href="{{ content.url }}" style="display:inline-block;background:#2b6cb0;color:#fff;padding:12px 20px;text-decoration:none;border-radius:4px">{{ words.read }}</a></p>
</td></tr></table>
</body></html>
"""

SAMPLE = {
    "content": {"title": "Sample title", "url": "https://example.com/article", "image_url":
                "https://example.com/image.png", "excerpt": "Sample excerpt", "tags": ["crm"], "stage": "engagement"},
    "contact": {"first_name": "Ana", "last_name": "Lopez", "email": "ana@example.com"},
    "why": {"matching_tags": ["crm"], "stage": "engagement", "score": 1},
    "words": {"greeting": "Hello Ana,", "intro": "We thought this could interest you:", "read": "Read it"},
}


def words_for(first_name: str | None) -> dict:
    """The default template's sentences, in the current language (the
    contact's: the sender renders inside ``for_contact``)."""
    return {
        "greeting": _("Hello %(name)s,", name=first_name) if first_name else _("Hello,"),
        "intro": _("We thought this could interest you:"),
        "read": _("Read it"),
    }


class TemplateError(ValueError):
    """The template is unusable; the message says what to fix."""


def _environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(autoescape=True)


class _Slots(HTMLParser):
    """Finds the title heading, the image and the button in template source."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.heading_depth = 0
        self.title = self.image = self.button = False

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag in ("h1", "h2"):
            self.heading_depth += 1
        elif tag == "img" and "content.image_url" in (values.get("src") or ""):
            self.image = True
        elif tag == "a" and "content.url" in (values.get("href") or ""):
            self.button = True

    def handle_endtag(self, tag):
        if tag in ("h1", "h2") and self.heading_depth:
            self.heading_depth -= 1

    def handle_data(self, data):
        if self.heading_depth and "content.title" in data:
            self.title = True


def check_template(source: str, subject: str = DEFAULT_SUBJECT) -> None:
    """Raise :class:`TemplateError` unless the template has its three slots,
    compiles, and renders with sample data."""
    if not (source or "").strip():
        raise TemplateError(_("The template is empty."))
    slots = _Slots()
    slots.feed(source)
    slots.close()
    missing = []
    if not slots.title:
        missing.append(_("a title: %(code)s (an h1 or h2 holding the content's title)",
                         code="<h2>{{ content.title }}</h2>"))
    if not slots.image:
        missing.append(_("an image: %(code)s", code='<img src="{{ content.image_url }}" alt="...">'))
    if not slots.button:
        missing.append(_("a button: %(code)s", code='<a href="{{ content.url }}">Read</a>'))
    if missing:
        raise TemplateError(_("The template lacks %(missing)s.", missing="; ".join(missing)))
    try:
        _environment().from_string(source).render(**SAMPLE)
    except JinjaError as error:
        raise TemplateError(_("The template does not render: %(error)s", error=error)) from None
    try:
        _environment().from_string(subject).render(**SAMPLE)
    except JinjaError as error:
        raise TemplateError(_("The subject does not render: %(error)s", error=error)) from None


def render(source: str, subject: str, context: dict) -> tuple[str, str]:
    """(subject, html) for one contact; the subject is plain text."""
    env = _environment()
    html = env.from_string(source).render(**context)
    plain_env = SandboxedEnvironment(autoescape=False)
    title = " ".join(plain_env.from_string(subject).render(**context).split())[:250]
    return title, html
