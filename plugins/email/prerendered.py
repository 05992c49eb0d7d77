"""A newsletter rendered once, personalised by substitution.

Rendering every recipient's email in full (sandboxed Jinja, link rewriting,
CSS inlining over the whole document, the text part) costs more than its
SMTP transaction. Most contents only *print* contact data
(``Hello {{ first_name or "there" }}``): their document is the same for
everyone but for those printed values and the per-send links. For such a
content the :class:`Prerendered` document is built once, with a marker
where each printed value goes and placeholders for the links; per recipient
each expression is evaluated (sandboxed) and the markers replaced.

It is only used when the result is the same as the full rendering:

- the content has no ``{% %}`` tag, ``{# #}`` comment or whitespace control,
  and every ``{{ }}`` is one expression (else: :func:`build` returns None);
- every marker lands in text (not in a tag, an attribute, a style or script),
  where the CSS inliner's serialiser escapes ``& < >`` and no-break spaces:
  the value is escaped the same way;
- a value that is empty, HTML markup, or has whitespace the text part would
  collapse or strip, is rendered in full for that recipient (:meth:`render`
  returns None);
- the renderer compares both renderings for the first recipient and drops
  the fast path if they differ.
"""
from __future__ import annotations

import html as htmlmod
import re

from markupsafe import Markup, escape

from . import personal
from .htmltext import html_to_text
from .links import rewrite

_OUTPUT = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_OWN_LINKS = {"unsubscribe_url": "cvunsubscribe", "view_url": "cvview", "pixel_url": "cvpixel"}
_PLAIN_VALUE = re.compile(r"\S+(?: \S+)*")
_NOT_TEXT = re.compile(r"<!--.*?-->|<(style|script|textarea|xmp|iframe|noembed|noframes|noscript)\b.*?</\1\s*>|<[^>]*>",
                       re.IGNORECASE | re.DOTALL)


def marker(index: int) -> str:
    return f"CVVALUE{index}X0PLACEHOLDER"


def click_placeholder(link_id: int) -> str:
    return f"CVCLICK{link_id}X0PLACEHOLDER"


_CLICK = re.compile(r"CVCLICK(\d+)X0PLACEHOLDER")


def split_outputs(source: str) -> tuple[str, list] | None:
    """``(marker template source, compiled expressions)`` for a content that
    only prints expressions, else None. The marker template prints ``cv<i>``
    where the content prints expression ``i``."""
    if "{%" in source or "{#" in source:
        return None
    expressions, parts, end = [], [], 0
    for match in _OUTPUT.finditer(source):
        text = match.group(1).strip()
        if not text or text[0] in "-+" or text[-1] in "-+" or "{{" in text:
            return None
        if text in _OWN_LINKS:  # our own links print their placeholder, filled per recipient
            parts.append(source[end:match.start()] + "{{ %s }}" % _OWN_LINKS[text])
            end = match.end()
            continue
        try:
            expressions.append(personal.compile_expression(text))
        except personal.ContentError:
            return None
        parts.append(source[end:match.start()] + "{{ cv%d }}" % (len(expressions) - 1))
        end = match.end()
    parts.append(source[end:])
    remainder = _OUTPUT.sub("", source)
    if "{{" in remainder or "}}" in remainder:
        return None
    return "".join(parts), expressions


def _serialised(text: str) -> str:
    """``text`` as an HTML serialiser writes a text node (what the CSS inliner emits)."""
    return (text.replace("&", "&amp;").replace("\xa0", "&nbsp;").replace("<", "&lt;").replace(">", "&gt;"))


class Prerendered:
    """The document and text part with markers, and how to fill them."""

    def __init__(self, html: str, text: str, expressions: list, layout_markers: dict[str, str]):
        self.html = html
        self.text = text
        self.expressions = expressions
        self.layout_markers = layout_markers  # placeholder name -> the renderer's placeholder

    def render(self, context: dict, subject: str, urls: dict, click) -> tuple[str, str] | None:
        """``(html, text)`` for one recipient, or None when a value needs the full rendering."""
        html, text = self.html, self.text
        for index, expression in enumerate(self.expressions):
            value = personal.evaluate(expression, context)
            if isinstance(value, Markup):
                return None
            shown = htmlmod.unescape(str(escape(value)))
            if not _PLAIN_VALUE.fullmatch(shown):
                return None
            html = html.replace(marker(index), _serialised(shown))
            text = text.replace(marker(index), shown)
        links = self.layout_markers
        for name, raw in (("subject", subject), ("view", urls["view"]), ("unsubscribe", urls["unsubscribe"]),
                          ("pixel", urls["open"])):
            placeholder = links[name]
            html = html.replace(placeholder, _serialised(raw) if name == "subject" else htmlmod.escape(raw))
            text = text.replace(placeholder, raw)
        html = _CLICK.sub(lambda m: htmlmod.escape(click(int(m.group(1)))), html)
        text = _CLICK.sub(lambda m: click(int(m.group(1))), text)
        return html, text


def build(renderer, source: str, layout_markers: dict[str, str]) -> Prerendered | None:
    """The prerendered form of ``renderer``'s content (None when it cannot have one)."""
    split = split_outputs(source)
    if split is None:
        return None
    marker_source, expressions = split
    if any(placeholder in source for placeholder in layout_markers.values()):
        return None
    context = {f"cv{i}": marker(i) for i in range(len(expressions))}
    context.update(cvunsubscribe=layout_markers["unsubscribe"], cvview=layout_markers["view"],
                   cvpixel=layout_markers["pixel"])
    body = personal.render_string(marker_source, context, html=True)
    values = [marker(i) for i in range(len(expressions))]
    if not _in_text_only(body, values):  # e.g. a value in a link: each recipient's own link
        return None
    body = rewrite(body, renderer.utm, renderer.book, click_placeholder, skip=renderer.links.own_prefix)
    document = renderer.layout.replace(layout_markers["body"], body)
    if not _in_text_only(document, values + [layout_markers["subject"]]):
        return None
    html = renderer.inliner.inline(document)
    text = renderer.layout_text.replace(layout_markers["body"], html_to_text(body).strip())
    layout = {key: value for key, value in layout_markers.items() if key != "body"}
    return Prerendered(html, text, expressions, layout)


def _in_text_only(html: str, names: list[str]) -> bool:
    """Does each of ``names`` appear in ``html`` only in text (no tag, attribute, comment, style or script)?"""
    text_only = _NOT_TEXT.sub(" ", html)
    return all(html.count(name) == text_only.count(name) for name in names)
