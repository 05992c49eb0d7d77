"""How much SQL the automation engine spends per contact (issue 16 item 6):
workflows run for every contact of a bulk change, so each statement counts
(docs/performance.md, "Workflow latency and throughput")."""
from __future__ import annotations

import logging
from contextlib import contextmanager

from core.automation.entry import on_event
from core.automation.lifecycle import activate, create_workflow
from core.automation.library import with_ids
from core.automation.models import RunLog, StepExecution, WorkflowRun
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
