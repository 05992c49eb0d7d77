"""Event kinds of workflow runs (``core_automation``)."""
from __future__ import annotations

from ..event_kinds import EventKind
from ..i18n import core_domain

_l = core_domain().lazy_gettext

WORKFLOW = {"workflow_id": _l("the workflow's id")}


def workflow_event_kinds() -> list[EventKind]:
    return [
        EventKind("workflow_entered", _l("Entered a workflow"), verb=_l("enter a workflow"), past=_l("entered a workflow"),
                  negative_past=_l("did not enter a workflow"),
                  properties=WORKFLOW),
        EventKind("workflow_completed", _l("Completed a workflow"), verb=_l("complete a workflow"),
                  past=_l("completed a workflow"), negative_past=_l("did not complete a workflow"), properties=WORKFLOW),
    ]
