"""Automation: workflows made of triggers and a tree of steps (delays,
conditions, actions, waits for an event), run per contact by RQ jobs.

Public API (re-exported from ``core``)::

    start_workflow(contact, workflow, reason="...")   # manual add (entry rules apply)
    stop_workflow(contact, workflow, reason="...")    # take out of runs in progress
    runs_of(contact)                                  # [WorkflowRun], newest first
    rename_trigger_type(old, new, convert)            # in a plugin migration: move saved triggers

See docs/automation.md.
"""
from .entry import EntryRefused, start_workflow, stop_workflow
from .models import RunLog, StepExecution, Workflow, WorkflowRun, WorkflowVersion
from .renames import rename_trigger_type


def runs_of(contact) -> list:
    """The contact's workflow runs, newest first."""
    contact_id = getattr(contact, "id", contact)
    return list(WorkflowRun.select().where(WorkflowRun.contact == contact_id).order_by(WorkflowRun.id.desc()))


__all__ = ["EntryRefused", "RunLog", "StepExecution", "Workflow", "WorkflowRun", "WorkflowVersion",
           "rename_trigger_type", "runs_of", "start_workflow", "stop_workflow"]
