"""The plain-text part, generated from the HTML part (stdlib parser only)."""
from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCKS = {"p", "div", "table", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "blockquote", "section",
           "header", "footer", "article"}
_SKIP = {"style", "script", "head", "title"}


class _TextParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.links: list[tuple[str, int]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in _SKIP:
            self.skipping += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCKS:
            self.parts.append("\n\n")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag == "td":
            self.parts.append(" ")
        elif tag == "a":
            self.links.append((attrs.get("href") or "", len(self.parts)))
        elif tag == "img" and not self.skipping:
            alt = (attrs.get("alt") or "").strip()
            if alt:
                self.parts.append(f"[{alt}]")

    def handle_endtag(self, tag):
        if tag in _SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n\n")
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            label = "".join(self.parts[start:]).strip()
            if href and not href.startswith(("#", "mailto:")) and href != label:
                self.parts.append(f" ({href})" if label else href)

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """Readable text: paragraphs, list items, ``label (url)`` for links."""
    parser = _TextParser()
    parser.feed(html or "")
    parser.close()
    text = "".join(parser.parts)
    lines = [line.strip() for line in text.splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
