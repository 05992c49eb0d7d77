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

from flask import current_app, g, has_app_context

from .event_kinds import registered_kind
from .models import Contact, Event, utcnow
from .queue import enqueue

log = logging.getLogger("couvee.events")

SWEEP_AFTER = dt.timedelta(seconds=60)
#: events a worker job may hold before queueing their dispatch mid-job
DEFERRED_FLUSH = 100


def emit(contact: Contact, kind: str, data: dict | None = None, source: str = "",
         created_at: dt.datetime | None = None) -> Event:
    """Record ``kind`` for ``contact`` and queue its dispatch to plugins.

    ``kind`` must be registered by an active plugin (``register_event_kinds``),
    else :class:`core.UnknownEventKind` is raised and nothing is written; a
    kind registered as an ``interaction`` moves the contact's last activity."""
    interaction = registered_kind(kind).interaction
    when = created_at or utcnow()
    event = Event.create(contact=contact, kind=kind, data=data or {}, source=source, created_at=when)
    if interaction:
        Contact.update(last_interaction_at=when).where(
            (Contact.id == contact.id)
            & (Contact.last_interaction_at.is_null() | (Contact.last_interaction_at < when))
        ).execute()
    deferred = _deferred()
    if deferred is None:
        queue_dispatch(event.id)
    else:
        deferred.append(event.id)
        if len(deferred) >= DEFERRED_FLUSH:  # a long job: don't hold its events until it ends
            dispatch_many(deferred[:])
            deferred.clear()
    return event


def _deferred() -> list | None:
    """Inside a worker job, events are dispatched together when the job ends
    (see :func:`core.queue.run_task`): one dispatch job instead of one per event."""
    return g.get("couvee_deferred_events") if has_app_context() else None


def dispatch_many(event_ids: list[int]):
    """Queue ONE job dispatching these events in order (each at most once;
    the sweep re-queues them if Redis is away)."""
    if not event_ids:
        return None
    try:
        return enqueue(dispatch_events, list(event_ids), queue="events", timeout=3600)
    except Exception:
        log.exception("could not queue %d events; the sweep will retry", len(event_ids))
        return None


def dispatch_events(event_ids: list[int]) -> int:
    """Worker side: dispatch a batch of events in order, each at most once. One
    failing event does not hold the others back (the sweep retries it)."""
    done = 0
    for event_id in event_ids:
        try:
            dispatch_event(event_id)
            done += 1
        except Exception:
            log.exception("dispatch of event %s failed; the sweep will retry it", event_id)
    return done


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


def emit_many(rows, dispatch: bool = True) -> list[int]:
    """Record several events at once and return their ids.

    ``rows`` are dicts with ``contact`` (a Contact or its id), ``kind`` and
    optionally ``data``, ``source``, ``created_at``. One multi-row INSERT, one
    ``last_interaction_at`` UPDATE per contact with an interaction kind, then ONE
    job dispatching them all (the way imports and tracking write theirs).
    Call it inside your transaction if the events must commit with your rows.

    ``dispatch=False`` records without queueing: the caller queues the ids
    later with :func:`dispatch_many` (e.g. once per batch, after its commit);
    ids it never queues are picked up by the periodic sweep. Every kind must
    be registered (see :func:`emit`): one unknown kind and nothing is written."""
    from .imports.bulk import db_value, insert_rows

    rows = list(rows)
    if not rows:
        return []
    interaction = {kind: registered_kind(kind).interaction for kind in {row["kind"] for row in rows}}
    now = utcnow()
    values, latest = [], {}
    for row in rows:
        contact = row["contact"]
        contact_id = contact if isinstance(contact, int) else contact.id
        when = row.get("created_at") or now
        values.append((contact_id, row["kind"], db_value(Event, "data", row.get("data") or {}),
                       row.get("source", ""), db_value(Event, "created_at", when)))
        if interaction[row["kind"]] and (contact_id not in latest or latest[contact_id] < when):
            latest[contact_id] = when
    ids = [found[0] for found in insert_rows(Event, ["contact", "kind", "data", "source", "created_at"], values,
                                             returning=("id",))]
    for contact_id, when in latest.items():
        Contact.update(last_interaction_at=when).where(
            (Contact.id == contact_id)
            & (Contact.last_interaction_at.is_null() | (Contact.last_interaction_at < when))
        ).execute()
    if dispatch:
        dispatch_many(ids)
    return ids
