"""A worker stops promptly: RQ's command listener must not hold a burst
worker (or ``couvee worker`` on SIGTERM) for the minute its read can block."""
from __future__ import annotations

import time

from core.queue import make_worker


def test_burst_workers_stop_without_waiting_for_the_command_listener(wsgi):
    runtime = wsgi.runtime
    started = time.monotonic()
    for _ in range(3):
        worker = make_worker(runtime, simple=True)
        worker.work(burst=True, with_scheduler=False)
        assert worker.pubsub_thread is not None and not worker.pubsub_thread.is_alive()
    # before the fix one of these could wait 60 s for the listener's read
    assert time.monotonic() - started < 30
