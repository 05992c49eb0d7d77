"""Automation engine: contacts enter workflows on events, go through delays
(scheduled jobs, time travel), conditions, waits with a timeout and actions,
each step once per run; live edits never change runs in progress."""
from __future__ import annotations

import datetime as dt
import time

import pytest
import time_machine
from rq import Queue
from rq.registry import ScheduledJobRegistry

from core import Action, contacts
from plugins.automation import Workflow, WorkflowRun, runs_of, start_workflow, stop_workflow
from plugins.automation.lifecycle import activate, create_workflow, publish_changes, save_draft
from plugins.automation.library import with_ids
from plugins.automation.models import RunLog, StepExecution
from core.events import emit
from core.models import Contact, CustomField, Event, utcnow
from core.queue import queue_names

# --- helpers shared by the automation tests ------------------------------------------


def release_due_jobs(app) -> int:
    """Move scheduled jobs that are due (at the current, maybe travelled,
    time) to their queues: what RQ's scheduler does."""
    redis = app.extensions["couvee"].redis
    moved = 0
    for name in queue_names(app.extensions["couvee"].host.discovered):
        queue = Queue(name, connection=redis)
        registry = ScheduledJobRegistry(queue=queue)
        for job_id in registry.get_jobs_to_schedule(int(time.time()) + 1):
            job = queue.fetch_job(job_id)
            registry.remove(job_id)
            if job is not None:
                queue.enqueue_job(job)
                moved += 1
    return moved


def later(app, run_jobs, **delta):
    """Travel forward, release what became due and run it."""
    traveller = time_machine.travel(utcnow() + dt.timedelta(**delta), tick=True)
    traveller.start()
    with app.app_context(), app.extensions["couvee"].database_connection():
        release_due_jobs(app)
    run_jobs()
    return traveller


def probe(app) -> list:
    """Register ``probe.record`` (records each call's key in Redis)."""
    redis = app.extensions["couvee"].redis
    redis.delete("probe:calls")

    def record(contact, settings, context):
        redis.rpush("probe:calls", f"{contact.id}|{settings.get('label', '')}|{context['key']}")
        return f"recorded {settings.get('label', '')}"

    app.extensions["couvee"].registries.actions.add(
        Action("probe.record", "Record (test)", run=record), plugin="tests")
    return redis


def calls(redis) -> list[str]:
    return [c.decode() for c in redis.lrange("probe:calls", 0, -1)]


def live(name: str, triggers: list, steps: list, entry: dict | None = None) -> Workflow:
    definition = {"triggers": triggers, "steps": with_ids(steps),
                  "entry": entry or {"mode": "once", "reentry_days": 0, "exit_segment_id": None}}
    workflow = create_workflow(name, definition)
    assert activate(workflow) == []
    return workflow


def record(label: str) -> dict:
    return {"type": "action", "action": "probe.record", "settings": {"label": label}}


def delay(amount: int, unit: str = "days") -> dict:
    return {"type": "delay", "variant": "duration", "settings": {"amount": amount, "unit": unit}}


def labels(redis) -> list[str]:
    return [c.split("|")[1] for c in calls(redis)]


def log_lines(run) -> list[str]:
    return [row.message for row in RunLog.select().where(RunLog.run == run.id).order_by(RunLog.id)]


# --- event-driven entry and actions --------------------------------------------------------


def test_a_tag_starts_the_workflow_and_its_actions_run_within_the_same_burst(ctx, run_jobs):
    redis = probe(ctx)
    workflow = live("Hot", [{"type": "tag_added", "settings": {"tag": "hot"}}],
                    [record("first"), {"type": "action", "action": "tag.add", "settings": {"tag": "followed"}}])
    ada = contacts.create_contact({"email": "ada@example.com"})
    contacts.add_tag(ada, "cold")
    run_jobs()
    assert runs_of(ada) == []
    contacts.add_tag(ada, "hot")
    run_jobs()
    (run,) = runs_of(ada)
    assert run.status == "completed" and run.version == 1
    assert labels(redis) == ["first"]
    assert calls(redis)[0].endswith(f"automation:{workflow.id}:{run.id}:s1")  # the idempotency key
    assert "followed" in contacts.tags_of(ada)
    kinds = [e.kind for e in Event.select().where(Event.contact == ada.id).order_by(Event.id)]
    assert "workflow_entered" in kinds and "workflow_completed" in kinds
    assert log_lines(run)[0].startswith("entered (version 1): Tag added")
    assert log_lines(run)[-1] == "reached the end of the workflow"


