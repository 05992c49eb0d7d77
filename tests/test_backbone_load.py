"""Issue 16's must-show checks for the event backbone under real load, with
real ``couvee worker`` processes (forking a work horse per job, every queue,
as production runs them) on the test's database and Redis (SQLite file, or
PostgreSQL when COUVEE_TEST_DATABASE_URL is set):

- a bulk tag of 10,000 contacts entering a workflow whose action tags them
  again; while the backlog drains, a newsletter and a periodic job started
  meanwhile both begin within 10 s; the worker is SIGKILLed at ~30 % and a new
  one started: every action ran exactly once and no run is left "running";
- 1,000 consent calls through the REST API (API key, real HTTP) while the
  worker runs, then a newsletter: its first email leaves within 10 s.

The 10 s deadlines are the issue's promise, checked with bounded waits; the
other waits are generous because the machine running the suite is shared.
"""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
import time_machine
from flask import current_app

from core import auth, emit_many, enqueue
from plugins.automation.lifecycle import activate, create_workflow
from plugins.automation.library import with_ids
from plugins.automation.models import StepExecution, WorkflowRun
from plugins.automation.timebased import recover_runs
from core.db import write_transaction
from core.dispatch import drain, outbox, signal
from core.events import sweep_undispatched
from core.models import Contact, ContactTag, Event, EventDelivery, Tag, utcnow
from plugins.segments import Segment, SegmentMember
from plugins.email import newsletters
from plugins.email.models import Newsletter

from .test_email_newsletter import kill_with_work_horses
from .test_event_dispatch_processes import expire_drains
from .test_email_send import configure
from .test_write_contention_processes import ROOT, couvee_env

BULK = 10_000
BEGIN_WITHIN = 10.0  # seconds: the deadline for work started during a backlog


