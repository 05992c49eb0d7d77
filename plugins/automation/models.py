"""Automation tables.

- :class:`Workflow` holds the *draft* definition being edited and its status;
- :class:`WorkflowVersion` rows are immutable snapshots taken on activation
  or "publish changes": a run pins the version it started on, so editing a
  live workflow never changes the path of contacts already inside it;
- :class:`WorkflowRun` is one contact's journey (its current step, what it
  waits for and until when);
- :class:`StepExecution` is the claim that makes a step run at most once per
  run (unique on ``(run, step_id)``), with attempts and the error;
- :class:`RunLog` is the human history: what happened, when and why.
"""
from __future__ import annotations

import peewee

from core import BaseModel, Contact, JSONField, UTCDateTimeField, utcnow

STATUSES = ("draft", "active", "paused")
RUN_ACTIVE = ("running", "waiting", "retrying")
RUN_DONE = ("completed", "exited", "failed")


def empty_definition() -> dict:
    return {"triggers": [], "entry": {"mode": "once", "reentry_days": 0, "exit_segment_id": None}, "steps": []}


class Workflow(BaseModel):
    name = peewee.CharField()
    description = peewee.TextField(default="")
    status = peewee.CharField(default="draft", index=True)  # draft | active | paused
    #: the draft being edited (published as a WorkflowVersion)
    definition = JSONField(default=empty_definition)
    #: the version new runs start on (0: never activated)
    version = peewee.IntegerField(default=0)
    #: the draft differs from the published version
    has_changes = peewee.BooleanField(default=False)
    #: id of the library template it was made from
    template_id = peewee.CharField(default="")
    created_at = UTCDateTimeField(default=utcnow)
    updated_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "automation_workflow"


class WorkflowVersion(BaseModel):
    workflow = peewee.ForeignKeyField(Workflow, backref="versions", on_delete="CASCADE")
    number = peewee.IntegerField()
    definition = JSONField()
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "automation_workflow_version"
        indexes = ((("workflow", "number"), True),)


class WorkflowRun(BaseModel):
    workflow = peewee.ForeignKeyField(Workflow, backref="runs", on_delete="CASCADE")
    version = peewee.IntegerField()
    contact = peewee.ForeignKeyField(Contact, backref="workflow_runs", on_delete="CASCADE")
    #: running | waiting | retrying | completed | exited | failed
    status = peewee.CharField(default="running")
    step_id = peewee.CharField(null=True)
    #: bumped on every move: a job carrying an older token is stale
    token = peewee.IntegerField(default=0)
    #: event kind a wait-for-event step listens to
    waiting_for = peewee.CharField(null=True)
    wake_at = UTCDateTimeField(null=True)
    #: makes entry idempotent (once per contact, or per triggering event/day)
    entry_key = peewee.CharField(unique=True)
    reason = peewee.CharField(default="")
    error = peewee.TextField(default="")
    started_at = UTCDateTimeField(default=utcnow)
    updated_at = UTCDateTimeField(default=utcnow)
    finished_at = UTCDateTimeField(null=True)

    class Meta:
        table_name = "automation_run"
        indexes = (
            (("contact", "status"), False),
            (("workflow", "contact", "started_at"), False),
            (("status", "wake_at"), False),
            (("status", "updated_at"), False),
            (("waiting_for", "contact"), False),
        )

    @property
    def is_active(self) -> bool:
        return self.status in RUN_ACTIVE


class StepExecution(BaseModel):
    run = peewee.ForeignKeyField(WorkflowRun, backref="executions", on_delete="CASCADE")
    workflow = peewee.ForeignKeyField(Workflow, on_delete="CASCADE")
    step_id = peewee.CharField()
    #: claimed | waiting | done | failed
    status = peewee.CharField(default="claimed")
    attempts = peewee.IntegerField(default=0)
    #: a claim older than this may be taken over (its worker died)
    lease_until = UTCDateTimeField(null=True)
    #: random id of the attempt holding the claim
    claimed_by = peewee.CharField(default="")
    outcome = peewee.CharField(default="")
    error = peewee.TextField(default="")
    started_at = UTCDateTimeField(default=utcnow)
    finished_at = UTCDateTimeField(null=True)

    class Meta:
        table_name = "automation_step_execution"
        indexes = (
            (("run", "step_id"), True),
            (("workflow", "step_id", "status"), False),
        )


class RunLog(BaseModel):
    run = peewee.ForeignKeyField(WorkflowRun, backref="logs", on_delete="CASCADE")
    workflow = peewee.ForeignKeyField(Workflow, on_delete="CASCADE")
    contact = peewee.ForeignKeyField(Contact, on_delete="CASCADE")
    step_id = peewee.CharField(null=True)
    #: entered | step | branch | waiting | retry | failed | completed | exited
    kind = peewee.CharField()
    message = peewee.TextField()
    #: the message id and parameters, translated when shown (see logtext.py); NULL on older rows
    message_key = peewee.TextField(null=True)
    at = UTCDateTimeField(default=utcnow)

    @property
    def text(self) -> str:
        """The line in the reader's language (see logtext.py)."""
        from .logtext import shown

        return shown(self)

    class Meta:
        table_name = "automation_run_log"
        indexes = ((("workflow", "at"), False), (("contact", "at"), False), (("run", "at"), False))


AUTOMATION_MODELS = [Workflow, WorkflowVersion, WorkflowRun, StepExecution, RunLog]
