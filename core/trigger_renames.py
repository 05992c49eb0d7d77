"""Moving saved triggers from one trigger type to another, for a plugin's
migration, without knowing who stores triggers.

When a trigger type is renamed or its job moves to another trigger (a plugin
taking over what a generic core trigger used to do), triggers saved in the old
shape would no longer work. A plugin migration calls
:func:`rename_trigger_type`; core passes the rename to the
``trigger_type_renamed`` hook, which the plugins storing triggers (saved
workflows) implement::

    from core import Migration, rename_trigger_type

    def _to_my_trigger(settings):
        if settings.get("field"):   # not ours: leave this trigger alone
            return None
        return {"to": settings.get("to_value", "")}

    def _rename_triggers(database, migrator):
        rename_trigger_type("status_changed", "my_status_changed", _to_my_trigger)

    Migration(2, "status triggers become my_status_changed", _rename_triggers)

A plugin that stores triggers but is switched off during the migration does
not hear it (its hooks are not called). Neither does anyone on a site's very
first start, when bundled plugins are enabled before any plugin is loaded:
nothing has been saved yet then.
"""
from __future__ import annotations

import logging
from typing import Callable

from flask import has_app_context

from .state import state

log = logging.getLogger("couvee.migrations")

#: settings of the old trigger -> settings of the new one, or None to keep the old trigger
SettingsConverter = Callable[[dict], "dict | None"]


def rename_trigger_type(old_type: str, new_type: str, convert: SettingsConverter | None = None) -> int:
    """Rewrite every saved trigger of type ``old_type`` as ``new_type``.

    ``convert(settings)`` returns the new trigger's settings, or None for a
    trigger that must stay as it is (e.g. one the new type does not cover);
    without it the settings are kept. Returns how many saved things (e.g.
    workflows) changed, summed over the plugins that answered. Meant for a
    ``Migration`` (it runs in the migration's transaction).
    """
    if not old_type or not new_type or old_type == new_type:
        raise ValueError("rename_trigger_type needs two different trigger type ids")
    if not has_app_context():  # first start: no plugin loaded yet, nothing saved
        log.info("trigger type %s renamed to %s before any plugin was loaded: nothing to move", old_type, new_type)
        return 0
    answers = state().hooks.call("trigger_type_renamed", old_type=old_type, new_type=new_type,
                                 convert=convert or dict)
    return sum(changed or 0 for _, changed in answers)
