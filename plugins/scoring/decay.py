"""Decay (off by default): old engagement stops counting.

Two kinds, chosen in Points > Settings:

- ``percent``: a contact with positive points and no interaction for
  ``decay_period_days`` (and no decay in that period) loses ``decay_percent``%
  of its points, rounded down; so -10% per month of silence.
- ``expire``: points from ledger rows older than ``expire_days`` are taken
  back (one "decay" row per contact and run, summing the expired rows).

The daily job is set-based and batched by contact id: per batch, one
``INSERT ... SELECT`` writes the ledger rows (tagged with a run id), one
``UPDATE`` adds those deltas to ``Contact.points`` and one ``UPDATE`` stores
the resulting totals, all in one transaction, so ``points`` stays the sum of
the ledger. ``points_changed`` is emitted for each contact after the commit.
"""
from __future__ import annotations

import datetime as dt
import logging
import uuid

import peewee
from peewee import fn

from core import Contact, utcnow

from .ledger import announce, write_transaction
from .models import PointChange
from .reasons import REASON_EXPIRE, REASON_PERCENT
from .tiers import current

log = logging.getLogger("couvee.scoring")

BATCH = 5000


def run_decay(batch_size: int | None = None) -> int:
    """Daily job: apply the configured decay; return the contacts changed."""
    settings = current()
    if settings.decay_mode == "percent":
        return _batched(lambda lo, hi: _percent_batch(lo, hi, settings), batch_size or BATCH)
    if settings.decay_mode == "expire":
        return _batched(lambda lo, hi: _expire_batch(lo, hi, settings), batch_size or BATCH)
    return 0


def _batched(step, size: int) -> int:
    """Walk the contact ids in ranges of ``size``, one transaction each."""
    top = Contact.select(fn.MAX(Contact.id)).scalar() or 0
    changed = 0
    for low in range(0, top + 1, size):
        changed += step(low, low + size)
    return changed


def _db_now(now: dt.datetime):
    return PointChange.created_at.db_value(now)


def _apply_batch(run: str) -> list[PointChange]:
    """Add the ledger rows of ``run`` to the contacts and record the totals
    (inside the caller's transaction)."""
    delta_of = (PointChange.select(PointChange.delta)
                .where((PointChange.batch == run) & (PointChange.contact == Contact.id)))
    Contact.update(points=Contact.points + delta_of).where(
        Contact.id.in_(PointChange.select(PointChange.contact).where(PointChange.batch == run))).execute()
    total_of = Contact.select(Contact.points).where(Contact.id == PointChange.contact)
    PointChange.update(total=total_of).where(PointChange.batch == run).execute()
    return list(PointChange.select().where(PointChange.batch == run))


def _announce_all(rows: list[PointChange]) -> None:
    for row in rows:
        try:
            announce(row)
        except Exception:
            log.exception("could not announce decay row %s", row.id)


def _percent_batch(low: int, high: int, settings) -> int:
    now = utcnow()
    since = _db_now(now - dt.timedelta(days=settings.decay_period_days))
    run = uuid.uuid4().hex
    loss = (Contact.points * settings.decay_percent) / 100
    recent_decay = PointChange.select(PointChange.id).where(
        (PointChange.contact == Contact.id) & (PointChange.source_type == "decay") & (PointChange.created_at > since))
    quiet = fn.COALESCE(Contact.last_interaction_at, Contact.created_at) < since
    reason = REASON_PERCENT.format(percent=settings.decay_percent, days=settings.decay_period_days)
    source = Contact.select(
        Contact.id, loss * -1, peewee.Value(0), peewee.Value(reason), peewee.Value("decay"), peewee.Value(""),
        peewee.Value(_db_now(now)), peewee.Value(False), peewee.Value(run),
    ).where((Contact.id >= low) & (Contact.id < high) & (Contact.points * settings.decay_percent >= 100)
            & quiet & ~fn.EXISTS(recent_decay))
    with write_transaction():
        PointChange.insert_from(source, fields=[
            PointChange.contact, PointChange.delta, PointChange.total, PointChange.reason,
            PointChange.source_type, PointChange.source_id, PointChange.created_at, PointChange.expired,
            PointChange.batch]).execute()
        rows = _apply_batch(run)
    _announce_all(rows)
    return len(rows)


def _expire_batch(low: int, high: int, settings) -> int:
    now = utcnow()
    cutoff = _db_now(now - dt.timedelta(days=settings.expire_days))
    run = uuid.uuid4().hex
    old = ((PointChange.contact >= low) & (PointChange.contact < high) & (PointChange.expired == False)  # noqa: E712
           & (PointChange.source_type != "decay") & (PointChange.created_at < cutoff))
    reason = REASON_EXPIRE.format(days=settings.expire_days)
    summed = fn.SUM(PointChange.delta)
    source = (PointChange.select(
        PointChange.contact, summed * -1, peewee.Value(0), peewee.Value(reason), peewee.Value("decay"),
        peewee.Value(""), peewee.Value(_db_now(now)), peewee.Value(False), peewee.Value(run))
        .where(old).group_by(PointChange.contact).having(summed != 0))
    with write_transaction():
        PointChange.insert_from(source, fields=[
            PointChange.contact, PointChange.delta, PointChange.total, PointChange.reason,
            PointChange.source_type, PointChange.source_id, PointChange.created_at, PointChange.expired,
            PointChange.batch]).execute()
        PointChange.update(expired=True).where(old).execute()
        rows = _apply_batch(run)
    _announce_all(rows)
    return len(rows)
