"""The one door for everything that happens to a contact.

``emit(contact, kind, data)`` stores a timeline row and queues its dispatch; a
worker calls the ``contact_event`` hook (and ``contact_created`` /
``contact_updated`` for those kinds). Dispatch is at-least-once: an event whose
job was lost (Redis restarted, transaction committed after the job ran) is
re-queued by the periodic sweep, so implementations key side effects on
``event.id``.
"""
from __future__ import annotations

import datetime as dt
import logging

from flask import current_app

from .models import Contact, Event, utcnow
from .queue import enqueue

log = logging.getLogger("couvee.events")

#: kinds that do not count as the contact interacting with us
PASSIVE_KINDS = {
    "contact_created", "contact_updated", "tag_added", "tag_removed", "points_changed",
    "segment_joined", "segment_left", "owner_assigned", "email_sent", "email_bounced",
    "points_threshold_crossed", "workflow_entered", "workflow_completed", "crm_status_changed",
    "crm_opportunity_lost", "gdpr_retention_warning",
}
SWEEP_AFTER = dt.timedelta(seconds=60)


def emit(contact: Contact, kind: str, data: dict | None = None, source: str = "",
         created_at: dt.datetime | None = None) -> Event:
    """Record ``kind`` for ``contact`` and queue its dispatch to plugins."""
    when = created_at or utcnow()
    event = Event.create(contact=contact, kind=kind, data=data or {}, source=source, created_at=when)
    if kind not in PASSIVE_KINDS:
        Contact.update(last_interaction_at=when).where(
            (Contact.id == contact.id)
            & (Contact.last_interaction_at.is_null() | (Contact.last_interaction_at < when))
        ).execute()
    queue_dispatch(event.id)
    return event


def queue_dispatch(event_id: int):
    try:
        return enqueue(dispatch_event, event_id, queue="events")
    except Exception:  # Redis away: the sweep will pick the event up
        log.exception("could not queue event %s; the sweep will retry", event_id)
        return None


#: seconds to wait before looking again for an event the worker cannot see yet
#: (emitted inside a transaction that had not committed when the job started)
NOT_VISIBLE_RETRIES = (1, 3, 10)


def dispatch_event(event_id: int, attempt: int = 0) -> str:
    """Worker side: call the hooks for one event, once."""
    event = Event.get_or_none(Event.id == event_id)
    if event is None:
        if attempt < len(NOT_VISIBLE_RETRIES):
            enqueue(dispatch_event, event_id, attempt + 1, queue="events",
                    delay=dt.timedelta(seconds=NOT_VISIBLE_RETRIES[attempt]))
            return "not visible yet"
        return "missing"  # the contact was deleted (or the sweep will find it)
    if event.dispatched_at is not None:
        return "already dispatched"
    hooks = current_app.extensions["couvee"].hooks
    if event.kind == "contact_created":
        hooks.call("contact_created", contact=event.contact)
    elif event.kind == "contact_updated":
        changes = {key: tuple(pair) for key, pair in (event.data.get("changes") or {}).items()}
        hooks.call("contact_updated", contact=event.contact, changes=changes)
    hooks.call("contact_event", event=event)
    Event.update(dispatched_at=utcnow()).where(Event.id == event.id).execute()
    return "dispatched"


def dispatch_contact_deleted(snapshot: dict) -> None:
    current_app.extensions["couvee"].hooks.call("contact_deleted", contact=snapshot)


def sweep_undispatched(limit: int = 5000) -> int:
    """Periodic job: re-queue events that were never dispatched."""
    cutoff = utcnow() - SWEEP_AFTER
    ids = [
        row.id
        for row in Event.select(Event.id)
        .where(Event.dispatched_at.is_null() & (Event.created_at < cutoff))
        .order_by(Event.id)
        .limit(limit)
    ]
    for event_id in ids:
        queue_dispatch(event_id)
    return len(ids)
