"""Undispatched events are the outbox; a drain *claims* a batch before
dispatching it, so two workers never dispatch the same event at once.

A claim is a lease: ``claimed_by`` (the drain's token) and ``claimed_until``.
A worker killed mid-batch leaves its claim behind; it expires after
:data:`LEASE` and the events are dispatched again (plugins key their side
effects on ``event.id``). Marking an event dispatched clears its claim.
"""
from __future__ import annotations

import datetime as dt
import uuid

from ..db import write_transaction
from ..models import Contact, Event, utcnow

LEASE = dt.timedelta(seconds=120)


def _free(now: dt.datetime):
    return Event.dispatched_at.is_null() & (Event.claimed_until.is_null() | (Event.claimed_until < now))


def new_token() -> str:
    return uuid.uuid4().hex


def claim(token: str, limit: int = 100, ids: list[int] | None = None) -> list[Event]:
    """Claim up to ``limit`` free undispatched events (oldest first, or among
    ``ids``) for ``token``; return them with their contact loaded."""
    now = utcnow()
    candidates = Event.select(Event.id).where(_free(now))
    if ids is not None:
        candidates = candidates.where(Event.id.in_(list(ids)))
    picked = [row.id for row in candidates.order_by(Event.id).limit(limit)]
    if not picked:
        return []
    with write_transaction():
        Event.update(claimed_by=token, claimed_until=now + LEASE).where(
            Event.id.in_(picked) & _free(now)).execute()
    mine = Event.id.in_(picked) & (Event.claimed_by == token)
    events = list(Event.select(Event, Contact).join(Contact).where(mine).order_by(Event.id))
    if len(events) < len(picked):  # events whose contact was deleted meanwhile: nothing to tell anyone
        loaded = {event.id for event in events}
        orphans = [row.id for row in Event.select(Event.id).where(mine) if row.id not in loaded]
        mark_dispatched(token, orphans)
    return events


def mark_dispatched(token: str, ids: list[int]) -> int:
    if not ids:
        return 0
    with write_transaction():
        return Event.update(dispatched_at=utcnow(), claimed_by=None, claimed_until=None).where(
            Event.id.in_(ids) & (Event.claimed_by == token)).execute()


def has_free_work() -> bool:
    """Is there an undispatched event no live drain holds?"""
    return Event.select(Event.id).where(_free(utcnow())).limit(1).exists()


def pending_count() -> int:
    return Event.select().where(Event.dispatched_at.is_null()).count()
