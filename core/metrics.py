"""What an operator watches, in the Prometheus text format, at ``GET /metrics``.

For sites that run several web and worker hosts (docs/deployment.md): how
much work waits in each RQ queue and for how long, what runs now, what
failed, how far the event dispatch lags behind, how many workers are alive,
and the gauges plugins add (``metrics_gauges``, e.g. how many tracking hits
wait to be stored). Every value is read when the
page is scraped (queue lengths from Redis, the outbox from the database), so
any web process answers the same; nothing is kept between scrapes.

The page is not public: it answers to an API key like the REST API
(``Authorization: Bearer cv_...``; 401 without one). Give the scraper the key
of a user made for it. Example scrape config::

    scrape_configs:
      - job_name: couvee
        metrics_path: /metrics
        authorization: {type: Bearer, credentials_file: /etc/prometheus/couvee.key}
        static_configs: [{targets: ["couvee.example.com:443"]}]
        scheme: https
"""
from __future__ import annotations

import datetime as dt
import logging

from flask import Blueprint, Response, current_app
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from rq import Queue, Worker
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

from .auth import api_key_required
from .models import Event, EventDelivery, utcnow
from .queue import plugin_queues, queue_names
from .state import state

log = logging.getLogger("couvee.metrics")

#: the families core writes itself (a plugin's gauge may not take one of these names)
CORE_GAUGES = frozenset({
    "couvee_queue_jobs", "couvee_queue_oldest_job_age_seconds", "couvee_queue_jobs_started",
    "couvee_queue_jobs_scheduled", "couvee_queue_jobs_failed", "couvee_sends_in_progress",
    "couvee_events_undispatched", "couvee_events_dispatch_lag_seconds", "couvee_event_deliveries",
    "couvee_workers",
})

metrics_blueprint = Blueprint("metrics", __name__)


@metrics_blueprint.route("/metrics", endpoint="scrape")
@api_key_required
def scrape():
    registry = CollectorRegistry(auto_describe=False)
    registry.register(CouveeCollector(current_app.extensions["couvee"].redis, utcnow()))
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


class CouveeCollector:
    """One scrape's worth of gauges (a prometheus-client custom collector)."""

    def __init__(self, redis, now: dt.datetime):
        self.redis = redis
        self.now = now

    def collect(self):
        yield from self.queue_metrics()
        yield from self.event_metrics()
        yield self.gauge("couvee_workers", "RQ workers alive (registered in Redis).",
                         Worker.count(connection=self.redis))
        yield from self.plugin_metrics()

    def plugin_metrics(self):
        """The active plugins' gauges (``metrics_gauges``); a name already on
        the page, or a gauge that is not a number, is left out and logged."""
        seen = set(CORE_GAUGES)
        for plugin, gauges in state().hooks.call("metrics_gauges"):
            for gauge in gauges:
                try:
                    family = self.gauge(gauge.name, gauge.documentation, gauge.value)
                except (AttributeError, TypeError, ValueError) as error:
                    log.error("plugin %s returned a bad gauge %r: %s", plugin, gauge, error)
                    continue
                if gauge.name in seen:
                    log.error("plugin %s returned the gauge %s, already on the page", plugin, gauge.name)
                    continue
                seen.add(gauge.name)
                yield family

    def queue_metrics(self):
        waiting = GaugeMetricFamily("couvee_queue_jobs", "Jobs waiting in the queue.", labels=["queue"])
        age = GaugeMetricFamily("couvee_queue_oldest_job_age_seconds",
                                "How long the oldest waiting job has waited (0 when none): the queue's lag.",
                                labels=["queue"])
        started = GaugeMetricFamily("couvee_queue_jobs_started", "Jobs running now.", labels=["queue"])
        scheduled = GaugeMetricFamily("couvee_queue_jobs_scheduled", "Jobs scheduled for later (delays, retries).",
                                      labels=["queue"])
        failed = GaugeMetricFamily("couvee_queue_jobs_failed", "Jobs in the failed registry.", labels=["queue"])
        sends = 0
        send_queues = [queue.name for _, queue in plugin_queues() if queue.sends]
        for name in queue_names():
            queue = Queue(name, connection=self.redis)
            waiting.add_metric([name], queue.count)
            age.add_metric([name], self.oldest_age(queue))
            running = StartedJobRegistry(queue=queue).count
            started.add_metric([name], running)
            scheduled.add_metric([name], ScheduledJobRegistry(queue=queue).count)
            failed.add_metric([name], FailedJobRegistry(queue=queue).count)
            if name in send_queues:
                sends += running
        yield from (waiting, age, started, scheduled, failed)
        yield self.gauge("couvee_sends_in_progress",
                         "Send jobs running now (started jobs on the queues plugins declare as sending: "
                         f"{', '.join(send_queues) or 'none'}).", sends)

    def oldest_age(self, queue: Queue) -> float:
        for job in queue.get_jobs(0, 1):
            if job is not None and job.enqueued_at is not None:
                return max(0.0, (self.now - _aware(job.enqueued_at)).total_seconds())
        return 0.0

    def event_metrics(self):
        waiting = Event.dispatched_at.is_null()
        yield self.gauge("couvee_events_undispatched", "Events recorded and not yet dispatched to the plugins.",
                         Event.select().where(waiting).count())
        oldest = Event.select(Event.created_at).where(waiting).order_by(Event.created_at).first()
        lag = max(0.0, (self.now - _aware(oldest.created_at)).total_seconds()) if oldest else 0.0
        yield self.gauge("couvee_events_dispatch_lag_seconds",
                         "Age of the oldest undispatched event (0 when none).", lag)
        deliveries = GaugeMetricFamily("couvee_event_deliveries",
                                       "Plugin reactions to events that raised: waiting for a retry, or given up.",
                                       labels=["status"])
        for status in ("retrying", "failed"):
            deliveries.add_metric([status], EventDelivery.select().where(EventDelivery.status == status).count())
        yield deliveries

    @staticmethod
    def gauge(name: str, documentation: str, value) -> GaugeMetricFamily:
        return GaugeMetricFamily(name, documentation, value=float(value))


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.timezone.utc)
