"""/metrics as Prometheus scrapes it: an API key, the text format, and numbers
that follow what the queues, the outbox and the tracking stream hold."""
from __future__ import annotations

import datetime as dt
import urllib.error
import urllib.request

import time_machine
from prometheus_client.parser import text_string_to_metric_families

from core import auth
from core.contacts import create_contact
from core.events import emit_many
from core.models import utcnow
from core.queue import enqueue, queue_names
from plugins.tracking.ingest import STREAM

from .conftest import login


def wait_a_little() -> None:
    """A job that does nothing (queued, never run, in the lag test)."""


def break_down() -> None:
    raise RuntimeError("this job fails on purpose")


def note_sends_in_progress() -> None:
    """A send-queue job that reads the metrics while it runs."""
    from flask import current_app

    from core.metrics import CouveeCollector

    redis = current_app.extensions["couvee"].redis
    families = {family.name: family for family in CouveeCollector(redis, utcnow()).collect()}
    redis.set("test:sends_in_progress", families["couvee_sends_in_progress"].samples[0].value)


def scrape(web, key: str | None = None, expect_errors: bool = False):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return web.get("/metrics", headers=headers, expect_errors=expect_errors)


def samples(text: str) -> dict:
    """{(metric name, labels as a sorted tuple): value} from the text format."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def one(found: dict, name: str, **labels) -> float:
    return found[(name, tuple(sorted(labels.items())))]


def test_metrics_are_not_public_a_key_is_needed(web, ctx, admin_user):
    _, key = auth.create_api_key(auth.create_user("scraper@example.com", "x" * 12, role="sales"), "prometheus")

    assert scrape(web, expect_errors=True).status_int == 401
    refused = scrape(web, "cv_nope_nope", expect_errors=True)
    assert refused.status_int == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer")
    login(web)  # an admin's browser session is not a key
    assert scrape(web, expect_errors=True).status_int == 401

    answer = scrape(web, key)
    assert answer.status_int == 200
    assert answer.content_type == "text/plain"
    assert "# HELP couvee_queue_jobs Jobs waiting in the queue." in answer.text


def test_a_revoked_key_is_refused(web, ctx):
    row, key = auth.create_api_key(auth.create_user("scraper@example.com", "x" * 12, role="sales"), "prometheus")
    assert scrape(web, key).status_int == 200
    row.revoked_at = utcnow()
    row.save()
    assert scrape(web, key, expect_errors=True).status_int == 401


def test_an_idle_site_reports_zeros_for_every_queue(web, ctx):
    _, key = auth.create_api_key(auth.create_user("scraper@example.com", "x" * 12, role="sales"), "prometheus")
    found = samples(scrape(web, key).text)
    assert queue_names() == ("events", "default", "email", "import", "low")  # core's, then the plugins'
    for queue in queue_names():
        for name in ("couvee_queue_jobs", "couvee_queue_oldest_job_age_seconds", "couvee_queue_jobs_started",
                     "couvee_queue_jobs_scheduled", "couvee_queue_jobs_failed"):
            assert one(found, name, queue=queue) == 0, (name, queue)
    assert one(found, "couvee_events_undispatched") == 0
    assert one(found, "couvee_events_dispatch_lag_seconds") == 0
    assert one(found, "couvee_sends_in_progress") == 0
    assert one(found, "couvee_tracking_hits_waiting") == 0
    assert one(found, "couvee_event_deliveries", status="retrying") == 0


def test_queue_lengths_lag_failures_and_the_outbox_follow_the_work(web, ctx, run_jobs):
    _, key = auth.create_api_key(auth.create_user("scraper@example.com", "x" * 12, role="sales"), "prometheus")
    redis = ctx.extensions["couvee"].redis
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)
    with time_machine.travel(start, tick=False):
        for _ in range(3):
            enqueue(wait_a_little, queue="import")
        enqueue(break_down, queue="low")
        contact = create_contact({"email": "ada@example.com"})
        emit_many([{"contact": contact, "kind": "page_visited", "data": {"url": f"https://shop.test/{n}"}}
                   for n in range(4)], dispatch=False)
    redis.xadd(STREAM, {"d": "{}"})
    redis.xadd(STREAM, {"d": "{}"})

    with time_machine.travel(start + dt.timedelta(seconds=90), tick=False):
        found = samples(scrape(web, key).text)
    assert one(found, "couvee_queue_jobs", queue="import") == 3
    assert one(found, "couvee_queue_oldest_job_age_seconds", queue="import") == 90
    assert one(found, "couvee_queue_jobs", queue="low") == 1
    assert one(found, "couvee_queue_jobs", queue="email") == 0
    assert one(found, "couvee_events_undispatched") == 5  # contact_created and the four visits
    assert one(found, "couvee_events_dispatch_lag_seconds") == 90
    assert one(found, "couvee_tracking_hits_waiting") == 2

    run_jobs(["low"])  # the failing job fails for real, in a real worker
    redis.delete(STREAM)
    run_jobs(["import"])
    from core.dispatch import request_drain

    request_drain()
    run_jobs(["events"])
    found = samples(scrape(web, key).text)
    assert one(found, "couvee_queue_jobs_failed", queue="low") == 1
    assert one(found, "couvee_queue_jobs", queue="low") == 0
    assert one(found, "couvee_queue_jobs", queue="import") == 0
    assert one(found, "couvee_queue_oldest_job_age_seconds", queue="import") == 0
    assert one(found, "couvee_events_undispatched") == 0
    assert one(found, "couvee_events_dispatch_lag_seconds") == 0
    assert one(found, "couvee_tracking_hits_waiting") == 0


def test_a_running_send_job_is_a_send_in_progress(ctx, run_jobs):
    redis = ctx.extensions["couvee"].redis
    enqueue(note_sends_in_progress, queue="email")
    run_jobs(["email"])
    assert float(redis.get("test:sends_in_progress")) == 1


def test_prometheus_scrapes_over_http_with_its_bearer_key(live_server, ctx):
    _, key = auth.create_api_key(auth.create_user("scraper@example.com", "x" * 12, role="sales"), "prometheus")
    request = urllib.request.Request(f"{live_server.url}/metrics", headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200
        kind = answer.headers["Content-Type"]
        assert kind.startswith("text/plain; version=") and kind.count("charset") == 1, kind
        found = samples(answer.read().decode())
    assert one(found, "couvee_workers") == 0
    try:
        urllib.request.urlopen(f"{live_server.url}/metrics", timeout=10)
    except urllib.error.HTTPError as refused:
        assert refused.code == 401
    else:
        raise AssertionError("/metrics answered without a key")
