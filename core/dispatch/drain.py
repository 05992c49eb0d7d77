"""The drain job: dispatch undispatched events in claimed batches for a short
time slice, retry the due deliveries, then hand the flag to a successor when
work remains or release it.

Time-sliced so that a worker serving several queues in turn (round robin)
gets back to newsletters, periodic jobs and imports within seconds even when
10,000 events wait.
"""
from __future__ import annotations

import logging
import time

from flask import g
from rq import get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from . import outbox, signal
from .deliveries import Deliverer, has_due

log = logging.getLogger("couvee.dispatch")

#: a drain stops claiming new batches after this many seconds
SLICE_SECONDS = 2.0
BATCH = 100
#: a drain that finds nothing at all waits this long, in steps, for the
#: transaction of the emitter that signalled it to commit
LATE_COMMIT_WAITS = (0.1, 0.2, 0.3, 0.4)
#: seconds the sweep waits before deciding that a flag's job does not exist
ENQUEUE_GRACE = 0.5


def drain_events() -> dict:
    """The job queued by :func:`core.dispatch.signal.request_drain`."""
    job = get_current_job()
    me = job.id if job is not None else None
    signal.refresh(me)
    deadline = time.monotonic() + SLICE_SECONDS
    deliverer = Deliverer()
    retried = deliverer.retry_due(deadline)
    dispatched = _dispatch_until(deliverer, deadline, me)
    if not dispatched and not retried:
        dispatched = _wait_for_late_commits(deliverer, me)
    if _work_left():
        signal.hand_over(me)
    else:
        signal.release(me)
        if _work_left():  # emitted between our last look and the release: its emitter saw our flag
            signal.request_drain()
    if g.get("couvee_job_events"):
        g.couvee_job_events = 0  # what the plugins emitted was seen above: run_task needn't signal
    return {"dispatched": dispatched, "retried": retried}


def _dispatch_until(deliverer: Deliverer, deadline: float, me: str | None) -> int:
    token, total = outbox.new_token(), 0
    while True:  # at least one batch, however short the slice
        events = outbox.claim(token, BATCH)
        if not events:
            return total
        _deliver_batch(deliverer, token, events)
        total += len(events)
        signal.refresh(me)
        if time.monotonic() >= deadline:
            return total


def _wait_for_late_commits(deliverer: Deliverer, me: str | None) -> int:
    for pause in LATE_COMMIT_WAITS:
        time.sleep(pause)
        if outbox.has_free_work():
            return _dispatch_until(deliverer, time.monotonic() + SLICE_SECONDS, me)
    return 0


def _deliver_batch(deliverer: Deliverer, token: str, events) -> None:
    for event in events:
        deliverer.deliver(event)
    outbox.mark_dispatched(token, [event.id for event in events])


def _work_left() -> bool:
    return outbox.has_free_work() or has_due()


def dispatch_now(event_ids: list[int]) -> int:
    """Dispatch these events in this process, now (those not already
    dispatched nor claimed by a drain); return how many were dispatched."""
    deliverer, token, total = Deliverer(), outbox.new_token(), 0
    ids = list(event_ids)
    for start in range(0, len(ids), BATCH):
        events = outbox.claim(token, BATCH, ids=ids[start:start + BATCH])
        _deliver_batch(deliverer, token, events)
        total += len(events)
    return total


def sweep() -> int:
    """Periodic safety net, idempotent: when undispatched events or due
    retries exist and no live drain holds the flag, signal one. Returns the
    number of drain jobs queued (0 or 1)."""
    if not _work_left():
        return 0
    current = signal.holder()
    if current is not None and _alive(current):
        return 0
    if current is not None:
        log.warning("the event drain %s is gone; queueing another", current)
        signal.release(current, quiet=True)
    return int(signal.request_drain())


def _alive(job_id: str) -> bool:
    from flask import current_app

    redis = current_app.extensions["couvee"].redis
    for pause in (0, ENQUEUE_GRACE):
        time.sleep(pause)  # the flag is set just before its job is queued: look twice
        try:
            status = Job.fetch(job_id, connection=redis).get_status()
        except NoSuchJobError:
            continue
        return status in (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED)
    return False
