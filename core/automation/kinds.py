"""Event kinds of workflow runs (``core_automation``)."""
from __future__ import annotations

from ..event_kinds import EventKind

WORKFLOW = {"workflow_id": "the workflow's id"}


def workflow_event_kinds() -> list[EventKind]:
    return [
        EventKind("workflow_entered", "Entered a workflow", verb="enter a workflow", past="entered a workflow",
                  properties=WORKFLOW),
        EventKind("workflow_completed", "Completed a workflow", verb="complete a workflow",
                  past="completed a workflow", properties=WORKFLOW),
    ]
