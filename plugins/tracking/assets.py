"""Downloadable assets: upload (validated by ``core.files``, stored outside
static) and the download record.

A tracked link is ``/t/a/<slug>``; the script-less link works for anyone, and
adding ``s=<site key>&v=<visitor id>`` (the script's ``couvee('visitor', cb)``)
or an email's ``cv_t`` token attributes the download. Downloads go through
the same stream as page views and become ``asset_downloaded`` events.
"""
from __future__ import annotations

import re

from flask import current_app

from core import store_upload

from . import ingest, sites
from .models import Asset

ASSET_EXTENSIONS = frozenset({"pdf", "png", "jpg", "jpeg", "gif", "webp", "txt", "csv", "doc", "docx", "xls",
                              "xlsx", "ppt", "pptx", "odt", "ods", "odp", "zip"})
_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
ANONYMOUS_RATE = 60


def create_asset(title: str, upload, filename: str) -> Asset:
    """Store an uploaded file as an asset (``FieldValueError`` when refused)."""
    config = current_app.extensions["couvee"].config
    stored = store_upload(upload, filename, config.uploads_path, config.max_upload_bytes, ASSET_EXTENSIONS)
    return Asset.create(title=(title or "").strip()[:200] or stored.original_name, file=stored)


def record_download(asset: Asset, site_key: str, visitor_id: str, token: str, user_agent: str, ip: str) -> bool:
    """Append a ``download`` hit to the stream (no database write); False
    when dropped (bot, rate limit)."""
    if ingest.is_bot(user_agent):
        return False
    site = sites.lookup(site_key) if site_key and len(site_key) <= 64 else None
    hit = {"k": "download", "s": site.key if site else "", "h": "", "a": asset.id, "n": asset.title[:200],
           "u": "", "v": visitor_id if site and _ID.match(visitor_id or "") else "",
           "ct": token[:1024] if token else ""}
    try:
        ingest.append(hit, site.id if site else None, site.rate_limit if site else ANONYMOUS_RATE, ip)
    except ingest.Refused:
        return False
    return True
