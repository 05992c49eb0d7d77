"""The dashboard's "Background work" panel in words: how many jobs wait in
each queue and for how long, what failed, what is scheduled for later, and
whether a worker is there to run them."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from rq import Worker

from ..i18n import core_domain, current_language
from ..models import utcnow
from ..queue import get_queue, plugin_queues, queue_names

_, _l = core_domain().pair()
ngettext = core_domain().ngettext

#: what each of core's queues carries, in a user's words (a plugin's queue
#: says it in the plugin's manifest: ``[queues.NAME] label``)
QUEUE_WORK = {
    "events": _l("Reactions to contact activity"),
    "default": _l("Automations and routine work"),
    "low": _l("Maintenance"),
}


def queue_work() -> dict[str, str]:
    """Queue name -> what it carries, in the current language, every queue."""
    language = current_language()
    work = {name: str(label) for name, label in QUEUE_WORK.items()}
    work.update((queue.name, info.queue_label_in(queue, language)) for info, queue in plugin_queues())
    return work


@dataclass
class QueueLine:
    name: str
    work: str
    waiting: int
    failed: int
    scheduled: int
    oldest_seconds: float | None

    @property
    def sentence(self) -> str:
        parts = []
        if self.waiting:
            parts.append(ngettext("%(num)d job waiting, the oldest for %(duration)s",
                                  "%(num)d jobs waiting, the oldest for %(duration)s", self.waiting,
                                  duration=duration(self.oldest_seconds)))
        if self.scheduled:
            parts.append(ngettext("%(num)d job scheduled for later", "%(num)d jobs scheduled for later",
                                  self.scheduled))
        if self.failed:
            parts.append(ngettext("%(num)d job failed", "%(num)d jobs failed", self.failed))
        return _("%(work)s: %(details)s.", work=self.work, details="; ".join(parts))


@dataclass
class BackgroundSummary:
    workers: int
    queues: list[QueueLine]

    @property
    def busy(self) -> list[QueueLine]:
        """Queues with something to say (waiting, scheduled or failed jobs)."""
        return [q for q in self.queues if q.waiting or q.scheduled or q.failed]

    @property
    def waiting(self) -> int:
        return sum(q.waiting for q in self.queues)


def background_summary(redis) -> BackgroundSummary:
    now = utcnow()
    lines = []
    work = queue_work()
    for name in queue_names():
        queue = get_queue(name, connection=redis)
        waiting = queue.count
        lines.append(QueueLine(name, work[name], waiting, queue.failed_job_registry.count,
                               queue.scheduled_job_registry.count, _oldest_wait(queue, now) if waiting else None))
    return BackgroundSummary(len(Worker.all(connection=redis)), lines)


def _oldest_wait(queue, now) -> float | None:
    """Seconds the job at the head of ``queue`` has been waiting."""
    ids = queue.get_job_ids(0, 1)
    job = queue.fetch_job(ids[0]) if ids else None
    if job is None or job.enqueued_at is None:
        return None
    enqueued = job.enqueued_at if job.enqueued_at.tzinfo else job.enqueued_at.replace(tzinfo=dt.timezone.utc)
    return max((now - enqueued).total_seconds(), 0.0)


def duration(seconds: float | None) -> str:
    """``"less than a minute"``, ``"3 minutes"``, ``"2 hours"``, ``"4 days"``."""
    if seconds is None or seconds < 60:
        return _("less than a minute")
    if seconds >= 86400:
        return ngettext("%(num)d day", "%(num)d days", int(seconds // 86400))
    if seconds >= 3600:
        return ngettext("%(num)d hour", "%(num)d hours", int(seconds // 3600))
    return ngettext("%(num)d minute", "%(num)d minutes", int(seconds // 60))
