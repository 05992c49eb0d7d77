"""The dashboard's getting-started checklist.

Its items are :class:`core.SetupStep` objects from the ``register_setup_steps``
hook: core's own modules (fields) and the plugins (the first import, the
sender address, the first form, the tracked site...) each declare the steps that belong to them,
so core names no plugin feature. Each step ticks itself from the real state.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import current_app, url_for

log = logging.getLogger("couvee.checklist")


@dataclass
class ChecklistItem:
    label: str
    help: str
    url: str
    done: bool


def checklist(user) -> list[ChecklistItem]:
    """The steps shown to ``user``'s role, in order, each ticked or not. A step
    whose check fails counts as not done; the failure is recorded against its
    plugin like any hook error."""
    state = current_app.extensions["couvee"]
    registry = state.registries.setup_steps
    items = []
    for step in sorted(registry, key=lambda step: (step.order, step.label)):
        if user.role not in step.roles:
            continue
        try:
            done = bool(step.is_done())
        except Exception as error:  # a plugin's check must not take the dashboard down
            log.exception("setup step %s failed", step.id)
            state.record_plugin_error(registry.owner(step.id) or "?", "register_setup_steps",
                                      f"{step.id}: {type(error).__name__}: {error}")
            done = False
        items.append(ChecklistItem(step.label, step.help, url_for(step.endpoint, **step.endpoint_values), done))
    return items
