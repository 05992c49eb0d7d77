"""The one door for everything that happens to a contact.

``emit(contact, kind, data)`` stores a timeline row and signals that events
wait; a drain job in a worker claims them in batches and calls each plugin's
``contact_event`` hook (and ``contact_created`` / ``contact_updated`` for those
kinds), see :mod:`core.dispatch`. Undispatched rows are the outbox: nothing is
lost when Redis or a worker goes away (the periodic sweep signals a drain
again). Dispatch is at-least-once, so implementations key side effects on
``event.id``.
"""
from __future__ import annotations

import datetime as dt
import logging

from flask import after_this_request, current_app, g, has_app_context, has_request_context

from . import dispatch
from .db import db_proxy
from .event_kinds import registered_kind
from .models import Contact, Event, utcnow

log = logging.getLogger("couvee.events")

#: events a worker job may record before it signals a drain mid-job
DEFERRED_FLUSH = 100


def emit(contact: Contact, kind: str, data: dict | None = None, source: str = "",
         created_at: dt.datetime | None = None) -> Event:
    """Record ``kind`` for ``contact`` and queue its dispatch to plugins.

    ``kind`` must be registered by an active plugin (``register_event_kinds``),
    else :class:`core.UnknownEventKind` is raised and nothing is written; a
    kind registered as an ``interaction`` moves the contact's last activity.

    The event takes the priority lane (``interactive``), dispatched before a
    bulk backlog, unless it is a plugin's reaction to a bulk event."""
    interaction = registered_kind(kind).interaction
    when = created_at or utcnow()
    event = Event.create(contact=contact, kind=kind, data=data or {}, source=source, created_at=when,
                         interactive=not (has_app_context() and g.get("couvee_bulk_reaction")))
    if interaction:
        Contact.update(last_interaction_at=when).where(
            (Contact.id == contact.id)
            & (Contact.last_interaction_at.is_null() | (Contact.last_interaction_at < when))
        ).execute()
    events_recorded()
    return event


def events_recorded(count: int = 1) -> None:
    """Signal that undispatched events wait, at the right moment: a web
    request signals once after its view returned (its writes committed), a
    worker job when it ends (see :func:`core.queue.run_task`, and every
    :data:`DEFERRED_FLUSH` events outside a transaction in a long job), any
    other caller at once. A signal is one Redis ``SET NX``, never a job per event."""
    if has_request_context():
        if not g.get("couvee_drain_after_request"):
            g.couvee_drain_after_request = True
            after_this_request(_drain_after_request)
        return
    if has_app_context() and g.get("couvee_job_events") is not None:
        g.couvee_job_events += count
        if g.couvee_job_events >= DEFERRED_FLUSH and not db_proxy.in_transaction():
            g.couvee_job_events = 0  # a long job: don't hold its events until it ends
            dispatch.request_drain()
        return
    dispatch.request_drain()


def _drain_after_request(response):
    # the app context (and ``g``) can outlive the request: a test's context, a
    # request made from a job; the next request must signal its own events
    g.pop("couvee_drain_after_request", None)
    dispatch.request_drain()
    return response


def dispatch_many(event_ids: list[int]):
    """Signal that these recorded events wait for dispatch (one drain, however
    many events; call it after the transaction that wrote them commits).
    Returns None for an empty list."""
    if not event_ids:
        return None
    events_recorded(len(event_ids))
    return True


def dispatch_events(event_ids: list[int]) -> int:
    """Dispatch these events now, in this process (those not dispatched yet
    nor claimed by a drain); returns how many were dispatched. Also what jobs
    queued by earlier versions run."""
    return dispatch.dispatch_now(list(event_ids))


def queue_dispatch(event_id: int):
    """Signal a drain for an undispatched event (kept for callers of earlier versions)."""
    return dispatch.request_drain()


def dispatch_event(event_id: int, attempt: int = 0) -> str:
    """Dispatch one event now, in this process, unless it is dispatched or
    claimed by a drain. Returns ``dispatched``, ``already dispatched``,
    ``missing`` (deleted with its contact) or ``claimed elsewhere``."""
    event = Event.get_or_none(Event.id == event_id)
    if event is None:
        return "missing"
    if event.dispatched_at is not None:
        return "already dispatched"
    return "dispatched" if dispatch.dispatch_now([event_id]) else "claimed elsewhere"


def dispatch_contact_deleted(snapshot: dict) -> None:
    current_app.extensions["couvee"].hooks.call("contact_deleted", contact=snapshot)


def sweep_undispatched() -> int:
    """Periodic job, idempotent: when events wait and no drain is queued or
    running, signal one. Returns the number of drain jobs queued (0 or 1)."""
    return dispatch.sweep()


#: ``emit_many`` of more rows than this is bulk unless told otherwise
INTERACTIVE_ROWS = 10


def emit_many(rows, dispatch: bool = True, bulk: bool | None = None) -> list[int]:
    """Record several events at once and return their ids.

    ``rows`` are dicts with ``contact`` (a Contact or its id), ``kind`` and
    optionally ``data``, ``source``, ``created_at``. One multi-row INSERT, one
    ``last_interaction_at`` UPDATE per contact with an interaction kind, then one
    drain signal for them all (the way imports and tracking write theirs).
    Call it inside your transaction if the events must commit with your rows.

    ``dispatch=False`` records without signalling: the caller signals later
    with :func:`dispatch_many` (e.g. once per batch, after its commit); events
    nobody signals for are found by the next drain or the periodic sweep.
    Every kind must be registered (see :func:`emit`): one unknown kind and
    nothing is written.

    ``bulk=True`` (imports, bulk actions, sends) puts the events behind the
    interactive ones (see core/dispatch/outbox.py); by default more than
    :data:`INTERACTIVE_ROWS` rows are bulk, and so is a plugin's reaction to
    a bulk event."""
    from .bulk import db_value, insert_rows

    rows = list(rows)
    if not rows:
        return []
    interaction = {kind: registered_kind(kind).interaction for kind in {row["kind"] for row in rows}}
    if bulk is None:
        bulk = len(rows) > INTERACTIVE_ROWS or bool(has_app_context() and g.get("couvee_bulk_reaction"))
    now = utcnow()
    values, latest = [], {}
    for row in rows:
        contact = row["contact"]
        contact_id = contact if isinstance(contact, int) else contact.id
        when = row.get("created_at") or now
        values.append((contact_id, row["kind"], db_value(Event, "data", row.get("data") or {}),
                       row.get("source", ""), db_value(Event, "created_at", when), not bulk))
        if interaction[row["kind"]] and (contact_id not in latest or latest[contact_id] < when):
            latest[contact_id] = when
    columns = ["contact", "kind", "data", "source", "created_at", "interactive"]
    ids = [found[0] for found in insert_rows(Event, columns, values, returning=("id",))]
    for contact_id, when in latest.items():
        Contact.update(last_interaction_at=when).where(
            (Contact.id == contact_id)
            & (Contact.last_interaction_at.is_null() | (Contact.last_interaction_at < when))
        ).execute()
    if dispatch:
        dispatch_many(ids)
    return ids
