"""Undispatched events are the outbox; a drain *claims* a batch before
dispatching it, so two workers never dispatch the same event at once.

A claim is a lease: ``claimed_by`` (the drain's token) and ``claimed_until``.
A worker killed mid-batch leaves its claim behind; it expires after
:data:`LEASE` and the events are dispatched again (plugins key their side
effects on ``event.id``). Marking an event dispatched clears its claim.

A drain claims from one partition (:mod:`.partitions`) that it holds. Its
batch is, for each contact in it, that contact's oldest undispatched events
(a prefix), and it skips contacts of which another claim still holds an
event (a dead drain's lease not yet run out), so a contact's events reach
the plugins in order. **Priority lane**: the contacts with an *interactive*
event waiting come first, with their earlier events, then the oldest events
of the partition fill the batch; at least :data:`FAIR_SHARE` of each batch
is the oldest events, so a backlog keeps moving under a stream of
interactive ones.
"""
from __future__ import annotations

import datetime as dt
import uuid

from ..db import db_proxy, is_sqlite, write_transaction
from ..models import Contact, Event, utcnow
from . import partitions

LEASE = dt.timedelta(seconds=120)
#: share of a partition batch always given to the oldest events
FAIR_SHARE = 0.25


def _free(now: dt.datetime):
    return Event.dispatched_at.is_null() & (Event.claimed_until.is_null() | (Event.claimed_until < now))


def new_token() -> str:
    return uuid.uuid4().hex


def claim(token: str, limit: int = 100, ids: list[int] | None = None,
          partition: int | None = None) -> list[Event]:
    """Claim up to ``limit`` free undispatched events for ``token``: among
    ``ids``, or in ``partition`` (priority lane first, see above), or else
    the oldest; return them in order with their contact loaded."""
    now = utcnow()
    if partition is not None:
        picked = _pick_in_partition(token, limit, partition, now)
    else:
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


def _pick_in_partition(token: str, limit: int, partition: int, now: dt.datetime) -> list[int]:
    free = _free(now) & partitions.where(partition)
    held = held_contacts(token, now)
    if held:
        free &= Event.contact.not_in(held)
    lane = max(1, limit - max(1, int(limit * FAIR_SHARE)))
    urgent = {row.contact_id for row in Event.select(Event.contact).where(
        free & (Event.interactive == True)).order_by(Event.id).limit(lane)}  # noqa: E712 (SQL)
    picked = []
    if urgent:  # these contacts' waiting events, oldest first: their earlier events go first
        picked = [row.id for row in Event.select(Event.id).where(free & Event.contact.in_(urgent))
                  .order_by(Event.id).limit(lane)]
    if len(picked) < limit:
        picked += _oldest_in_partition(partition, now, limit - len(picked), held, picked)
    return sorted(picked)


def _oldest_in_partition(partition: int, now: dt.datetime, limit: int, held: list[int],
                         picked: list[int]) -> list[int]:
    """The ids of the partition's oldest free events, skipping the ``held``
    contacts and the events already ``picked``.

    Written as SQL rather than built by peewee because the plan matters: it
    must walk the outbox index (undispatched events by id) and stop after
    ``limit`` rows. Left to itself, SQLite prefers the (dispatched_at,
    created_at) index, then reads and sorts the whole backlog for every
    batch (4 ms per batch at 20,000 waiting events, growing with the
    backlog); ``INDEXED BY`` makes it walk the outbox index (0.2 ms)."""
    param, size = db_proxy.param, partitions.count()
    sql = [f"SELECT id FROM {Event._meta.table_name}{_index_hint('event_outbox')}",
           "WHERE dispatched_at IS NULL",
           f"AND (claimed_until IS NULL OR claimed_until < {param})",
           f"AND contact_id - (contact_id / {param}) * {param} = {param}"]
    params = [Event.claimed_until.db_value(now), size, size, partition]
    for column, values in (("contact_id", held), ("id", picked)):
        if values:
            sql.append(f"AND {column} NOT IN ({', '.join([param] * len(values))})")
            params += list(values)
    sql.append(f"ORDER BY id LIMIT {param}")
    params.append(limit)
    return [row[0] for row in db_proxy.execute_sql(" ".join(sql), params)]


def held_contacts(token: str, now: dt.datetime | None = None) -> list[int]:
    """Contacts with an undispatched event under another live claim (read
    through the claims index: the outbox itself may hold a large backlog)."""
    now = now or utcnow()
    param = db_proxy.param
    sql = (f"SELECT DISTINCT contact_id FROM {Event._meta.table_name}{_index_hint('event_outbox_claims')} "
           f"WHERE dispatched_at IS NULL AND claimed_until >= {param} AND claimed_by <> {param}")
    return sorted(row[0] for row in db_proxy.execute_sql(sql, (Event.claimed_until.db_value(now), token)))


def _index_hint(index: str) -> str:
    """SQLite's ``INDEXED BY`` for one of the outbox's partial indexes
    (core/builtin.py); PostgreSQL plans from its statistics and has none."""
    return f" INDEXED BY {index}" if is_sqlite() else ""


def mark_dispatched(token: str, ids: list[int]) -> int:
    if not ids:
        return 0
    with write_transaction():
        return Event.update(dispatched_at=utcnow(), claimed_by=None, claimed_until=None).where(
            Event.id.in_(ids) & (Event.claimed_by == token)).execute()


def has_free_work() -> bool:
    """Is there an undispatched event no live claim holds?"""
    return Event.select(Event.id).where(_free(utcnow())).limit(1).exists()


def has_claimable_work(skip: set[int] = frozenset()) -> bool:
    """Is there work a drain could claim now in a partition not in ``skip``
    (a free event of a contact no other claim holds)?"""
    now = utcnow()
    condition = _free(now)
    for partition in skip:
        condition &= ~partitions.where(partition)
    held = held_contacts("", now)
    if held:
        condition &= Event.contact.not_in(held)
    return Event.select(Event.id).where(condition).limit(1).exists()


def urgent_partitions(limit: int = 50) -> list[int]:
    """Partitions with a free interactive event, the longest waiting first."""
    rows = Event.select(Event.contact).where(_free(utcnow()) & (Event.interactive == True)).order_by(  # noqa: E712
        Event.id).limit(limit)
    found = []
    for row in rows:
        partition = partitions.of(row.contact_id)
        if partition not in found:
            found.append(partition)
    return found


def pending_count() -> int:
    return Event.select().where(Event.dispatched_at.is_null()).count()
