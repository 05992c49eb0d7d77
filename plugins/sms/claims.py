"""Who may send a row of the SMS send log, one row at a time.

A sender takes a row with one conditional UPDATE that sets a fresh random
``claim`` and a lease; only the UPDATE that changed the row wins, so two
workers (or a retried job) never both send it. The row is marked ``sent``
under that claim as soon as the gateway accepted the message. A worker
killed meanwhile leaves the row ``sending`` until its lease runs out; then
anyone may take it again. (The gap between the gateway's "accepted" and our
UPDATE cannot be closed: it is one local write.)

A campaign's rows are claimed only while the campaign is ``sending``: the
condition is in the claiming UPDATE itself, so once a pause or a cancel is
committed no worker takes another row of it (a message already claimed
still goes out, once).

Rows are claimed singly rather than in batches: each SMS is an HTTP request
of its own, so a claim per message costs little and a killed worker strands
one row, not a batch.
"""
from __future__ import annotations

import datetime as dt
import uuid

import peewee

from core import utcnow, write_transaction

from .models import CLAIMED, DONE, FAILED, QUEUED, SENDING, SKIPPED, Campaign, SmsSend

LEASE = dt.timedelta(minutes=5)
#: transient failures (gateway unreachable, 5xx, 429) before a row is given up
MAX_ATTEMPTS = 5


def _free(now: dt.datetime):
    """Rows nobody owns: waiting, or held by a worker whose lease ran out."""
    return (SmsSend.status == QUEUED) | ((SmsSend.status == CLAIMED) & (SmsSend.lease_until < now))


def _take(row_id: int, condition, now: dt.datetime) -> SmsSend | None:
    token = uuid.uuid4().hex
    taken = (SmsSend.update(status=CLAIMED, claim=token, lease_until=now + LEASE, attempts=SmsSend.attempts + 1)
             .where((SmsSend.id == row_id) & condition).execute())
    return SmsSend.get_by_id(row_id) if taken else None


def claim_next(campaign_id: int, now: dt.datetime | None = None) -> SmsSend | None:
    """Take the campaign's next free row, or None when none is left or the
    campaign is no longer sending (paused, cancelled)."""
    now = now or utcnow()
    sending = SmsSend.campaign.in_(Campaign.select(Campaign.id).where(
        (Campaign.id == campaign_id) & (Campaign.status == SENDING)))
    while True:
        ids = [row_id for (row_id,) in SmsSend.select(SmsSend.id).where(
            (SmsSend.campaign == campaign_id) & _free(now)).order_by(SmsSend.id).limit(10).tuples()]
        if not ids:
            return None
        for row_id in ids:  # another worker may take a candidate first: try the next one
            row = _take(row_id, _free(now) & sending, now)
            if row is not None:
                return row
        if not Campaign.select().where((Campaign.id == campaign_id) & (Campaign.status == SENDING)).exists():
            return None


def claim_key(key: str, fields: dict, now: dt.datetime | None = None) -> tuple[SmsSend | None, str]:
    """The row of a single message for ``key``, claimed: ``(row, "")``, or
    ``(None, reason)`` when it was sent already or a live worker holds it. A
    message that failed or was skipped before may be tried again."""
    now = now or utcnow()
    try:
        with write_transaction():
            SmsSend.insert(key=key, status=QUEUED, created_at=now, **fields).execute()
    except peewee.IntegrityError:
        pass
    existing = SmsSend.get_or_none(SmsSend.key == key)
    if existing is None:
        return None, "could not record the message"
    if existing.status == DONE:
        return None, f"already sent (key {key})"
    row = _take(existing.id, _free(now) | SmsSend.status.in_([SKIPPED, FAILED]), now)
    if row is None:
        return None, f"being sent by another worker (key {key})"
    if fields:
        SmsSend.update(**fields).where(SmsSend.id == row.id).execute()
    return row, ""


def finish(row: SmsSend, status: str, **values) -> bool:
    """Record the outcome of a claimed row (only while the claim is ours)."""
    values.setdefault("lease_until", None)
    if status == DONE:
        values.setdefault("sent_at", utcnow())
    return bool(SmsSend.update(status=status, **values).where(
        (SmsSend.id == row.id) & (SmsSend.claim == row.claim)).execute())


def give_back(row: SmsSend, reason: str) -> None:
    """A transient failure: the row waits for another try, or fails for good
    after :data:`MAX_ATTEMPTS`."""
    if row.attempts >= MAX_ATTEMPTS:
        finish(row, FAILED, reason=reason[:1000])
        return
    SmsSend.update(status=QUEUED, claim=None, lease_until=None, reason=reason[:1000]).where(
        (SmsSend.id == row.id) & (SmsSend.claim == row.claim)).execute()