def test_once_per_contact_and_reentry_after_n_days(ctx, run_jobs):
    redis = probe(ctx)
    live("Once", [{"type": "custom_event", "settings": {"name": "cart_abandoned"}}], [record("once")])
    live("Weekly", [{"type": "custom_event", "settings": {"name": "cart_abandoned"}}], [record("weekly")],
         entry={"mode": "reentry", "reentry_days": 7, "exit_segment_id": None})
    ada = contacts.create_contact({"email": "ada@example.com"})
    for _ in range(2):
        emit(ada, "custom_event", {"name": "cart_abandoned"})
        emit(ada, "custom_event", {"name": "other"})
    run_jobs()
    assert sorted(labels(redis)) == ["once", "weekly"]
    traveller = time_machine.travel(utcnow() + dt.timedelta(days=8), tick=True)
    traveller.start()
    try:
        emit(ada, "custom_event", {"name": "cart_abandoned"})
        run_jobs()
    finally:
        traveller.stop()
    assert sorted(labels(redis)) == ["once", "weekly", "weekly"]


def test_the_same_event_dispatched_twice_enters_once(ctx, run_jobs):
    from core.events import dispatch_event

    redis = probe(ctx)
    live("Re", [{"type": "custom_event", "settings": {"name": "x"}}], [record("a")],
         entry={"mode": "reentry", "reentry_days": 0, "exit_segment_id": None})
    ada = contacts.create_contact({"email": "ada@example.com"})
    event = emit(ada, "custom_event", {"name": "x"})
    run_jobs()
    Event.update(dispatched_at=None).where(Event.id == event.id).execute()  # the sweep re-dispatches it
    dispatch_event(event.id)
    run_jobs()
    assert labels(redis) == ["a"] and len(runs_of(ada)) == 1


# --- delays, conditions, waits -----------------------------------------------------------------


def test_drip_day_1_7_14_with_delays_as_scheduled_jobs(ctx, run_jobs):
    redis = probe(ctx)
    live("Drip", [{"type": "tag_added", "settings": {"tag": "lead"}}],
         [record("day 1"), delay(6), record("day 7"), delay(7), record("day 14")])
    ada = contacts.create_contact({"email": "ada@example.com"}, tags=["lead"])
    run_jobs()
    assert labels(redis) == ["day 1"]
    (run,) = runs_of(ada)
    assert run.status == "waiting" and run.wake_at > utcnow() + dt.timedelta(days=5, hours=23)
    scheduled = ScheduledJobRegistry(queue=Queue("default", connection=redis))
    assert len(scheduled.get_job_ids()) == 1  # a scheduled job, not a scan
    travellers = [later(ctx, run_jobs, days=3)]
    assert labels(redis) == ["day 1"]  # not due yet
    travellers.append(later(ctx, run_jobs, days=6))
    assert labels(redis) == ["day 1", "day 7"]
    travellers.append(later(ctx, run_jobs, days=14))
    for traveller in reversed(travellers):
        traveller.stop()
    assert labels(redis) == ["day 1", "day 7", "day 14"]
    run = WorkflowRun.get_by_id(run.id)
    assert run.status == "completed"
    assert [r.step_id for r in StepExecution.select().where(StepExecution.run == run.id).order_by(StepExecution.id)] \
        == ["s1", "s2", "s3", "s4", "s5"]


