"""The drain job: dispatch undispatched events in claimed batches for a short
time slice, retry the due deliveries, then hand the flag to a successor when
work remains or release it.

Time-sliced so that a worker serving several queues in turn (round robin)
gets back to newsletters, periodic jobs and imports within seconds even when
10,000 events wait.
"""
from __future__ import annotations

import logging
import random
import time

from flask import g
from rq import get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from . import outbox, partitions, signal
from .deliveries import Deliverer, has_due
from .memo import batch_scope

log = logging.getLogger("couvee.dispatch")

#: a drain stops claiming new batches after this many seconds
SLICE_SECONDS = 2.0
BATCH = 100
#: a drain that finds nothing at all waits this long, in steps, for the
#: transaction of the emitter that signalled it to commit
LATE_COMMIT_WAITS = (0.1, 0.2, 0.3, 0.4)
#: seconds the sweep waits before deciding that a flag's job does not exist
ENQUEUE_GRACE = 0.5
#: a drain looks for partitions nobody works on at most this often (seconds)
FAN_OUT_EVERY = 0.5


def drain_events(slot: int = 0, late_commits: bool = True) -> dict:
    """The job queued by :func:`core.dispatch.signal.request_drain` (``slot``
    is the drain flag it holds, see :mod:`.signal`). ``late_commits``: finding
    nothing, wait a little for the emitter's transaction (only a drain an
    emitter or the sweep asked for; successors and extra drains do not)."""
    job = get_current_job()
    me = job.id if job is not None else None
    signal.refresh(me, slot)
    drainer = Drainer(Deliverer(), me, slot)
    try:
        dispatched = drainer.run(time.monotonic() + SLICE_SECONDS)
        if not dispatched and not drainer.retried and late_commits:
            dispatched = _wait_for_late_commits(drainer)
    finally:
        drainer.leave()
    if _work_left_for_me():
        signal.hand_over(me, slot)
    else:
        signal.release(me, slot)
        if _work_left():  # emitted between our last look and the release: its emitter saw our flag
            signal.request_drain()
    if g.get("couvee_job_events"):
        g.couvee_job_events = 0  # what the plugins emitted was seen above: run_task needn't signal
    return {"dispatched": dispatched, "retried": drainer.retried, "partitions": sorted(drainer.visited)}


class Drainer:
    """One drain's work: batch after batch, from the partition it holds,
    moving to a partition with interactive events waiting as soon as one
    appears (the priority lane), asking for more drains while a backlog
    waits in partitions nobody works on."""

    def __init__(self, deliverer: Deliverer, me: str | None, slot: int):
        self.deliverer, self.me, self.slot = deliverer, me, slot
        self.token = outbox.new_token()
        self.current: int | None = None
        self.retried, self.visited = 0, set()
        self.deadline = 0.0
        self.fanned_out_at = 0.0
        self.start = random.randrange(partitions.count())

    def run(self, deadline: float) -> int:
        self.deadline, total = deadline, 0
        while True:  # at least one batch, however short the slice
            events = self.next_batch()
            if not events:
                return total
            _deliver_batch(self.deliverer, self.token, events)
            total += len(events)
            signal.refresh(self.me, self.slot)
            partitions.refresh(self.current, self.token)
            if len(events) >= BATCH:
                self.fan_out()
            if time.monotonic() >= deadline:
                return total

    def candidates(self) -> list[int]:
        count = partitions.count()
        ring = [(self.start + step) % count for step in range(count)]
        first = outbox.urgent_partitions() + ([self.current] if self.current is not None else [])
        return list(dict.fromkeys(first + ring))

    def next_batch(self) -> list:
        for partition in self.candidates():
            if partition != self.current:
                if not partitions.lock(partition, self.token):
                    continue  # another drain works there
                self.leave()
                self.current = partition
                self.visited.add(partition)
                self.retried += self.deliverer.retry_due(self.deadline, partition=partition)
            events = outbox.claim(self.token, BATCH, partition=partition)
            if events:
                return events
        return []

    def leave(self) -> None:
        if self.current is not None:
            partitions.unlock(self.current, self.token)
            self.current = None

    def fan_out(self) -> None:
        """A full batch: a backlog. When free work waits in partitions no
        drain holds and fewer drains exist than partitions worked on, queue one more."""
        now = time.monotonic()
        if now - self.fanned_out_at < FAN_OUT_EVERY:
            return
        self.fanned_out_at = now
        locked = partitions.locked()
        if len(locked) < partitions.count() and outbox.has_claimable_work(locked):
            signal.request_more(busy=len(locked))


def _wait_for_late_commits(drainer: Drainer) -> int:
    if outbox.has_free_work():
        return 0  # there is work, but other drains hold its partitions
    for pause in LATE_COMMIT_WAITS:
        time.sleep(pause)
        if outbox.has_free_work():
            return drainer.run(time.monotonic() + SLICE_SECONDS)
    return 0


def _deliver_batch(deliverer: Deliverer, token: str, events) -> None:
    with batch_scope():  # plugins may read their definitions once for the batch (core.batch_memo)
        for event in events:
            deliverer.deliver(event)
    outbox.mark_dispatched(token, [event.id for event in events])


def _work_left_for_me() -> bool:
    """Work a successor of this drain could do: due retries, or free events
    in a partition no other drain holds (those that do hand over on their own)."""
    return has_due() or outbox.has_claimable_work(partitions.locked())


def _work_left() -> bool:
    """Work a drain could do now (events of a contact held by another live
    claim wait for it: the sweep signals once the claim has run out)."""
    return outbox.has_claimable_work() or has_due()


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
    """Periodic safety net, idempotent: frees the slots of drains that are
    gone, then, when undispatched events or due retries exist and no live
    drain holds a slot, signals one. Returns the number of drain jobs queued
    (0 or 1)."""
    if not _work_left():
        return 0
    live = False
    for slot, current in signal.holders().items():
        if _alive(current):
            live = True
            continue
        log.warning("the event drain %s is gone; queueing another", current)
        signal.release(current, slot, quiet=True)
    return 0 if live else int(signal.request_drain())


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
