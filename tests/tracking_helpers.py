"""Shared arrangements for the tracking tests."""
from __future__ import annotations

import json
import secrets

ORIGIN = "https://www.example.com"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


def make_site(app, **values):
    """A tracked site, saved and published like the admin form does."""
    from plugins.tracking import sites
    from plugins.tracking.models import Site

    with app.app_context(), app.extensions["couvee"].database_connection():
        values.setdefault("name", "Blog")
        values.setdefault("allowed_origins", [ORIGIN])
        site = Site.create(**values)
        sites.publish(site)
        return site


def hit_body(site, **fields) -> dict:
    body = {"s": site.key, "k": "page", "v": "visitor" + "a" * 15, "h": secrets.token_hex(10),
            "u": "https://www.example.com/pricing?utm_source=news&utm_medium=email", "t": "Pricing",
            "r": "https://search.example.org/", "l": "fr-FR", "sc": "1920x1080", "tz": "Europe/Paris"}
    body.update(fields)
    return {key: value for key, value in body.items() if value is not None}


def send_hit(web, body, origin=ORIGIN, user_agent=BROWSER, ip="203.0.113.7", headers=None, expect_errors=True):
    raw = body if isinstance(body, (bytes, str)) else json.dumps(body)
    all_headers = {"Content-Type": "text/plain", "User-Agent": user_agent, **(headers or {})}
    if origin is not None:
        all_headers["Origin"] = origin
    return web.post("/t/hit", raw if isinstance(raw, bytes) else raw.encode(), headers=all_headers,
                    extra_environ={"REMOTE_ADDR": ip}, expect_errors=expect_errors)


def stream_length(app) -> int:
    from plugins.tracking.ingest import STREAM

    return app.extensions["couvee"].redis.xlen(STREAM)


def drain_now(app) -> int:
    from plugins.tracking.drain import drain

    with app.app_context(), app.extensions["couvee"].database_connection():
        return drain()
