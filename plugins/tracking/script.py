"""Build the tracking script of one site: core's ``tracker.js`` with the
site's public configuration and the plugins' ``tracking_script_parts``.

The script is served at ``/t/<site key>/couvee.<version>.js`` where
``version`` is a hash of the whole content (core code, parts, configuration),
so it can be cached for a year; the stable ``/t/<site key>/couvee.js`` that
the snippet loads redirects to it and is cached for five minutes. A web
process keeps what it built for :data:`BUILD_TTL` seconds.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

from core import external_url

from .models import Site

SOURCE = Path(__file__).parent / "static" / "tracker.js"
BUILD_TTL = 30.0
_PART = "try{(function(tracker){\n%s\n})(tracker);}catch(e){warn(e);}"


@dataclass(frozen=True)
class BuiltScript:
    version: str
    body: bytes
    gzipped: bytes


def compact(source: str) -> str:
    """Drop indentation and whole-line comments (not a minifier: safe on any JS)."""
    lines = []
    in_comment = False
    for line in source.splitlines():
        text = line.strip()
        if in_comment:
            in_comment = "*/" not in text
            continue
        if text.startswith("/*") and text != "/*PARTS*/":
            in_comment = "*/" not in text
            continue
        if text:
            lines.append(text)
    return "\n".join(lines)


def js_json(value) -> str:
    """JSON safe to place inside a script (no ``</script>``, no line separators)."""
    text = json.dumps(value, separators=(",", ":"), sort_keys=True)
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def site_config(site: Site) -> dict:
    """The public configuration the script receives (``tracker.config``)."""
    ext = {}
    for _plugin, answer in current_app.extensions["couvee"].hooks.call("tracking_site_config", site=site):
        if isinstance(answer, dict):
            ext.update(answer)
    return {"key": site.key, "endpoint": external_url("tracking_public.hit"),
            "consent": bool(site.require_consent), "dnt": bool(site.honour_dnt), "ext": ext}


def parts() -> list[str]:
    found = []
    for answer in current_app.extensions["couvee"].hooks.results("tracking_script_parts"):
        found.extend(str(part) for part in (answer or ()) if part)
    return found


def build(site: Site) -> BuiltScript:
    source = compact(SOURCE.read_text())
    wrapped = "\n".join(_PART % part for part in parts())
    text = source.replace("/*PARTS*/", wrapped).replace("/*CONFIG*/", js_json(site_config(site)))
    body = text.encode()
    return BuiltScript(version=hashlib.sha256(body).hexdigest()[:16], body=body,
                       gzipped=gzip.compress(body, compresslevel=9, mtime=0))


def script_for(key: str) -> BuiltScript | None:
    """The built script of the site with public ``key`` (cached briefly), or None."""
    if not re.match(r"^[A-Za-z0-9_-]{1,64}$", key or ""):
        return None
    cache = current_app.extensions.setdefault("couvee.tracking.scripts", {})
    now = time.monotonic()
    cached = cache.get(key)
    if cached and cached[0] > now:
        return cached[1]
    site = Site.get_or_none(Site.key == key)
    built = build(site) if site is not None else None
    if len(cache) > 500:
        cache.clear()
    cache[key] = (now + BUILD_TTL, built)
    return built


def forget_built() -> None:
    """Drop this process's built scripts (after a site is saved)."""
    current_app.extensions.setdefault("couvee.tracking.scripts", {}).clear()


def snippet(site: Site) -> str:
    """The copy-paste HTML for a site: an async loader that queues calls made
    before the script arrives, then ``couvee('init', key)``."""
    src = external_url("tracking_public.script_latest", key=site.key)
    return (
        "<script>\n"
        "(function(w,d,u){w.couvee=w.couvee||function(){(w.couvee.q=w.couvee.q||[]).push(arguments)};\n"
        "var s=d.createElement('script');s.async=true;s.src=u;d.head.appendChild(s);})\n"
        f"(window,document,{json.dumps(src)});\n"
        f"couvee('init',{json.dumps(site.key)});\n"
        "</script>"
    )
