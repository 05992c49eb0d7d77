"""The automation plugin's answer to ``trigger_type_renamed``: a plugin's
migration called :func:`core.rename_trigger_type`, so saved workflows move
from the old trigger type to the new one.

Only trigger entries change: the draft of every workflow and the trigger list
of its published versions (so an active workflow keeps admitting contacts);
steps, runs and their history are untouched.
"""
from __future__ import annotations

from typing import Callable

from .models import Workflow, WorkflowVersion

#: settings of the old trigger -> settings of the new one, or None to keep the old trigger
SettingsConverter = Callable[[dict], "dict | None"]


def rename_saved_triggers(old_type: str, new_type: str, convert: SettingsConverter) -> int:
    """Rewrite every saved trigger of type ``old_type`` as ``new_type``;
    returns the number of workflows changed."""
    changed = set()
    if not Workflow.table_exists():  # a new site: other plugins may migrate before this plugin's tables exist
        return 0
    for model in (Workflow, WorkflowVersion):
        for row in model.select():
            definition, moved = _renamed(row.definition or {}, old_type, new_type, convert)
            if moved:
                model.update(definition=definition).where(model.id == row.id).execute()
                changed.add(row.id if model is Workflow else row.workflow_id)
    return len(changed)


def _renamed(definition: dict, old_type: str, new_type: str, convert: SettingsConverter) -> tuple[dict, bool]:
    triggers, moved = [], False
    for trigger in definition.get("triggers") or []:
        if trigger.get("type") == old_type:
            settings = convert(dict(trigger.get("settings") or {}))
            if settings is not None:
                trigger, moved = {**trigger, "type": new_type, "settings": settings}, True
        triggers.append(trigger)
    return ({**definition, "triggers": triggers} if moved else definition), moved