@pytest.fixture
def start_worker(wsgi, tmp_path):
    """``start_worker()`` runs a ``couvee worker`` process (all queues) until
    the test ends and returns it."""
    started = []

    def start() -> subprocess.Popen:
        log = open(tmp_path / f"worker{len(started)}.log", "w")
        process = subprocess.Popen([sys.executable, "-m", "core.cli", "worker"], cwd=ROOT, env=couvee_env(wsgi),
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        started.append((process, log))
        return process

    yield start
    for process, log in started:
        if process.poll() is None:
            kill_with_work_horses(process.pid)
            process.wait(timeout=30)
        log.close()


def wait_until(condition, timeout: float, what: str, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"{what}: still waiting after {timeout:.0f} s")


def insert_contacts(count: int, prefix: str) -> list[int]:
    now = utcnow()
    for start in range(0, count, 1000):
        with write_transaction():
            Contact.insert_many([{"email": f"{prefix}{n}@example.com", "created_at": now, "updated_at": now}
                                 for n in range(start, min(count, start + 1000))]).execute()
    return [c.id for c in Contact.select(Contact.id).where(Contact.email.startswith(prefix)).order_by(Contact.id)]


def bulk_tag(contact_ids: list[int], name: str) -> None:
    """Tag many contacts at once the way bulk paths write: one transaction per
    1,000 (tag links and their ``tag_added`` events), then one drain signal."""
    Tag.insert(name=name).on_conflict_ignore().execute()
    tag = Tag.get(Tag.name == name)
    for start in range(0, len(contact_ids), 1000):
        chunk = contact_ids[start:start + 1000]
        with write_transaction():
            ContactTag.insert_many([{"contact": cid, "tag": tag.id} for cid in chunk]).execute()
            emit_many([{"contact": cid, "kind": "tag_added", "data": {"tag": name}, "source": "bulk"}
                       for cid in chunk], dispatch=False)
    assert signal.request_drain()


def tagged(name: str) -> int:
    return ContactTag.select().join(Tag).where(Tag.name == name).count()


def newsletter_to(readers: int) -> Newsletter:
    segment = Segment.create(name="Readers", kind="static")
    for contact_id in insert_contacts(readers, "reader"):
        SegmentMember.create(segment=segment.id, contact=contact_id)
    return Newsletter.create(name="News", subject="Hello", content="<p>News of the week</p>", segments=[segment.id])


def periodic_job(job_id: str):
    """Queue a registered periodic job the way ``couvee cron`` does."""
    job = next(job for job in current_app.extensions["couvee"].registries.periodic_jobs if job.id == job_id)
    return enqueue(job.func, queue=job.queue)


def began(rq_job) -> bool:
    rq_job.refresh()
    return rq_job.started_at is not None


def dispatched_all() -> bool:
    return not Event.select().where(Event.dispatched_at.is_null()).exists()


def swept_until_dispatched(every: float = 60.0):
    """A condition for :func:`wait_until`: every event dispatched, running the
    sweep every ``every`` seconds meanwhile as ``couvee cron`` does."""
    swept = [time.monotonic()]

    def condition() -> bool:
        if dispatched_all():
            return True
        if time.monotonic() - swept[0] >= every:
            sweep_undispatched()
            swept[0] = time.monotonic()
        return False

    return condition


def test_a_bulk_tag_of_10000_contacts_through_a_workflow_survives_a_killed_worker(wsgi, ctx, smtp_sink,
                                                                                  start_worker, run_jobs):
    configure(smtp_sink)
    workflow = create_workflow("Welcome the VIPs", {
        "triggers": [{"type": "tag_added", "settings": {"tag": "vip"}}],
        "steps": with_ids([{"type": "action", "action": "tag.add", "settings": {"tag": "welcomed"}}])})
    assert not activate(workflow)
    newsletter = newsletter_to(20)
    bulk_tag(insert_contacts(BULK, "bulk"), "vip")

    worker = start_worker()
    wait_until(lambda: tagged("welcomed"), 120, "the workflow started on the backlog")
    # during the backlog: a newsletter and a periodic job begin within seconds
    assert not newsletters.start(newsletter).errors
    recovery = periodic_job("automation.recover")
    asked = time.monotonic()
    wait_until(lambda: smtp_sink.messages, BEGIN_WITHIN, "the newsletter's first email")
    wait_until(lambda: began(recovery), BEGIN_WITHIN - (time.monotonic() - asked), "the periodic job")
    print(f"newsletter and periodic job began within {time.monotonic() - asked:.1f} s, "
          f"{BULK - tagged('welcomed')} contacts still to welcome")

    wait_until(lambda: tagged("welcomed") >= BULK * 3 // 10, 300, "30 % of the workflow", step=0.01)
    kill_with_work_horses(worker.pid)
    worker.wait(timeout=30)
    welcomed_at_kill = tagged("welcomed")
    assert welcomed_at_kill < BULK

    # a new worker; the dead drain's flag runs out (60 s) and the sweep signals a drain
    second = start_worker()
    expire_drains(current_app.extensions["couvee"].redis)
    sweep_undispatched()
    # all but the dead drain's claimed batch, at most
    wait_until(lambda: tagged("welcomed") >= BULK - drain.BATCH, 400, "the new worker welcoming the rest", step=0.2)

    # the jobs below run in this process on a clock eleven minutes ahead: the real
    # worker stops first (after its current job), or the two clocks would share
    # the work, and a step claimed on the fast clock would look held for 21 minutes
    # to the real one (a run left "running" meanwhile: seen once on a loaded CI)
    second.terminate()
    second.wait(timeout=120)
    # ten minutes later: the dead worker's leases have run out; the periodic
    # sweep and run recovery hand its last batch and its run in progress on
    with time_machine.travel(utcnow() + dt.timedelta(minutes=11)):
        time.sleep(0.01)
        expire_drains(current_app.extensions["couvee"].redis)
        sweep_undispatched()
        recover_runs()
        run_jobs()
    start_worker()  # and a worker again, in real time
    # the new worker may still be on the last ones; and when the drain above
    # ran out of its time slice before reaching the dead batch's partition, its
    # successor runs in real time, where that claim lasts until its lease
    # (two minutes) is up: the periodic sweep (every minute, as cron runs it)
    # then hands it on
    wait_until(swept_until_dispatched(), outbox.LEASE.total_seconds() + 120, "every event dispatched", step=0.2)

    runs = WorkflowRun.select().where(WorkflowRun.workflow == workflow.id)
    assert runs.count() == BULK  # one run per contact
    assert runs.where(WorkflowRun.status != "completed").count() == 0  # none left "running"
    assert tagged("welcomed") == BULK
    per_contact = {}
    for event in Event.select(Event.contact, Event.data).where(Event.kind == "tag_added"):
        if event.data.get("tag") == "welcomed":
            per_contact[event.contact_id] = per_contact.get(event.contact_id, 0) + 1
    assert len(per_contact) == BULK and set(per_contact.values()) == {1}, "an action ran twice"
    done = StepExecution.select().where((StepExecution.workflow == workflow.id) & (StepExecution.status == "done"))
    assert done.count() == BULK
    assert EventDelivery.select().count() == 0  # no plugin failed on any event
    print(f"killed at {welcomed_at_kill} of {BULK}")


def post_consent(base_url: str, secret: str, contact_id: int) -> int:
    request = urllib.request.Request(
        f"{base_url}/api/v1/gdpr/contacts/{contact_id}/consents", method="POST",
        data=json.dumps({"purpose": "email_marketing", "granted": True, "text": "Yes, send me the news",
                         "text_version": "1"}).encode(),
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status


def test_1000_consent_api_calls_then_a_newsletter_begins_within_10_s(wsgi, ctx, smtp_sink, admin_user,
                                                                     live_server, start_worker):
    configure(smtp_sink)
    _, secret = auth.create_api_key(admin_user, "site")
    people = insert_contacts(1000, "consent")
    newsletter = newsletter_to(20)
    start_worker()
    with ThreadPoolExecutor(4) as clients:  # a site's back end calling the API
        answers = list(clients.map(lambda cid: post_consent(live_server.url, secret, cid), people))
    assert answers == [201] * len(people)
    waiting = Event.select().where(Event.dispatched_at.is_null()).count()

    assert not newsletters.start(newsletter).errors
    asked = time.monotonic()
    wait_until(lambda: smtp_sink.messages, BEGIN_WITHIN, "the newsletter's first email")
    print(f"first email after {time.monotonic() - asked:.1f} s; {waiting} events were waiting when it started")
    wait_until(dispatched_all, 300, "every consent event dispatched", step=0.2)
    assert Event.select().where(Event.kind == "consent_given").count() == len(people)
