"""Moving saved workflows from one trigger type to another.

When a trigger type is renamed or its job moves to another trigger (a plugin
taking over what a generic core trigger used to do), workflows saved in the
old shape would no longer activate. A plugin migration calls
:func:`rename_trigger_type` to rewrite them::

    from core import rename_trigger_type

    def _to_my_trigger(settings):
        if settings.get("field"):   # not ours: leave this trigger alone
            return None
        return {"to": settings.get("to_value", "")}

    def _rename_triggers(database, migrator):
        rename_trigger_type("status_changed", "my_status_changed", _to_my_trigger)

Only trigger entries change: the draft of every workflow and the trigger list
of its published versions (so an active workflow keeps admitting contacts);
steps, runs and their history are untouched.
"""
from __future__ import annotations

from typing import Callable

from .models import Workflow, WorkflowVersion

#: settings of the old trigger -> settings of the new one, or None to keep the old trigger
SettingsConverter = Callable[[dict], "dict | None"]


def rename_trigger_type(old_type: str, new_type: str, convert: SettingsConverter | None = None) -> int:
    """Rewrite every saved trigger of type ``old_type`` as ``new_type``.

    ``convert(settings)`` returns the new trigger's settings, or None for a
    trigger that must stay as it is (e.g. one the new type does not cover);
    without it the settings are kept. Returns the number of workflows changed.
    Meant for a ``Migration`` (it runs in the migration's transaction).
    """
    if not old_type or not new_type or old_type == new_type:
        raise ValueError("rename_trigger_type needs two different trigger type ids")
    convert = convert or dict
    changed = set()
    if not Workflow.table_exists():  # a new site: its plugins migrate before core's automation tables exist
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
