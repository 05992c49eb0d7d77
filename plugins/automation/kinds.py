"""Event kinds of workflow runs (the automation plugin)."""
from __future__ import annotations

from core import EventKind, translation_domain

_l = translation_domain(__name__).lazy_gettext

WORKFLOW = {"workflow_id": _l("the workflow's id")}


def workflow_event_kinds() -> list[EventKind]:
    return [
        EventKind("workflow_entered", _l("Entered a workflow"), verb=_l("enter a workflow"), past=_l("entered a workflow"),
                  negative_past=_l("did not enter a workflow"),
                  properties=WORKFLOW),
        EventKind("workflow_completed", _l("Completed a workflow"), verb=_l("complete a workflow"),
                  past=_l("completed a workflow"), negative_past=_l("did not complete a workflow"), properties=WORKFLOW),
    ]
