"""Links in an email: UTM parameters, the stored targets click tokens point
to, and rewriting ``<a href>`` into tracked redirects."""
from __future__ import annotations

import hashlib
import html as htmlmod
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .models import Link

_HREF = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)
UTM_KEYS = ("source", "medium", "campaign", "term", "content")


def is_web_url(url: str) -> bool:
    return url.lower().startswith(("http://", "https://"))


def add_params(url: str, params: dict) -> str:
    """``url`` with ``params`` added (existing keys of the URL are kept)."""
    if not params:
        return url
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    present = {key for key, _ in query}
    query += [(key, value) for key, value in params.items() if key not in present and value]
    return urlunsplit(parts._replace(query=urlencode(query)))


def utm_params(utm: dict | None) -> dict:
    return {f"utm_{key}": (utm or {}).get(key, "") for key in UTM_KEYS if (utm or {}).get(key)}


class LinkBook:
    """Link ids of one scope (``nl:<id>`` or ``send:<id>``), cached for a batch."""

    def __init__(self, scope: str):
        self.scope = scope
        self.ids: dict[str, int] = {}

    def id_for(self, url: str) -> int:
        known = self.ids.get(url)
        if known is not None:
            return known
        digest = hashlib.sha256(url.encode()).hexdigest()
        Link.insert(scope=self.scope, url_hash=digest, url=url).on_conflict_ignore().execute()
        link_id = Link.get((Link.scope == self.scope) & (Link.url_hash == digest)).id
        self.ids[url] = link_id
        return link_id


def rewrite(html: str, utm: dict, book: LinkBook | None, tracked_url, skip: tuple[str, ...] = ()) -> str:
    """Add UTM parameters to web links and, when ``book`` is given, replace
    each by ``tracked_url(link_id)``. URLs starting with one of ``skip`` (our
    own unsubscribe/view links) are left alone."""
    params = utm_params(utm)

    def replace(match):
        raw = match.group(3)
        url = htmlmod.unescape(raw).strip()
        if not is_web_url(url) or (skip and url.startswith(skip)):
            return match.group(0)
        url = add_params(url, params)
        target = tracked_url(book.id_for(url)) if book is not None else url
        return f"{match.group(1)}{match.group(2)}{htmlmod.escape(target, quote=True)}{match.group(2)}"

    return _HREF.sub(replace, html)
