"""How much SQL the automation engine spends per contact (issue 16 item 6):
workflows run for every contact of a bulk change, so each statement counts
(docs/performance.md, "Workflow latency and throughput")."""
from __future__ import annotations

import logging
from contextlib import contextmanager

import pytest

from plugins.automation.entry import on_event
from plugins.automation.lifecycle import activate, create_workflow
from plugins.automation.library import with_ids
from plugins.automation.models import RunLog, StepExecution, WorkflowRun
from core.contacts import create_contact, tags_of
from core.events import emit
from core.models import Event


@contextmanager
def counted_sql():
    """Count the statements peewee sends while the block runs."""
    statements = []

    class Counting(logging.Handler):
        def emit(self, record):
            statements.append(record.msg[0] if isinstance(record.msg, tuple) else record.getMessage())

    logger, handler = logging.getLogger("peewee"), Counting()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield statements
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def welcome_workflow():
    workflow = create_workflow("Welcome", {
        "triggers": [{"type": "custom_event", "settings": {"name": "signup"}}],
        "steps": with_ids([{"type": "action", "action": "tag.add", "settings": {"tag": "welcomed"}}])})
    assert not activate(workflow)
    return workflow


def test_an_event_no_trigger_or_wait_looks_for_costs_the_engine_no_sql(ctx):
    welcome_workflow()
    ada = create_contact({"email": "ada@example.com"})
    completed = Event.get_by_id(emit(ada, "workflow_completed", {"workflow_id": 1}, source="automation").id)
    with counted_sql() as statements:
        on_event(completed)
    assert statements == []


def test_a_contact_goes_through_a_one_action_workflow_in_few_statements(ctx):
    workflow = welcome_workflow()
    ada = create_contact({"email": "ada@example.com"})
    signup = Event.get_by_id(emit(ada, "custom_event", {"name": "signup"}).id)
    with counted_sql() as statements:
        on_event(signup)
    run = WorkflowRun.get((WorkflowRun.workflow == workflow.id) & (WorkflowRun.contact == ada.id))
    assert run.status == "completed" and tags_of(ada) == ["welcomed"]
    assert StepExecution.select().where(StepExecution.run == run.id).count() == 1
    assert [log.kind for log in RunLog.select().where(RunLog.run == run.id).order_by(RunLog.id)] == \
        ["entered", "step", "completed"]
    # entry (waits, live workflows, contact, rules, run, its event), the
    # claim, the tag's own writes, finish, move, completion, its event, the
    # logs: 18 today (2 of them create the tag); 30 before the claim, re-reads and logs were cut
    assert len(statements) <= 20, "\n".join(statements)


def test_on_postgresql_a_run_moved_by_an_event_is_queued_only_once_its_move_is_committed(ctx):
    """One transaction per event on PostgreSQL: the advance job of a run
    answered by the event must not reach a worker before the move commits
    (it would read the old token and do nothing)."""
    from plugins.automation import engine
    from core.db import is_sqlite
    from core.queue import get_queue

    if is_sqlite():
        pytest.skip("SQLite runs the engine in autocommit: nothing to wait for")
    workflow = create_workflow("Confirm", {
        "triggers": [{"type": "custom_event", "settings": {"name": "signup"}}],
        "steps": with_ids([{"type": "wait", "variant": "event",
                            "settings": {"event": "custom_event", "match": "confirm", "days": 30},
                            "yes": [{"type": "action", "action": "tag.add", "settings": {"tag": "confirmed"}}],
                            "no": []}])})
    assert not activate(workflow)
    ada = create_contact({"email": "ada@example.com"})
    on_event(Event.get_by_id(emit(ada, "custom_event", {"name": "signup"}).id))
    run = WorkflowRun.get(WorkflowRun.contact == ada.id)
    assert run.status == "waiting"
    queue = get_queue("default")
    queue.empty()
    confirm = Event.get_by_id(emit(ada, "custom_event", {"name": "confirm"}).id)
    with engine.unit_of_work():  # as the drain's call of on_event runs it
        on_event(confirm)
        assert queue.count == 0  # the move is not committed yet
    assert queue.count == 1
    job = queue.jobs[0]
    assert job.args[1][1] == WorkflowRun.get_by_id(run.id).token  # the committed token
