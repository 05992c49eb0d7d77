"""Background work on RQ.

``enqueue(func, *args)`` queues a module-level function; the job really runs
:func:`run_task`, which (in the worker) imports the function, checks that the
plugin owning it is still active, and calls it inside the app context with a
database connection open. A disabled plugin's queued jobs are skipped, in any
worker, without a restart.

Core's queues: ``events`` (event drain jobs), ``default`` (periodic jobs,
recoveries, workflow steps) and ``low`` (maintenance). A plugin declares
queues of its own in its manifest (``[queues.NAME]`` in ``plugin.toml``, see
``core.plugins.discovery``), e.g. the email plugin's ``email``. Workers serve
core's queues and those of every discovered plugin, active or not, so jobs
queued before a plugin was deactivated are taken (and skipped) rather than
left behind. ``couvee worker`` serves them in turn (round robin) and ``couvee
serve`` adds a worker for ``events`` alone; see docs/architecture.md, "Queues
and workers".
"""
from __future__ import annotations

import datetime as dt
import importlib
import logging

from flask import current_app
from rq import Queue, Worker
from rq.worker import SimpleWorker

from .plugins.discovery import CORE_QUEUES, DeclaredQueue, PluginInfo

log = logging.getLogger("couvee.queue")

SKIPPED = "skipped"


def _state():
    return current_app.extensions["couvee"]


def plugin_queues(discovered: dict[str, PluginInfo] | None = None) -> list[tuple[PluginInfo, DeclaredQueue]]:
    """The queues the discovered plugins declare, each with its plugin (the
    first to declare a name owns it), in discovery order."""
    if discovered is None:
        discovered = _state().host.discovered
    found, seen = [], set()
    for info in discovered.values():
        for queue in info.queues:
            if queue.name not in seen:
                seen.add(queue.name)
                found.append((info, queue))
    return found


def queue_names(discovered: dict[str, PluginInfo] | None = None) -> tuple[str, ...]:
    """Every queue a worker serves: ``events`` and ``default``, the plugins'
    queues, then ``low``."""
    declared = tuple(queue.name for _, queue in plugin_queues(discovered))
    return CORE_QUEUES[:2] + declared + CORE_QUEUES[2:]


def get_queue(name: str = "default", connection=None) -> Queue:
    known = queue_names()
    if name not in known:
        raise ValueError(f"unknown queue {name!r}; use one of {', '.join(known)}")
    return Queue(name, connection=connection or _state().redis)


def dotted_path(func) -> str:
    if not callable(func) or "<" in func.__qualname__:
        raise ValueError("enqueue needs a module-level function")
    return f"{func.__module__}:{func.__qualname__}"


def enqueue(
    func,
    *args,
    queue: str = "default",
    at: dt.datetime | None = None,
    delay: dt.timedelta | None = None,
    job_id: str | None = None,
    timeout: int = 600,
    retries: int = 0,
    **kwargs,
):
    """Run ``func(*args, **kwargs)`` in a worker, now, at ``at`` or after ``delay``.

    Arguments must be JSON-like (ids, not model instances). ``job_id`` names
    the job, so it can be found (``Job.fetch``) or scheduled again (with
    ``at``/``delay``, the same id keeps one entry, at the time given last). It
    does not make a second enqueue a no-op: queued twice for now, the job
    runs twice. Check first when that matters (as the newsletter's
    ``start_drainers`` does), and write jobs so a second run changes nothing.
    """
    from rq import Retry

    q = get_queue(queue)
    options = {"job_timeout": timeout, "result_ttl": 3600, "failure_ttl": 7 * 86400}
    if job_id:
        options["job_id"] = job_id
    if retries:
        options["retry"] = Retry(max=retries, interval=[10, 60, 300][: min(retries, 3)])
    payload = (dotted_path(func), list(args), kwargs)
    if at is not None:
        return q.enqueue_at(at, run_task, *payload, **options)
    if delay is not None:
        return q.enqueue_in(delay, run_task, *payload, **options)
    return q.enqueue(run_task, *payload, **options)


