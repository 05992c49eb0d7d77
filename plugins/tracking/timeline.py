"""Hits become contact events (``page_visited``, ``custom_event``,
``asset_downloaded``) written in bulk, the way imports write theirs: one
multi-row INSERT, the contacts' ``last_interaction_at`` moved forward, and one
dispatch job per batch queued after the commit."""
from __future__ import annotations

from core import emit_many

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
    Call inside the batch's transaction, then :func:`core.events.dispatch_many` after it."""
    rows = []
    for contact_id, hit in items:
        made = event_of(hit, retroactive)
        if made is None:
            continue
        kind, data = made
        rows.append({"contact": contact_id, "kind": kind, "data": data, "source": "tracking",
                     "created_at": hit["created_at"]})
    return emit_many(rows, dispatch=False)
