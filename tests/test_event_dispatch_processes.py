"""Event dispatch with real ``couvee worker`` processes: a backlog of 30,000
events holds back no other queue, and a worker SIGKILLed mid-backlog neither
floods the ``events`` queue nor loses an event."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time

import time_machine

from core import emit_many, enqueue
from core.dispatch import outbox, partitions, signal
from core.events import sweep_undispatched
from core.models import Contact, Event, utcnow
from core.queue import get_queue
from plugins.segments import Segment, SegmentMember

from .dispatch_probes import STARTED, note_start
from .test_email_newsletter import _worker_env, kill_with_work_horses


def backlog(total: int, contacts: int = 200) -> None:
    """``total`` undispatched page visits over ``contacts`` contacts, one drain signalled."""
    now = utcnow()
    Contact.insert_many([{"email": f"b{i}@example.com", "created_at": now, "updated_at": now}
                         for i in range(contacts)]).execute()
    ids = [c.id for c in Contact.select(Contact.id)]
    for start in range(0, total, 1000):
        emit_many([{"contact": ids[n % len(ids)], "kind": "page_visited",
                    "data": {"url": f"https://ex.com/p{n}"}} for n in range(start, min(total, start + 1000))],
                  dispatch=False)
    assert signal.request_drain(), f"a drain was already signalled: {signal.holders()}"


def start_worker(wsgi, *options: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "core.cli", "worker", *options], env=_worker_env(wsgi),
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def dispatched() -> int:
    return Event.select().where(Event.dispatched_at.is_null(False)).count()


def wait_until(condition, timeout: float = 120.0, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"still waiting after {timeout} s")


def expire_drains(redis) -> None:
    """What a minute does to a killed worker's drains: their slot flags and
    partition locks expire."""
    for key in signal.flags() + [partitions.LOCK.format(n) for n in range(partitions.count())]:
        redis.pexpire(key, 1)
    time.sleep(0.01)


def events_jobs() -> int:
    queue = get_queue("events")
    return queue.count + queue.started_job_registry.count


def test_a_backlog_of_events_holds_back_no_other_queue(wsgi, ctx, smtp_sink):
    from plugins.email import newsletters
    from plugins.email.models import Newsletter

    from .test_email_send import configure

    # ~15 s of dispatch for one worker, the newsletter taking ~6 s (30,000 left too thin a margin once
    # dispatch got faster): the other queues' jobs must not wait for it
    total = 60_000
    backlog(total)
    configure(smtp_sink)
    readers = Segment.create(name="Readers", kind="static")
    SegmentMember.insert_many([{"segment": readers.id, "contact": c.id} for c in Contact.select().limit(3)]).execute()
    newsletter = Newsletter.create(name="News", subject="News", content="<p>News</p>", segments=[readers.id])
    worker = start_worker(wsgi)  # one worker, every queue, as `couvee worker` runs by default
    try:
        wait_until(dispatched)  # the drain is under way
        queued_at = time.time()
        for queue in ("default", "email", "import"):
            enqueue(note_start, queue, queued_at, queue=queue)
        assert not newsletters.start(newsletter).errors
        redis = ctx.extensions["couvee"].redis
        wait_until(lambda: redis.hlen(STARTED) == 3)
        started = {key.decode(): json.loads(value) for key, value in redis.hgetall(STARTED).items()}
        smtp_sink.wait_for(3, timeout=120)
        sent_at, waiting_when_sent = time.time(), total - dispatched()
    finally:
        kill_with_work_horses(worker.pid)
        worker.wait(timeout=30)
    # each began while most of the backlog still waited: none queued behind it
    for queue, seen in started.items():
        assert seen["waiting"] > total // 2, (queue, seen)
    assert len(smtp_sink.messages) == 3 and waiting_when_sent > 0  # the newsletter went out before the backlog was done
    print("started after (s):", {queue: round(seen["delay"], 2) for queue, seen in started.items()},
          "newsletter sent after (s):", round(sent_at - queued_at, 2), "events still waiting:", waiting_when_sent)


def forget_stale_drains(redis) -> None:
    """Expire drain flags left over from an earlier test's killed worker (a
    busy machine failed this test's first signal twice in full runs, never
    alone), printing who held them: shown if the test fails later."""
    held = signal.holders()
    if held:
        ps = subprocess.run(["ps", "-eo", "pid,ppid,etimes,args"], capture_output=True, text=True).stdout
        print("stale drain flags:", held, {key: redis.ttl(key) for key in signal.flags()}, ps[-3000:], sep="\n")
        expire_drains(redis)


def test_a_worker_killed_mid_backlog_neither_floods_the_queue_nor_loses_events(wsgi, ctx, run_jobs):
    total = 3_000
    forget_stale_drains(ctx.extensions["couvee"].redis)
    backlog(total)
    worker = start_worker(wsgi, "--queue", "events")
    most_jobs = 0

    def progress():
        nonlocal most_jobs
        most_jobs = max(most_jobs, events_jobs())
        return dispatched() >= total // 5

    try:
        wait_until(progress, step=0.02)
    finally:
        kill_with_work_horses(worker.pid)
        worker.wait(timeout=30)
    slots = partitions.count()
    assert most_jobs <= 2 * slots  # per drain slot: the running drain and, at most, its successor
    assert 0 < total - dispatched() < total

    for _ in range(10):  # the sweep runs every minute, whatever happened
        sweep_undispatched()
        assert get_queue("events").count <= slots
    expire_drains(ctx.extensions["couvee"].redis)  # the dead drains' flags and partition locks run out
    with time_machine.travel(utcnow() + outbox.LEASE + dt.timedelta(seconds=5)):  # and their claims
        time.sleep(0.01)
        sweep_undispatched()
        assert sweep_undispatched() == 0
        assert get_queue("events").count <= slots + 1  # a new drain, and the dead ones' successors
        run_jobs(queues=("events",))  # a new worker
    assert Event.select().where(Event.dispatched_at.is_null()).count() == 0
    assert Event.select().where(Event.claimed_by.is_null(False)).count() == 0
    assert get_queue("events").count == 0 and signal.holder() is None
