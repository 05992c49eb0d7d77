"""The worker side of ingest: drain the hit stream into the database.

A Redis consumer group hands each worker a batch (``XREADGROUP``); the batch
is written in one transaction (new visitors, hits with ``ON CONFLICT DO
NOTHING`` on their hit id, events for identified visitors) and acknowledged
(``XACK`` + ``XDEL``) only after the commit. If a worker dies mid-batch, its
entries stay pending and the next drain claims them (``XAUTOCLAIM`` after
:data:`RECLAIM_IDLE_MS`); hits it had already committed are skipped by the hit
id, so nothing is lost and nothing is stored twice.

Identifications carried by hits (an email link's ``cv_t`` token, ``identify``)
are applied before the batch's hits are written, so the visitor's hits in the
same batch already belong to the contact.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
from urllib.parse import parse_qsl, urlsplit

from flask import current_app
from redis.exceptions import ResponseError

from core import db_value, dispatch_many, get_setting, insert_rows, select_in, utcnow, write_transaction

from . import identify, timeline
from .ingest import DRAIN_FLAG, STREAM
from .models import Hit, Site, Visitor

log = logging.getLogger("couvee.tracking")

GROUP = "couvee-drain"
BATCH = 500
RECLAIM_IDLE_MS = 60_000
HIT_FIELDS = ["site", "hit_id", "visitor", "kind", "url", "path", "title", "referrer", "name", "properties",
              "utm", "language", "screen", "timezone", "asset_id", "created_at"]


def _redis():
    return current_app.extensions["couvee"].redis


def ensure_group(redis) -> None:
    try:
        redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    except ResponseError as error:
        if "BUSYGROUP" not in str(error):
            raise


def consumer_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def drain(batch_size: int = BATCH, max_batches: int | None = None) -> int:
    """RQ job: write every waiting hit; return how many stream entries were handled."""
    redis = _redis()
    redis.delete(DRAIN_FLAG)  # hits arriving from now on queue another drain
    ensure_group(redis)
    consumer = consumer_name()
    handled = reclaim(consumer, batch_size)
    batches = 0
    while max_batches is None or batches < max_batches:
        answer = redis.xreadgroup(GROUP, consumer, {STREAM: ">"}, count=batch_size)
        entries = answer[0][1] if answer else []
        if not entries:
            break
        handled += process(entries)
        batches += 1
    return handled


def reclaim(consumer: str, batch_size: int = BATCH, min_idle_ms: int = RECLAIM_IDLE_MS) -> int:
    """Take over and write the entries another consumer read but never acknowledged."""
    redis = _redis()
    start, handled = "0-0", 0
    while True:
        answer = redis.xautoclaim(STREAM, GROUP, consumer, min_idle_ms, start_id=start, count=batch_size)
        start, entries = answer[0], answer[1]
        if entries:
            handled += process(entries)
        if start in (b"0-0", "0-0"):
            return handled


def process(entries: list) -> int:
    """Write one batch of stream entries, then acknowledge them."""
    hits = []
    for entry_id, fields in entries:
        entry_id = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
        try:
            hit = json.loads((fields or {})[b"d"])
        except (KeyError, ValueError, TypeError):
            log.warning("dropping unreadable stream entry %s", entry_id)
            continue
        hit.setdefault("h", "")
        hit["h"] = hit["h"] or entry_id
        hits.append(hit)
    if hits:
        store(hits)
    ids = [entry_id for entry_id, _ in entries]
    _redis().pipeline().xack(STREAM, GROUP, *ids).xdel(STREAM, *ids).execute()
    return len(entries)


def _received(hit: dict) -> dt.datetime:
    return dt.datetime.fromtimestamp(hit["at"] / 1000, tz=dt.timezone.utc)


def _row(hit: dict) -> dict:
    """The Hit columns of a stream entry."""
    url = hit.get("u", "")
    parts = urlsplit(url)
    utm = {key: value[:200] for key, value in parse_qsl(parts.query) if key in timeline.UTM_KEYS}
    return {"site": hit["site"], "hit_id": hit["h"], "visitor": hit.get("v") or None, "kind": hit["k"],
            "url": url, "path": parts.path or ("/" if url else ""), "title": hit.get("t", ""), "referrer": hit.get("r", ""),
            "name": hit.get("n", ""), "properties": hit.get("p") or {}, "utm": utm,
            "language": hit.get("l", ""), "screen": hit.get("sc", ""), "timezone": hit.get("tz", ""),
            "asset_id": hit.get("a"), "created_at": _received(hit)}


def _identify(hits: list[dict], sites: dict[int, Site]) -> dict[str, int]:
    """Apply the batch's identifications; return ``hit id -> contact id`` for
    hits without a visitor that a token names (a download from an email)."""
    direct = {}
    for hit in hits:
        contact, method = None, ""
        if hit.get("ct"):
            contact, method = identify.contact_from_email_token(hit["ct"]), "email_link"
        if contact is None and hit["k"] == "identify":
            contact, method = identify.contact_from_identify(sites[hit["site"]], hit.get("id") or {}), "identify"
        if contact is not None and hit.get("v"):
            identify.link_visitor(hit["v"], contact, method)
        elif contact is not None:
            direct[hit["h"]] = contact.id
    return direct


def store(hits: list[dict]) -> int:
    """Write hits (dicts from the stream); return how many were new."""
    site_ids = {hit.get("site") for hit in hits}
    sites = {site.id: site for site in Site.select().where(Site.id.in_([s for s in site_ids if s]))}
    hits = [hit for hit in hits if hit.get("site") in sites or hit["k"] == "download"]
    direct = _identify(hits, sites)
    rows, seen = [], set()
    for hit in hits:
        if hit["k"] == "identify" or hit["h"] in seen:
            continue
        seen.add(hit["h"])
        rows.append(_row(hit))
    if not rows:
        return 0
    with write_transaction():
        contacts = _visitors(rows)
        stored = [tuple(db_value(Hit, name, row[name]) for name in HIT_FIELDS) for row in rows]
        inserted = insert_rows(Hit, HIT_FIELDS, stored, returning=("id", "hit_id"), ignore_conflicts=True)
        by_hit_id = {row["hit_id"]: row for row in rows}
        owned = []
        for hit_pk, hit_id in inserted:
            row = by_hit_id[hit_id]
            contact_id = contacts.get(row["visitor"]) or direct.get(hit_id)
            if contact_id is not None:
                owned.append((hit_pk, contact_id, row))
        for contact_id in {c for _, c, _ in owned}:
            Hit.update(contact=contact_id).where(Hit.id.in_([pk for pk, c, _ in owned if c == contact_id])).execute()
        event_ids = timeline.write_events([(contact_id, row) for _, contact_id, row in owned])
    dispatch_many(event_ids)
    return len(inserted)


def _visitors(rows: list[dict]) -> dict[str, int]:
    """Create the batch's new visitors, move ``last_seen_at``; return
    ``visitor id -> contact id`` for the identified ones."""
    ids = sorted({row["visitor"] for row in rows if row["visitor"]})
    known = {vid: contact for vid, contact in select_in(Visitor, ["id", "contact"], {"id": ids})}
    latest = max(row["created_at"] for row in rows)
    first = {}
    for row in rows:
        if row["visitor"] and row["visitor"] not in known:
            first.setdefault(row["visitor"], row)
    insert_rows(Visitor, ["id", "site", "first_seen_at", "last_seen_at"],
                [(vid, row["site"], db_value(Visitor, "first_seen_at", row["created_at"]),
                  db_value(Visitor, "last_seen_at", latest)) for vid, row in first.items()],
                ignore_conflicts=True)
    if known:
        Visitor.update(last_seen_at=latest).where(Visitor.id.in_(list(known))).execute()
    return {vid: contact for vid, contact in known.items() if contact is not None}


def purge_anonymous() -> int:
    """Periodic job: delete anonymous hits and visitors older than the
    configured age (``tracking.anonymous_retention_days``)."""
    days = int(get_setting("tracking", "anonymous_retention_days") or 0)
    if days <= 0:
        return 0
    cutoff = utcnow() - dt.timedelta(days=days)
    deleted = Hit.delete().where(Hit.contact.is_null() & (Hit.created_at < cutoff)).execute()
    Visitor.delete().where(Visitor.contact.is_null() & (Visitor.last_seen_at < cutoff)).execute()
    return deleted


def pending_count() -> int:
    """Hits waiting in the stream (read or not), for the admin."""
    return int(_redis().xlen(STREAM))
