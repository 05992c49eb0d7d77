"""Hits become contact events (``page_visited``, ``custom_event``,
``asset_downloaded``) written in bulk, the way imports write theirs: one
multi-row INSERT, the contacts' ``last_interaction_at`` moved forward, and one
dispatch job per batch queued after the commit."""
from __future__ import annotations

import logging

from ..imports.bulk import db_value, insert_rows
from ..imports.pipeline import dispatch_events
from ..models import Contact, Event
from ..queue import enqueue

log = logging.getLogger("couvee.tracking")

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


def event_of(hit: dict, retroactive: bool = False) -> tuple[str, dict] | None:
    """The event kind and data for a stored hit (a dict of Hit columns)."""
    kind = hit["kind"]
    if kind == "page":
        utm = hit.get("utm") or {}
        data = {"url": hit["url"], "path": hit["path"], "title": hit["title"], "referrer": hit["referrer"],
                "site_id": hit["site"], "visitor_id": hit["visitor"],
                **{key: utm.get(key, "") for key in UTM_KEYS}}
        kind_name = "page_visited"
    elif kind == "event":
        data = {"name": hit["name"], "properties": hit.get("properties") or {}, "url": hit["url"],
                "site_id": hit["site"]}
        kind_name = "custom_event"
    elif kind == "download":
        data = {"asset_id": hit["asset_id"], "title": hit["name"], "site_id": hit["site"]}
        kind_name = "asset_downloaded"
    else:
        return None
    if retroactive:
        data["retroactive"] = True
    return kind_name, data


def write_events(items: list[tuple[int, dict]], retroactive: bool = False) -> list[int]:
    """Insert the events of ``(contact_id, hit)`` pairs; return their ids.
    Call inside the batch's transaction, then :func:`queue_dispatch` after it."""
    rows, latest = [], {}
    for contact_id, hit in items:
        made = event_of(hit, retroactive)
        if made is None:
            continue
        kind, data = made
        rows.append((contact_id, kind, db_value(Event, "data", data), "tracking",
                     db_value(Event, "created_at", hit["created_at"])))
        if contact_id not in latest or latest[contact_id] < hit["created_at"]:
            latest[contact_id] = hit["created_at"]
    ids = [row[0] for row in insert_rows(Event, ["contact", "kind", "data", "source", "created_at"], rows,
                                         returning=("id",))]
    for contact_id, when in latest.items():
        Contact.update(last_interaction_at=when).where(
            (Contact.id == contact_id)
            & (Contact.last_interaction_at.is_null() | (Contact.last_interaction_at < when))
        ).execute()
    return ids


def queue_dispatch(event_ids: list[int]) -> None:
    """After the commit: dispatch the events in one job (the sweep retries if Redis is away)."""
    if not event_ids:
        return
    try:
        enqueue(dispatch_events, event_ids, queue="events", timeout=3600)
    except Exception:
        log.exception("could not queue the dispatch of %s tracking events", len(event_ids))

