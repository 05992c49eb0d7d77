"""The send log's claims: a row is claimed (status ``sending``, a random
``claim`` and a ``lease_until``) before its SMTP transaction and marked
``sent`` right after the server accepted it.

- A retried or duplicated job finds the row ``sent`` (or claimed by a live
  worker) and does not send again.
- A worker killed mid-batch leaves rows ``sending`` with an expired lease;
  the next claim takes them over.

The one window no log can close is between the server's "250 accepted" and
our update (RFC 1047): we keep it to one local UPDATE.
"""
from __future__ import annotations

import datetime as dt
import uuid

import peewee

from core import Contact, utcnow, write_transaction

from .models import CLAIMED, DONE, FAILED, QUEUED, SKIPPED, Send

LEASE = dt.timedelta(minutes=10)
MAX_ATTEMPTS = 5


def new_claim() -> str:
    return uuid.uuid4().hex


def _claimable(now):
    due = (Send.status == QUEUED) & (Send.not_before.is_null() | (Send.not_before <= now))
    return due | ((Send.status == CLAIMED) & (Send.lease_until < now))


def claim_batch(newsletter_id: int, size: int, now: dt.datetime | None = None) -> tuple[str, list[Send]]:
    """Claim up to ``size`` due rows of a newsletter (queued, or abandoned by
    a dead worker). Safe when several workers claim at once: when another
    worker took every row picked (both picked the oldest), pick again, so an
    empty answer always means that no due row is left to claim."""
    now = now or utcnow()
    claim = new_claim()
    while True:
        candidates = (Send.select(Send.id).where((Send.newsletter == newsletter_id) & _claimable(now))
                      .order_by(Send.id).limit(size))
        ids = [row.id for row in candidates]
        if not ids:
            return claim, []
        claimed = (Send.update(status=CLAIMED, claim=claim, lease_until=now + LEASE, attempts=Send.attempts + 1)
                   .where(Send.id.in_(ids) & _claimable(now)).execute())
        if claimed:  # each lost race means another worker claimed rows: this loop ends
            break
    rows = list(Send.select(Send, Contact).join(Contact, peewee.JOIN.LEFT_OUTER)
                .where((Send.claim == claim) & (Send.status == CLAIMED)).order_by(Send.id))
    return claim, rows


def renew(claim: str, now: dt.datetime | None = None) -> int:
    """Extend the lease of every row still held under ``claim``."""
    now = now or utcnow()
    return Send.update(lease_until=now + LEASE).where((Send.claim == claim) & (Send.status == CLAIMED)).execute()


def claim_key(key: str, fields: dict, now: dt.datetime | None = None) -> tuple[Send | None, str]:
    """Claim the row of ``key`` for one message: ``(row, "")`` or
    ``(None, reason)`` when it was sent already or another worker holds it."""
    now = now or utcnow()
    claim = new_claim()
    try:
        with write_transaction():
            Send.insert(key=key, status=CLAIMED, claim=claim, lease_until=now + LEASE, attempts=1,
                        created_at=now, **fields).execute()
    except peewee.IntegrityError:
        existing = Send.get_or_none(Send.key == key)
        if existing is None:
            return None, "could not record the message"
        if existing.status == DONE:
            return None, f"already sent (key {key})"
        retryable = (Send.status.in_([QUEUED, SKIPPED, FAILED])) | ((Send.status == CLAIMED) & (Send.lease_until < now))
        updated = (Send.update(status=CLAIMED, claim=claim, lease_until=now + LEASE, attempts=Send.attempts + 1,
                               reason="", **{k: v for k, v in fields.items() if k in ("subject", "to_email")})
                   .where((Send.id == existing.id) & retryable).execute())
        if not updated:
            return None, f"being sent by another worker (key {key})"
    row = Send.get((Send.key == key) & (Send.claim == claim))
    return row, ""


def mark_sent(row: Send, message_id: str, subject: str, html: str | None = None, text: str | None = None,
              now: dt.datetime | None = None) -> bool:
    values = {"status": DONE, "message_id": message_id, "subject": subject, "sent_at": now or utcnow(),
              "lease_until": None, "reason": ""}
    if html is not None:
        values.update(html=html, text=text)
    return bool(Send.update(**values).where((Send.id == row.id) & (Send.claim == row.claim)).execute())


def mark_skipped(row: Send, reason: str) -> None:
    Send.update(status=SKIPPED, reason=reason[:1000], lease_until=None).where(
        (Send.id == row.id) & (Send.claim == row.claim)).execute()


def mark_skipped_many(skips: list[tuple[Send, str]]) -> None:
    """Mark several claimed rows skipped: one UPDATE per claim and reason."""
    groups: dict[tuple[str, str], list[int]] = {}
    for row, reason in skips:
        groups.setdefault((row.claim, reason[:1000]), []).append(row.id)
    for (claim, reason), ids in groups.items():
        for start in range(0, len(ids), 500):
            Send.update(status=SKIPPED, reason=reason, lease_until=None).where(
                Send.id.in_(ids[start:start + 500]) & (Send.claim == claim)).execute()


def skipped_by_reason(newsletter_id: int) -> list[tuple[str, int]]:
    """A newsletter's skipped recipients counted by reason, most frequent first."""
    count = peewee.fn.COUNT(Send.id)
    return list(Send.select(Send.reason, count).where((Send.newsletter == newsletter_id) & (Send.status == SKIPPED))
                .group_by(Send.reason).order_by(count.desc(), Send.reason).tuples())


def waiting_by_reason(newsletter_id: int, limit: int = 10) -> list[tuple[str, int, dt.datetime | None]]:
    """A newsletter's recipients put back in the queue with a reason (the SMTP
    server unreachable, a temporary refusal, a rate limit, the send window):
    ``(reason, recipients, next try)``, the largest groups first."""
    count = peewee.fn.COUNT(Send.id)
    groups = (Send.select(Send.reason, count, peewee.fn.MIN(Send.not_before))
              .where((Send.newsletter == newsletter_id) & (Send.status == QUEUED) & (Send.reason != ""))
              .group_by(Send.reason).order_by(count.desc(), Send.reason).limit(limit).tuples())
    return [(reason, recipients, aggregate_time(at)) for reason, recipients, at in groups]


def aggregate_time(value) -> dt.datetime | None:
    """A ``MIN``/``MAX`` of a datetime column as an aware UTC datetime (SQLite returns it as text)."""
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        value = Send.not_before.python_value(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def mark_failed(row: Send, reason: str) -> None:
    Send.update(status=FAILED, reason=reason[:1000], lease_until=None).where(
        (Send.id == row.id) & (Send.claim == row.claim)).execute()


def release(row: Send, not_before: dt.datetime | None = None, reason: str = "", counted: bool = True) -> None:
    """Give a claimed row back to the queue (to retry later). ``counted=False``
    when the server failed, not this recipient: the attempt is not counted
    against :data:`MAX_ATTEMPTS`, so a long outage fails nobody."""
    attempts = Send.attempts if counted else Send.attempts - 1
    Send.update(status=QUEUED, claim=None, lease_until=None, not_before=not_before, reason=reason[:1000],
                attempts=attempts).where(
        (Send.id == row.id) & (Send.claim == row.claim) & (Send.status == CLAIMED)).execute()


def release_all(claim: str) -> int:
    """Give back every row still held under ``claim`` (attempt not counted)."""
    return (Send.update(status=QUEUED, claim=None, lease_until=None, attempts=Send.attempts - 1)
            .where((Send.claim == claim) & (Send.status == CLAIMED)).execute())