def work_waiting_elsewhere(queue: str) -> bool:
    """Whether a job waits in a queue other than ``queue``: a long job (a
    newsletter's send) that has run for a while ends there and queues its
    continuation, so that a worker serving its queues in turn gets to that
    job first (a workflow step, an import, a periodic job), e.g.::

        if time.monotonic() - started > SLICE_SECONDS and work_waiting_elsewhere("email"):
            enqueue(send_more, newsletter_id, queue="email")
            return "goes on in a new job"
    """
    state = _state()
    names = [name for name in queue_names(state.host.discovered) if name != queue]
    pipe = state.redis.pipeline(transaction=False)
    for name in names:
        pipe.llen(Queue(name, connection=state.redis).key)
    return any(pipe.execute())


def resolve(path: str):
    module_name, _, qualname = path.partition(":")
    target = importlib.import_module(module_name)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


def run_task(path: str, args: list, kwargs: dict):
    """What every Couvée job runs (inside the worker's app context)."""
    state = _state()
    module_name = path.partition(":")[0]
    owner = state.host.owner_of(module_name)
    if owner is not None and not state.host.is_active(owner):
        log.info("skipped %s: plugin %s is not active", path, owner)
        return SKIPPED
    from flask import g

    from .dispatch import request_drain

    outer = g.get("couvee_job_events")
    g.couvee_job_events = 0  # counted by core.events.events_recorded
    try:
        return resolve(path)(*args, **kwargs)
    finally:
        # the job's own writes are committed now: one drain signal for what it emitted
        emitted, g.couvee_job_events = g.couvee_job_events, outer
        if emitted:
            request_drain()


class _AppWorkerMixin:
    """A worker that builds its app through the same factory as the web, and
    rebuilds it when the plugin state changes (checked before each job)."""

    def __init__(self, *args, runtime, **kwargs):
        self.runtime = runtime
        super().__init__(*args, **kwargs)

    def execute_job(self, job, queue):
        self.runtime.refresh(force_check=True)
        return super().execute_job(job, queue)

    def perform_job(self, job, queue, *args, **kwargs):
        app = self.runtime.app
        with app.app_context():
            with _state().database_connection():
                return super().perform_job(job, queue, *args, **kwargs)

    #: seconds the command listener (suspend, stop-job...) blocks on one read
    COMMAND_POLL_SECONDS = 1

    def subscribe(self):
        """Listen for RQ's worker commands with a short read timeout.

        RQ's own listener blocks 60 s per read, and redis-py 8 waits for that
        read to end when the listener stops: every worker shutdown (a burst
        worker emptying its queues, ``couvee worker`` on SIGTERM) then took up
        to a minute."""
        self.log.info("Worker %s: subscribing to channel %s", self.name, self.pubsub_channel_name)
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = self.pubsub.run_in_thread(
            sleep_time=self.COMMAND_POLL_SECONDS, daemon=True,
            exception_handler=self._pubsub_exception_handler,
        )


class CouveeWorker(_AppWorkerMixin, Worker):
    """Forks a work horse per job (isolation, hard timeouts). Production default."""


class CouveeSimpleWorker(_AppWorkerMixin, SimpleWorker):
    """Runs jobs in its own process; used by tests and ``couvee worker --simple``."""


def make_worker(runtime, queues=None, simple: bool = False, name: str | None = None):
    """A worker on ``queues`` (default: all of them, see :func:`queue_names`)."""
    state = runtime.app.extensions["couvee"]
    connection = state.redis
    if queues is None:
        queues = queue_names(state.host.discovered)
    worker_class = CouveeSimpleWorker if simple else CouveeWorker
    return worker_class(
        [Queue(q, connection=connection) for q in queues],
        connection=connection,
        runtime=runtime,
        name=name,
    )
