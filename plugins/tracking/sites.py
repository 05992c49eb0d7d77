"""Looking sites up on the hit path without the database.

Every saved site is mirrored into a Redis hash (``key -> public config``), so
the hit endpoint validates a site key and origin with one Redis read; a web
process also keeps what it read for a few seconds (on the app, not in a module
global). When the hash was lost (Redis flushed), the first lookup reloads it
from the database once.
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from urllib.parse import urlparse

from flask import current_app

from core import translation_domain

from .models import Site

_ = translation_domain(__name__).gettext

SITES_KEY = "couvee:tracking:sites"
READY_KEY = "couvee:tracking:sites:ready"
LOCAL_TTL = 5.0
_ORIGIN = re.compile(r"^https?://(\*\.)?[a-z0-9.-]+(:\d{1,5})?$")


@dataclass(frozen=True)
class SiteInfo:
    """What the hit endpoint needs to know about a site."""

    id: int
    key: str
    origins: tuple[str, ...]
    require_consent: bool
    honour_dnt: bool
    rate_limit: int

    def allows_origin(self, origin: str) -> bool:
        return origin_allowed(origin, self.origins)


def clean_origin(raw: str) -> str:
    """``https://Example.com/`` -> ``https://example.com``; ValueError when
    the text is not an origin (scheme, host, optional port; ``*.`` allowed)."""
    text = (raw or "").strip().lower().rstrip("/")
    if not _ORIGIN.match(text):
        raise ValueError(_("%(text)s is not an origin like https://www.example.com", text=repr(raw.strip())))
    return text


def origin_allowed(origin: str, allowed) -> bool:
    origin = (origin or "").lower()
    if not origin or origin == "null":
        return False
    for pattern in allowed:
        if pattern == origin:
            return True
        if "://*." in pattern:
            scheme, _, rest = pattern.partition("://*.")
            parsed = urlparse(origin)
            host_port = parsed.netloc
            if parsed.scheme == scheme and host_port.endswith("." + rest):
                return True
    return False


def info_of(site: Site) -> SiteInfo:
    return SiteInfo(id=site.id, key=site.key, origins=tuple(site.allowed_origins or ()),
                    require_consent=bool(site.require_consent), honour_dnt=bool(site.honour_dnt),
                    rate_limit=int(site.rate_limit or 0))


def _dump(info: SiteInfo) -> str:
    return json.dumps({"id": info.id, "key": info.key, "origins": list(info.origins),
                       "require_consent": info.require_consent, "honour_dnt": info.honour_dnt,
                       "rate_limit": info.rate_limit})


def _load(raw: bytes) -> SiteInfo:
    data = json.loads(raw)
    return SiteInfo(id=data["id"], key=data["key"], origins=tuple(data["origins"]),
                     require_consent=data["require_consent"], honour_dnt=data["honour_dnt"],
                     rate_limit=data["rate_limit"])


def _redis():
    return current_app.extensions["couvee"].redis


def _local() -> dict:
    """This app's short-lived copy of looked-up sites: ``key -> (expires, info)``."""
    return current_app.extensions.setdefault("couvee.tracking.sites", {})


def publish(site: Site, old_key: str | None = None) -> None:
    """Mirror a saved site into Redis (call after every save)."""
    pipe = _redis().pipeline()
    if old_key and old_key != site.key:
        pipe.hdel(SITES_KEY, old_key)
    pipe.hset(SITES_KEY, site.key, _dump(info_of(site)))
    pipe.execute()
    _local().clear()


def unpublish(key: str) -> None:
    _redis().hdel(SITES_KEY, key)
    _local().clear()


def reload_all() -> int:
    """Rebuild the Redis mirror from the database (opens a connection if the
    caller, e.g. the connection-less hit endpoint, has none)."""
    with current_app.extensions["couvee"].database_connection():
        sites = list(Site.select())
    pipe = _redis().pipeline()
    pipe.delete(SITES_KEY)
    for site in sites:
        pipe.hset(SITES_KEY, site.key, _dump(info_of(site)))
    pipe.set(READY_KEY, "1")
    pipe.execute()
    _local().clear()
    return len(sites)


def lookup(key: str) -> SiteInfo | None:
    """The site with public key ``key``, or None; no database query unless the
    Redis mirror is missing altogether."""
    local = _local()
    now = time.monotonic()
    cached = local.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
    redis = _redis()
    raw, ready = redis.pipeline().hget(SITES_KEY, key).exists(READY_KEY).execute()
    if raw is None and not ready:
        reload_all()
        raw = redis.hget(SITES_KEY, key)
    info = _load(raw) if raw is not None else None
    if len(local) > 1000:
        local.clear()
    local[key] = (now + LOCAL_TTL, info)
    return info


def any_site_allows(origin: str) -> bool:
    """Whether some site accepts hits from ``origin`` (for CORS preflights,
    which do not carry the site key)."""
    redis = _redis()
    if not redis.exists(READY_KEY):
        reload_all()
    return any(_load(raw).allows_origin(origin) for raw in redis.hvals(SITES_KEY))