def test_condition_branches_and_the_log_says_why(ctx, run_jobs):
    redis = probe(ctx)
    CustomField.create(key="nps", label="NPS", type_id="text")
    steps = [{"type": "condition", "variant": "field", "settings": {"field": "nps", "operator": "gte", "value": "7"},
              "yes": [record("review request")], "no": [record("re-engagement")]}, record("after")]
    live("NPS", [{"type": "field_changed", "settings": {"field": "nps"}}], steps)
    happy = contacts.create_contact({"email": "happy@example.com"})
    unhappy = contacts.create_contact({"email": "sad@example.com"})
    contacts.update_contact(happy, {"nps": "9"})
    contacts.update_contact(unhappy, {"nps": "4"})
    run_jobs()
    by_contact = {c.split("|")[0]: [] for c in calls(redis)}
    for c in calls(redis):
        by_contact[c.split("|")[0]].append(c.split("|")[1])
    assert by_contact[str(happy.id)] == ["review request", "after"]
    assert by_contact[str(unhappy.id)] == ["re-engagement", "after"]
    (run,) = runs_of(unhappy)
    assert "NPS is 4: takes the “no” branch" in log_lines(run)


@pytest.mark.parametrize("clicks", [True, False])
def test_wait_for_a_click_within_30_days_or_take_the_timeout_branch(ctx, run_jobs, clicks):
    redis = probe(ctx)
    steps = [record("ask"), {"type": "wait", "variant": "event",
                             "settings": {"event": "email_clicked", "days": 30, "match": "*confirm*"},
                             "yes": [record("confirmed")], "no": [record("unsubscribe")]}]
    live("Re-permission", [{"type": "tag_added", "settings": {"tag": "stale"}}], steps)
    ada = contacts.create_contact({"email": "ada@example.com"}, tags=["stale"])
    run_jobs()
    (run,) = runs_of(ada)
    assert run.status == "waiting" and run.waiting_for == "email_clicked"
    traveller = later(ctx, run_jobs, days=10)
    emit(ada, "email_clicked", {"url": "https://ex.com/other", "email_id": 1})  # not the awaited link
    if clicks:
        emit(ada, "email_clicked", {"url": "https://ex.com/confirm?x=1", "email_id": 1})
    run_jobs()
    traveller.stop()
    traveller = later(ctx, run_jobs, days=31)
    traveller.stop()
    assert labels(redis) == ["ask", "confirmed" if clicks else "unsubscribe"]
    assert WorkflowRun.get_by_id(run.id).status == "completed"


def test_delay_until_a_weekday_window_in_the_contacts_timezone(ctx, run_jobs):
    redis = probe(ctx)
    CustomField.create(key="timezone", label="Timezone", type_id="text")
    steps = [{"type": "delay", "variant": "window",
              "settings": {"weekdays": "mon-fri", "from_time": "09:00", "to_time": "11:00", "timezone": "contact"}},
             record("in window")]
    live("Window", [{"type": "tag_added", "settings": {"tag": "go"}}], steps)
    # Saturday 2026-03-07 20:00 UTC: the next window in Tokyo is Monday 09:00 JST = Monday 00:00 UTC
    with time_machine.travel(dt.datetime(2026, 3, 7, 20, 0, tzinfo=dt.timezone.utc), tick=True):
        ada = contacts.create_contact({"email": "ada@example.com", "timezone": "Asia/Tokyo"}, tags=["go"])
        run_jobs()
        (run,) = runs_of(ada)
        assert run.wake_at == dt.datetime(2026, 3, 9, 0, 0, tzinfo=dt.timezone.utc)
    with time_machine.travel(dt.datetime(2026, 3, 9, 0, 0, 5, tzinfo=dt.timezone.utc), tick=True):
        release_due_jobs(ctx)
        run_jobs()
    assert labels(redis) == ["in window"]


def test_delay_until_a_date_field(ctx, run_jobs):
    redis = probe(ctx)
    CustomField.create(key="renewal", label="Renewal", type_id="date")
    steps = [{"type": "delay", "variant": "date_field",
              "settings": {"field": "renewal", "offset_days": -1, "at_time": "10:00", "timezone": "site"}},
             record("reminder")]
    live("Renewal", [{"type": "tag_added", "settings": {"tag": "renews"}}], steps)
    with time_machine.travel(dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.timezone.utc), tick=True):
        ada = contacts.create_contact({"email": "ada@example.com", "renewal": "2026-03-20"}, tags=["renews"])
        run_jobs()
        # the site's timezone is Europe/Paris (UTC+1 in March before the 29th)
        assert runs_of(ada)[0].wake_at == dt.datetime(2026, 3, 19, 9, 0, tzinfo=dt.timezone.utc)
    with time_machine.travel(dt.datetime(2026, 3, 19, 9, 1, tzinfo=dt.timezone.utc), tick=True):
        release_due_jobs(ctx)
        run_jobs()
    assert labels(redis) == ["reminder"]


