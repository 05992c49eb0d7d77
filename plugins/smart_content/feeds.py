"""RSS/Atom feeds: fetch politely, parse defensively, store new items.

- **Fetch** (:func:`fetch`): http/https only (redirects too), a timeout, a
  size limit (the body is read up to ``MAX_BYTES`` and refused beyond), no
  compression (no decompression bombs), ``If-None-Match``/``If-Modified-Since``
  from the last answer so an unchanged feed costs a 304.
- **Parse** (:func:`parse`): feedparser on the bytes; a document that is not a
  feed is an error with a message, never an exception escaping the job.
  Titles and excerpts become plain text, bodies are sanitised with nh3.
- **Store** (:func:`store_items`): new URLs only: an item already in the
  library keeps what an editor completed.

Every failure is recorded on the feed (``last_error``) and shown in the admin;
:func:`fetch_feed` never raises, so one broken feed cannot stop the others.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
import urllib.error
import urllib.request
from calendar import timegm

import feedparser

from core import Tag, enqueue, utcnow

from .library import is_web_url, set_tags
from .models import Content, Feed
from .sanitize import clean_html, plain_text

log = logging.getLogger("couvee.smart_content.feeds")

MAX_BYTES = 5 * 1024 * 1024
TIMEOUT = 15
MAX_ITEMS = 200
EXCERPT_CHARS = 300
BODY_CHARS = 100_000
USER_AGENT = "Couvee-SmartContent/1.0 (+feed reader)"
_IMG = re.compile(r"<img[^>]+src=[\"']([^\"']+)[\"']", re.I)


class FeedError(Exception):
    """Fetching or parsing failed; the message is meant for the admin."""


@dataclasses.dataclass
class Fetched:
    status: int  # 200 or 304
    body: bytes = b""
    etag: str = ""
    last_modified: str = ""
    content_type: str = ""


@dataclasses.dataclass
class Item:
    title: str
    url: str
    image_url: str = ""
    excerpt: str = ""
    body: str = ""
    categories: list = dataclasses.field(default_factory=list)
    published_at: dt.datetime | None = None


class _WebOnlyRedirects(urllib.request.HTTPRedirectHandler):
    max_redirections = 5

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if not is_web_url(newurl):
            raise FeedError(f"the feed redirects to a non-web address ({newurl[:100]})")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _opener() -> urllib.request.OpenerDirector:
    opener = urllib.request.OpenerDirector()
    for handler in (urllib.request.HTTPHandler(), urllib.request.HTTPSHandler(), _WebOnlyRedirects(),
                    urllib.request.HTTPErrorProcessor(), urllib.request.HTTPDefaultErrorHandler()):
        opener.add_handler(handler)
    return opener


def fetch(url: str, etag: str = "", last_modified: str = "", timeout: float | None = None,
          max_bytes: int | None = None) -> Fetched:
    """GET the feed; raise :class:`FeedError` with a readable reason."""
    timeout = TIMEOUT if timeout is None else timeout
    max_bytes = MAX_BYTES if max_bytes is None else max_bytes
    if not is_web_url(url):
        raise FeedError("the address must start with http:// or https://")
    headers = {"User-Agent": USER_AGENT, "Accept": "application/rss+xml, application/atom+xml, "
               "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5", "Accept-Encoding": "identity"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    request = urllib.request.Request(url, headers=headers)
    try:
        with _opener().open(request, timeout=timeout) as response:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise FeedError(f"the feed is too large ({int(declared)} bytes; the limit is {max_bytes})")
            body = response.read(max_bytes + 1)
            if len(body) > max_bytes:
                raise FeedError(f"the feed is larger than the {max_bytes} bytes limit")
            return Fetched(200, body, response.headers.get("ETag", "")[:500],
                           response.headers.get("Last-Modified", "")[:200],
                           response.headers.get("Content-Type", ""))
    except urllib.error.HTTPError as error:
        if error.code == 304:
            return Fetched(304, etag=etag, last_modified=last_modified)
        raise FeedError(f"the server answered HTTP {error.code} {error.reason}") from None
    except urllib.error.URLError as error:
        raise FeedError(f"could not reach the feed: {error.reason}") from None
    except TimeoutError:
        raise FeedError(f"no answer within {timeout:g} seconds") from None
    except (OSError, ValueError) as error:  # connection reset, bad status line, invalid URL...
        raise FeedError(f"could not read the feed: {error}") from None


def _when(entry) -> dt.datetime | None:
    for key in ("published_parsed", "updated_parsed"):
        value = entry.get(key)
        if value:
            try:
                return dt.datetime.fromtimestamp(timegm(value), tz=dt.timezone.utc)
            except (OverflowError, ValueError, TypeError):
                continue
    return None


def _image(entry, html: str) -> str:
    candidates = []
    for media in entry.get("media_content") or []:
        if media.get("medium") == "image" or str(media.get("type", "")).startswith("image/") or (
                not media.get("medium") and not media.get("type")):
            candidates.append(media.get("url", ""))
    candidates += [m.get("url", "") for m in entry.get("media_thumbnail") or []]
    candidates += [e.get("href", "") for e in entry.get("enclosures") or []
                   if str(e.get("type", "")).startswith("image/")]
    candidates += [link.get("href", "") for link in entry.get("links") or []
                   if link.get("rel") == "enclosure" and str(link.get("type", "")).startswith("image/")]
    candidates += _IMG.findall(html)
    for url in candidates:
        url = (url or "").strip()
        if is_web_url(url) and len(url) <= 2000:
            return url
    return ""


def parse(body: bytes, content_type: str = "") -> tuple[str, list[Item]]:
    """(feed title, items) from the document; raise :class:`FeedError`."""
    headers = {"content-type": content_type} if content_type else {}
    try:
        parsed = feedparser.parse(body, response_headers=headers, sanitize_html=False, resolve_relative_uris=False)
    except Exception as error:  # feedparser is robust, but a hostile document must not escape
        raise FeedError(f"the document could not be parsed: {error}") from None
    if not parsed.entries:
        if parsed.get("bozo"):
            raise FeedError(f"this is not a readable RSS or Atom feed ({parsed.get('bozo_exception')})")
        if not parsed.get("version"):
            raise FeedError("this is not an RSS or Atom feed")
    items = []
    for entry in parsed.entries[:MAX_ITEMS]:
        url = (entry.get("link") or "").strip()
        if not is_web_url(url) or len(url) > 2000:
            continue
        raw_body = ""
        if entry.get("content"):
            raw_body = entry["content"][0].get("value", "")
        summary = entry.get("summary", "") or raw_body
        body_html = clean_html(raw_body)[:BODY_CHARS] if raw_body else ""
        title = plain_text(entry.get("title", ""))[:500] or url[:500]
        categories = []
        for tag in entry.get("tags") or []:
            term = " ".join(str(tag.get("term") or "").split())[:100]
            if term and term not in categories:
                categories.append(term)
        items.append(Item(title=title, url=url, image_url=_image(entry, raw_body or summary),
                          excerpt=plain_text(summary, EXCERPT_CHARS), body=body_html,
                          categories=categories[:20], published_at=_when(entry)))
    return plain_text(parsed.feed.get("title", ""))[:200], items


def store_items(feed: Feed | None, items: list[Item]) -> int:
    """Add the items whose URL is not in the library yet; return how many.

    Feed categories that match an existing core tag (case-insensitive) become
    the content's tags; the others are kept as suggestions for the editor."""
    known = {row.url for row in Content.select(Content.url).where(Content.url.in_([i.url for i in items]))}
    tags_by_name = {t.name.lower(): t.name for t in Tag.select(Tag.name)} if items else {}
    added = 0
    for item in items:
        if item.url in known:
            continue
        matched = [tags_by_name[c.lower()] for c in item.categories if c.lower() in tags_by_name]
        content = Content.insert(
            title=item.title, url=item.url, image_url=item.image_url, excerpt=item.excerpt, body=item.body,
            source="feed", feed=feed.id if feed else None, published_at=item.published_at or utcnow(),
            suggested_tags=[c for c in item.categories if c.lower() not in tags_by_name],
        ).on_conflict_ignore().execute()
        if content:
            added += 1
            known.add(item.url)
            if matched:
                set_tags(Content.get(Content.url == item.url), matched)
    return added


