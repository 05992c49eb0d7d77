"""A newsletter's content format: "mjml" (a whole MJML document, the
default for a new newsletter) or "html" (a body in the theme's layout).
The starter document a new newsletter opens with, and the check the edit
form runs on the content."""
from __future__ import annotations

from core import translation_domain

from . import mjml
from .personal import ContentError, compile_template

_ = translation_domain(__name__).gettext
MJML, HTML = "mjml", "html"
#: what a new newsletter is written in
DEFAULT = MJML


def choices() -> list[tuple[str, str]]:
    """The format selector's options."""
    return [(MJML, _("MJML (responsive blocks)")), (HTML, _("HTML"))]


def chosen(raw: str | None) -> str:
    """A posted format; a form that does not say (an older client) means HTML."""
    return raw if raw in (MJML, HTML) else HTML


def content_error(content: str, content_format: str) -> str:
    """Why the content cannot be saved ("" when it can): a template error, or what mrml said."""
    if content_format == MJML:
        return mjml.check(content)
    try:
        compile_template(content, html=True)
    except ContentError as error:
        return str(error)
    return ""


def starter() -> str:
    """The MJML document a new newsletter starts from, in the admin's language."""
    hello = _("Hello %(name)s,", name='{{ first_name or "there" }}')
    news = _("Our news…")
    more = _("Tell your contacts what is new, in a few lines.")
    button = _("Read more")
    return f"""<mjml>
  <mj-head>
    <mj-attributes>
      <mj-all font-family="Arial, Helvetica, sans-serif" />
      <mj-text font-size="16px" line-height="1.5" color="#1f2933" />
    </mj-attributes>
  </mj-head>
  <mj-body background-color="#f4f4f5">
    <mj-section background-color="#ffffff" padding="24px 0">
      <mj-column>
        <mj-text font-size="24px" font-weight="bold">{hello}</mj-text>
        <mj-text>{news}</mj-text>
        <mj-text>{more}</mj-text>
        <mj-button href="https://example.com" background-color="#2563eb">{button}</mj-button>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>
"""
