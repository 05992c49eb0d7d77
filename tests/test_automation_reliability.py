"""Each step at most once per run, none skipped: a worker killed in the
middle of a step, a crash between the claim and the end of a step, failing
actions retried with backoff then marked failed with the error visible."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.server
import json
import os
import signal
import threading

import time_machine

from core import Action, contacts
from plugins.automation import WorkflowRun, runs_of, start_workflow
from plugins.automation import engine
from plugins.automation.models import RunLog, StepExecution
from plugins.automation.timebased import recover_runs
from core.models import utcnow

from .conftest import free_port
from .test_automation import calls, labels, later, live, probe, record, release_due_jobs


def _crash_once(app, when: str):
    """``probe.crash``: the first call dies (SIGKILL of the work horse, or an
    exception standing for a crash) before or after its effect."""
    redis = app.extensions["couvee"].redis

    def run(contact, settings, context):
        first = redis.setnx("probe:crashed", 1)
        if first and when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        redis.sadd("probe:effects", context["key"])  # an idempotent effect, keyed
        redis.rpush("probe:calls", f"{contact.id}|crash|{context['key']}")
        if first and when == "after":
            os.kill(os.getpid(), signal.SIGKILL)
        return "ok"

    app.extensions["couvee"].registries.actions.add(Action("probe.crash", "Crash once", run=run), plugin="tests")
    return redis


def _attempts(run) -> dict[str, int]:
    return {e.step_id: e.attempts for e in StepExecution.select().where(StepExecution.run == run.id)}


def test_a_worker_killed_during_a_step_neither_repeats_nor_skips_steps(ctx, run_jobs):
    redis = probe(ctx)
    _crash_once(ctx, "before")
    live("Crashy", [{"type": "tag_added", "settings": {"tag": "go"}}],
         [record("before"), {"type": "action", "action": "probe.crash", "settings": {}}, record("after")])
    ada = contacts.create_contact({"email": "ada@example.com"}, tags=["go"])
    run_jobs(simple=False)  # a forking worker: the work horse is SIGKILLed inside the action
    (run,) = runs_of(ada)
    assert run.status == "running" and run.step_id == "s2"
    assert labels(redis) == ["before"]
    assert StepExecution.get((StepExecution.run == run.id) & (StepExecution.step_id == "s2")).status == "claimed"
    run_jobs()  # nothing re-runs while the claim's lease holds
    assert labels(redis) == ["before"]
    with time_machine.travel(utcnow() + engine.LEASE + dt.timedelta(minutes=1), tick=True):
        assert recover_runs() == 1
        run_jobs(simple=False)
    run = WorkflowRun.get_by_id(run.id)
    assert run.status == "completed"
    assert labels(redis) == ["before", "crash", "after"]
    assert _attempts(run) == {"s1": 1, "s2": 2, "s3": 1}


def test_a_crash_after_the_effect_repeats_the_call_with_the_same_key_so_the_effect_happens_once(ctx, run_jobs):
    redis = probe(ctx)
    _crash_once(ctx, "after")
    live("Crashy", [{"type": "tag_added", "settings": {"tag": "go"}}],
         [record("before"), {"type": "action", "action": "probe.crash", "settings": {}}, record("after")])
    ada = contacts.create_contact({"email": "ada@example.com"}, tags=["go"])
    run_jobs(simple=False)
    with time_machine.travel(utcnow() + engine.LEASE + dt.timedelta(minutes=1), tick=True):
        recover_runs()
        run_jobs(simple=False)
    (run,) = runs_of(ada)
    assert run.status == "completed"
    crash_keys = [c.split("|")[2] for c in calls(redis) if "|crash|" in c]
    assert len(crash_keys) == 2 and len(set(crash_keys)) == 1  # same key both times
    assert redis.scard("probe:effects") == 1
    assert labels(redis).count("before") == 1 and labels(redis).count("after") == 1


def test_a_duplicated_advance_job_does_not_run_a_step_twice(ctx, run_jobs):
    redis = probe(ctx)
    workflow = live("Dup", [{"type": "tag_added", "settings": {"tag": "go"}}], [record("one"), record("two")])
    ada = contacts.create_contact({"email": "ada@example.com"})
    run = start_workflow(ada, workflow)  # added by hand: its first job is queued
    for _ in range(3):
        engine.schedule(run)  # the same job, queued again (a retry, a recovery)
    run_jobs()
    assert labels(redis) == ["one", "two"]


class _Hooks(http.server.BaseHTTPRequestHandler):
    """A third-party webhook receiver on loopback: fails ``fail`` times first."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((dict(self.headers), body))
        if len(self.server.received) <= self.server.fail:
            self.send_response(503)
        else:
            self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def _receiver(fail: int):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _Hooks)
    server.received, server.fail = [], fail
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_webhook_is_signed_and_retried_with_backoff(ctx, run_jobs):
    server = _receiver(fail=2)
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    live("Hook", [{"type": "tag_added", "settings": {"tag": "go"}}],
         [{"type": "action", "action": "webhook.call", "settings": {"url": url, "secret": "s3cret"}}])
    ada = contacts.create_contact({"email": "ada@example.com", "first_name": "Ada"}, tags=["go"])
    run_jobs()
    (run,) = runs_of(ada)
    assert run.status == "retrying" and "503" in run.error
    first_retry = run.wake_at - utcnow()
    assert dt.timedelta(seconds=25) < first_retry <= dt.timedelta(seconds=30)
    travellers = [later(ctx, run_jobs, seconds=31)]
    run = WorkflowRun.get_by_id(run.id)
    assert run.status == "retrying" and run.wake_at - utcnow() > dt.timedelta(seconds=100)  # backoff grows
    travellers.append(later(ctx, run_jobs, seconds=31 + 121))
    for traveller in reversed(travellers):
        traveller.stop()
    server.shutdown()
    assert WorkflowRun.get_by_id(run.id).status == "completed"
    assert len(server.received) == 3
    headers, body = server.received[-1]
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["X-Couvee-Signature"] == expected
    payload = json.loads(body)
    assert payload["contact"]["email"] == "ada@example.com" and payload["key"] == headers["Idempotency-Key"]
    assert {h["Idempotency-Key"] for h, _ in server.received} == {payload["key"]}


def test_a_failing_action_ends_failed_with_the_error_visible(ctx, run_jobs, admin):
    url = f"http://127.0.0.1:{free_port()}/nobody-listens"
    workflow = live("Broken hook", [{"type": "tag_added", "settings": {"tag": "go"}}],
                    [{"type": "action", "action": "webhook.call", "settings": {"url": url}}])
    ada = contacts.create_contact({"email": "ada@example.com"}, tags=["go"])
    run_jobs()
    travellers = []
    for _ in range(engine.MAX_ATTEMPTS):
        travellers.append(later(ctx, run_jobs, seconds=sum(engine.BACKOFF) + 10 * (len(travellers) + 1)))
    for traveller in reversed(travellers):
        traveller.stop()
    (run,) = runs_of(ada)
    assert run.status == "failed" and "unreachable" in run.error
    execution = StepExecution.get(StepExecution.run == run.id)
    assert execution.status == "failed" and execution.attempts == engine.MAX_ATTEMPTS
    assert RunLog.select().where((RunLog.run == run.id) & (RunLog.kind == "retry")).count() == engine.MAX_ATTEMPTS - 1
    page = admin.get(f"/admin/workflows/{workflow.id}/runs?status=failed")
    assert "ada@example.com" in page.text and "unreachable" in page.text
    diagram = admin.get(f"/admin/workflows/{workflow.id}")
    assert "✗ 1" in diagram.text
