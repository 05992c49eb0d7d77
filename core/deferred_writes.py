"""Writes a public endpoint accepts even while the database is busy.

A visitor's form post, an unsubscribe or an opt-in confirmation must never
be answered with a 500 because another connection holds the write lock (a
worker's batch, an import). :func:`write_or_defer` runs the write, waiting
with a growing pause while the lock is held (``public_write_wait`` seconds
in all, 5 by default); if the database is still busy, the write is appended
to a Redis list and the endpoint answers as if it were done. A worker job
(:func:`drain_deferred_writes`, queued at once and also run every minute by
the scheduler) applies the list in order and removes an entry only after its
write committed, so nothing accepted is lost, even when a worker dies.

A deferred write is a module-level function and JSON-like arguments, the
same contract as :func:`core.enqueue`; the function makes its writes in
:func:`core.write_transaction` and does any follow-up (queueing jobs) after
the commit. Delivery is at least once: a worker killed between the commit
and the removal applies the entry again, so functions skip what is already
done where that matters (e.g. an unsubscribe already recorded).
"""
from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass

from .db import db_proxy, is_contention, retry_on_contention
from .queue import dotted_path, enqueue, resolve
from .state import state

log = logging.getLogger("couvee.deferred_writes")

PENDING_KEY = "couvee:deferred_writes"
#: entries whose write failed for another reason than contention (kept for an admin)
FAILED_KEY = "couvee:deferred_writes:failed"
LOCK_KEY = "couvee:deferred_writes:lock"
LOCK_SECONDS = 300


@dataclass
class WriteOutcome:
    """``done``: written now (``result`` is the function's return value);
    otherwise queued, to be written by a worker shortly."""

    done: bool
    result: object = None


def write_or_defer(func, *args, **kwargs) -> WriteOutcome:
    """Write now if the database lets us within ``public_write_wait`` seconds,
    else queue the write durably. Errors other than contention propagate."""
    wait = state().config.public_write_wait
    try:
        return WriteOutcome(True, retry_on_contention(func, *args, wait=wait, **kwargs))
    except Exception as error:
        if not is_contention(error):
            raise
    defer_write(func, *args, **kwargs)
    return WriteOutcome(False)


def defer_write(func, *args, **kwargs) -> None:
    """Append the write to the durable list and queue a job that applies it."""
    entry = json.dumps({"id": secrets.token_hex(8), "path": dotted_path(func), "args": list(args),
                        "kwargs": kwargs})
    redis = state().redis
    redis.rpush(PENDING_KEY, entry)
    log.warning("database busy: write %s deferred to a worker", dotted_path(func))
    try:
        enqueue(drain_deferred_writes)
    except Exception:  # the periodic drain will apply it
        log.exception("could not queue the drain of deferred writes")


def pending_count() -> int:
    return state().redis.llen(PENDING_KEY)


def drain_deferred_writes(limit: int = 10000) -> int:
    """Worker job: apply the deferred writes in order, one drainer at a time;
    returns how many it handled (applied, or kept in the failed list because
    they raised something else than contention). Stops, leaving the rest for
    the next run, when the database stays busy."""
    redis = state().redis
    applied = 0
    while applied < limit:
        token = secrets.token_hex(8)
        if not redis.set(LOCK_KEY, token, nx=True, ex=LOCK_SECONDS):
            return applied  # another worker is draining
        try:
            done, busy = _drain_locked(redis, limit - applied)
            applied += done
        finally:
            if redis.get(LOCK_KEY) == token.encode():
                redis.delete(LOCK_KEY)
        # an entry pushed while we held the lock found it taken: look again
        if busy or not redis.llen(PENDING_KEY):
            return applied
    return applied


def _drain_locked(redis, limit: int) -> tuple[int, bool]:
    done = 0
    while done < limit:
        raw = redis.lindex(PENDING_KEY, 0)
        if raw is None:
            return done, False
        entry = json.loads(raw)
        try:
            retry_on_contention(resolve(entry["path"]), *entry["args"], database=db_proxy.obj, **entry["kwargs"])
        except Exception as error:
            if is_contention(error):
                log.warning("database still busy; %d deferred writes wait", redis.llen(PENDING_KEY))
                return done, True
            log.exception("deferred write %s failed; kept in %s", entry["path"], FAILED_KEY)
            redis.rpush(FAILED_KEY, json.dumps({**entry, "error": f"{type(error).__name__}: {error}"}))
        redis.lrem(PENDING_KEY, 1, raw)
        done += 1
    return done, False