def fetch_feed(feed_id: int) -> str:
    """Job: fetch one feed and store its new items. Never raises."""
    feed = Feed.get_or_none(Feed.id == feed_id)
    if feed is None:
        return "gone"
    feed.last_fetched_at = utcnow()
    try:
        fetched = fetch(feed.url, feed.etag, feed.last_modified)
        if fetched.status == 304:
            feed.last_status, feed.last_error = "not modified", ""
        else:
            title, items = parse(fetched.body, fetched.content_type)
            added = store_items(feed, items)
            feed.etag, feed.last_modified = fetched.etag, fetched.last_modified
            feed.items_added += added
            feed.name = feed.name or title or feed.url[:200]
            feed.last_status, feed.last_error = f"ok: {len(items)} items, {added} new", ""
    except FeedError as error:
        feed.last_status, feed.last_error = "error", str(error)[:1000]
    except Exception as error:  # never let one feed break the job
        log.exception("feed %s failed", feed.id)
        feed.last_status, feed.last_error = "error", f"unexpected error: {type(error).__name__}: {error}"[:1000]
    feed.save()
    return feed.last_status


def fetch_all() -> int:
    """Periodic job: queue a fetch for every active feed."""
    count = 0
    for feed in Feed.select(Feed.id).where(Feed.active == True):  # noqa: E712
        enqueue(fetch_feed, feed.id, queue="low", timeout=120)
        count += 1
    return count
