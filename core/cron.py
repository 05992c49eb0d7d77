"""``couvee cron``: enqueue periodic jobs on schedule with RQ's cron scheduler.

The schedule is rebuilt when the plugin state changes, so a newly activated
plugin's jobs start without a restart (a disabled plugin's jobs are also
skipped by the workers).
"""
from __future__ import annotations

import logging
import signal
import time

from rq.cron import CronScheduler

from .queue import run_task, dotted_path

log = logging.getLogger("couvee.cron")
RECHECK_SECONDS = 5


def build_scheduler(runtime) -> CronScheduler:
    state = runtime.state
    scheduler = CronScheduler(connection=state.redis, name=f"couvee-cron-{id(runtime)}")
    for job in state.registries.periodic_jobs:
        scheduler.register(
            run_task,
            queue_name=job.queue,
            args=(dotted_path(job.func), [], {}),
            interval=job.interval,
            cron=job.cron,
            job_timeout=job.timeout,
            name=job.id,
        )
    return scheduler


def run_cron(runtime, max_cycles: int | None = None) -> None:
    stopping = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.append(True))
    scheduler = build_scheduler(runtime)
    scheduler.register_birth()
    log.info("cron: %d periodic job(s)", len(scheduler.get_jobs()))
    cycles = 0
    try:
        while not stopping and (max_cycles is None or cycles < max_cycles):
            cycles += 1
            if runtime.refresh(force_check=True):
                scheduler.register_death()
                scheduler = build_scheduler(runtime)
                scheduler.register_birth()
                log.info("cron: plugins changed, %d periodic job(s)", len(scheduler.get_jobs()))
            if scheduler.enqueue_jobs():
                scheduler.save()
            scheduler.heartbeat()
            pause = min(scheduler.calculate_sleep_interval(), RECHECK_SECONDS)
            deadline = time.monotonic() + pause
            while not stopping and time.monotonic() < deadline:
                time.sleep(min(0.2, pause))
    finally:
        scheduler.register_death()
