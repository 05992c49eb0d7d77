"""The acceptance journal: a newsletter's accepted messages noted in Redis
the moment the SMTP server accepts them, written to the send log in bulk.

Writing each "sent" mark to the database right after its SMTP transaction
costs a transaction per message; writing them once per batch would widen the
window in which a killed worker's accepted messages are sent again when its
claimed rows are taken over. So each acceptance is one ``HSET`` (send id →
Message-ID, subject, time) in a per-newsletter hash, and :meth:`flush`
marks the batch's rows sent in one UPDATE (and their ``email_sent`` events
in one INSERT, same transaction), then drops the flushed entries.

Whoever claims a dead worker's rows first asks :func:`recover`: rows found
in the journal were accepted already and are only marked sent, never sent
again. The one window left is the one every log has (RFC 1047): between the
server's "250" and the ``HSET``. A newsletter widens it a little on
purpose: it reads the "250" once its next message is composed, and writes
the ``HSET`` while the server answers that message's ``MAIL FROM`` (about a
third of a millisecond more), because the server's work on one message and
ours on the next then overlap. Never across a sleep: before waiting for a
rate limit, the job reads the verdict and writes the note.
"""
from __future__ import annotations

import datetime as dt
import json
import logging

from peewee import Case

from core import emit_many, state, utcnow, write_transaction

from .delivery import sent_event
from .models import DONE, Send

log = logging.getLogger("couvee.email")
KEY = "couvee:email:accepted:nl:"
#: a journal nobody flushes (its worker died, nobody resumed the newsletter) is dropped after this
TTL = dt.timedelta(days=7)
#: rows per UPDATE (SQLite's bound-parameter limit)
CHUNK = 200


class Journal:
    """One send job's acceptances for one newsletter, flushed per batch."""

    def __init__(self, newsletter_id: int):
        self.key = f"{KEY}{newsletter_id}"
        self.redis = state().redis
        self.pending: list[tuple[Send, str, str, dt.datetime]] = []  # (row, message id, subject, sent at)
        self.connection = None  # a pooled connection of our own, for the pipelined HSETs
        self.unread = False

    def accepted(self, row: Send, message_id: str, subject: str) -> None:
        """Note one message the server accepted (call right after its "250").

        The ``HSET`` is written to the Redis socket at once but its reply is
        read with the next one: once written, it reaches Redis even if this
        process is killed the next instant, and the job renders the next
        message meanwhile instead of waiting."""
        now = utcnow()
        self.pending.append((row, message_id, subject, now))
        self._settle()
        if self.connection is None:
            self.connection = self.redis.connection_pool.get_connection()
        try:
            self.connection.send_command("HSET", self.key, str(row.id), json.dumps([message_id, subject, now.isoformat()]))
        except Exception:
            self._drop_connection()
            raise
        self.unread = True

    def _settle(self) -> None:
        """Read the reply of the last ``HSET`` (raises if Redis refused it)."""
        if self.unread:
            self.unread = False
            try:
                self.connection.read_response()
            except Exception:
                self._drop_connection()
                raise

    def _drop_connection(self) -> None:
        if self.connection is not None:
            self.connection.disconnect()
            self.redis.connection_pool.release(self.connection)
            self.connection, self.unread = None, False

    def close(self) -> None:
        """Settle the last reply and give the connection back."""
        try:
            self._settle()
        finally:
            if self.connection is not None:
                self.redis.connection_pool.release(self.connection)
                self.connection = None

    def recover(self, rows: list[Send]) -> list[Send]:
        """The claimed ``rows`` a killed worker had sent already: queued for
        the next :meth:`flush` (marked sent, with their event), not to send."""
        if not rows:
            return []
        found = self.redis.hmget(self.key, [str(row.id) for row in rows])
        recovered = []
        for row, entry in zip(rows, found):
            if entry is not None:
                message_id, subject, at = json.loads(entry)
                self.pending.append((row, message_id, subject, dt.datetime.fromisoformat(at)))
                recovered.append(row)
        return recovered

    def flush(self) -> list[int]:
        """Mark the pending rows sent and record their ``email_sent`` events
        (one transaction); returns the event ids, to dispatch after it."""
        try:
            self.close()  # every HSET has reached Redis before the rows are marked (and the entries dropped)
        except Exception:  # the send log is what counts: write it anyway
            log.exception("email journal %s: Redis refused a note", self.key)
        if not self.pending:
            return []
        pending, self.pending = self.pending, []
        with write_transaction():
            done = _mark_sent(pending)
            event_ids = emit_many([{"contact": row.contact_id, "kind": "email_sent", "source": "email",
                                    "data": sent_event(row, subject), "created_at": at}
                                   for row, _, subject, at in pending if row.id in done and row.contact_id],
                                  dispatch=False)
        pipe = self.redis.pipeline(transaction=False)
        pipe.hdel(self.key, *[str(row.id) for row, *_ in pending])
        pipe.expire(self.key, int(TTL.total_seconds()))
        pipe.execute()
        for row, *_ in pending:
            row._sent = row.id in done
        return event_ids

    def forget(self) -> None:
        """Drop the whole journal (the newsletter is over)."""
        self.redis.delete(self.key)


def _mark_sent(pending: list[tuple[Send, str, str, dt.datetime]]) -> set[int]:
    """One UPDATE per claim and :data:`CHUNK` rows, each row under the claim
    it was sent with (a row whose claim moved on is left alone); the ids marked."""
    by_claim: dict[str, list] = {}
    for entry in pending:
        by_claim.setdefault(entry[0].claim, []).append(entry)
    done: set[int] = set()
    for claim, entries in by_claim.items():
        for start in range(0, len(entries), CHUNK):
            chunk = entries[start:start + CHUNK]
            ids = [row.id for row, *_ in chunk]
            where = Send.id.in_(ids) & (Send.claim == claim)
            updated = Send.update(
                status=DONE, lease_until=None, reason="",
                message_id=Case(Send.id, [(row.id, message_id) for row, message_id, _, _ in chunk]),
                subject=Case(Send.id, [(row.id, subject) for row, _, subject, _ in chunk]),
                sent_at=Case(Send.id, [(row.id, Send.sent_at.db_value(at)) for row, _, _, at in chunk]),
            ).where(where).execute()
            if updated == len(chunk):
                done.update(ids)
            else:  # some rows were taken over meanwhile: which ones are marked under this claim
                done.update(row_id for (row_id,) in Send.select(Send.id).where(where & (Send.status == DONE)).tuples())
    return done