# --- versions ------------------------------------------------------------------------------------


def test_editing_a_live_workflow_does_not_change_runs_in_progress(ctx, run_jobs):
    redis = probe(ctx)
    workflow = live("Versioned", [{"type": "tag_added", "settings": {"tag": "go"}}],
                    [record("v1 first"), delay(2), record("v1 last")])
    ada = contacts.create_contact({"email": "ada@example.com"}, tags=["go"])
    run_jobs()
    workflow = Workflow.get_by_id(workflow.id)
    definition = workflow.definition
    definition["steps"] = [definition["steps"][1], record("v2 last")]
    definition["steps"][1]["id"] = "s9"
    save_draft(workflow, definition)
    assert workflow.has_changes and publish_changes(workflow) == [] and workflow.version == 2
    bob = contacts.create_contact({"email": "bob@example.com"}, tags=["go"])
    run_jobs()
    later(ctx, run_jobs, days=3).stop()
    by_contact = {}
    for c in calls(redis):
        by_contact.setdefault(int(c.split("|")[0]), []).append(c.split("|")[1])
    assert by_contact[ada.id] == ["v1 first", "v1 last"]
    assert by_contact[bob.id] == ["v2 last"]
    assert [r.version for r in runs_of(ada) + runs_of(bob)] == [1, 2]


# --- entry rules, manual add/remove, exit segment ---------------------------------------------------------


def test_manual_add_remove_and_exit_when_leaving_a_segment(ctx, run_jobs):
    from plugins.automation.entry import EntryRefused
    from plugins.segments import add_to_segment, remove_from_segment
    from plugins.segments.models import Segment

    redis = probe(ctx)
    segment = Segment.create(name="Trial", kind="static")
    workflow = live("Trial nurture", [{"type": "segment_joined", "settings": {"segment_id": str(segment.id)}}],
                    [delay(3), record("nurture")],
                    entry={"mode": "once", "reentry_days": 0, "exit_segment_id": segment.id})
    ada = contacts.create_contact({"email": "ada@example.com"})
    bob = contacts.create_contact({"email": "bob@example.com"})
    add_to_segment(ada, segment)
    run_jobs()
    assert runs_of(ada)[0].status == "waiting"
    remove_from_segment(ada, segment)
    run_jobs()
    assert runs_of(ada)[0].status == "exited"
    run = start_workflow(bob, workflow, reason="test")
    with pytest.raises(EntryRefused):
        start_workflow(bob, workflow)
    run_jobs()
    assert stop_workflow(bob, workflow) == 1
    assert WorkflowRun.get_by_id(run.id).status == "exited"
    later(ctx, run_jobs, days=4).stop()
    assert calls(redis) == []


def test_a_paused_workflow_takes_nobody_and_holds_runs_until_activated(ctx, run_jobs):
    from plugins.automation.lifecycle import pause

    redis = probe(ctx)
    workflow = live("Pausable", [{"type": "tag_added", "settings": {"tag": "go"}}], [delay(1), record("done")])
    ada = contacts.create_contact({"email": "ada@example.com"}, tags=["go"])
    run_jobs()
    pause(workflow)
    contacts.create_contact({"email": "bob@example.com"}, tags=["go"])
    traveller = later(ctx, run_jobs, days=2)
    assert calls(redis) == [] and WorkflowRun.select().count() == 1
    assert activate(Workflow.get_by_id(workflow.id)) == []
    run_jobs()
    traveller.stop()
    assert labels(redis) == ["done"] and runs_of(ada)[0].status == "completed"
