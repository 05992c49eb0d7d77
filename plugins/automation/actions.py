"""The automation plugin's actions (``register_actions``): starting and
stopping another workflow. (Tags, fields, notifying a user and webhooks are
core's contact actions, ``core/contact_actions.py``; ``segment.add`` and
``segment.remove`` come from segments; plugins register their own actions.)

Each ``run(contact, settings, context)`` is idempotent for
``context["key"]``: the engine may re-run it after a crash.
"""
from __future__ import annotations

from core import Action, Setting, translation_domain

from .forms import WORKFLOWS

_l = translation_domain(__name__).lazy_gettext


def run_workflow_start(contact, settings, context=None):
    from .entry import EntryRefused, start_workflow

    try:
        run = start_workflow(contact, int(settings.get("workflow_id") or 0),
                             reason=f"started by workflow #{(context or {}).get('workflow_id')}",
                             key=(context or {}).get("key"), manual=True)
    except EntryRefused as refusal:
        return f"not started: {refusal}"
    return f"started workflow #{run.workflow_id}"


def run_workflow_stop(contact, settings, context=None):
    from .entry import EntryRefused, stop_workflow

    try:
        count = stop_workflow(contact, int(settings.get("workflow_id") or 0),
                              reason=f"stopped by workflow #{(context or {}).get('workflow_id')}")
    except EntryRefused as refusal:
        raise ValueError(str(refusal)) from None
    return f"stopped {count} run(s)"


def automation_actions() -> list[Action]:
    return [
        Action("workflow.start", _l("Start another workflow"), run=run_workflow_start,
               settings=[Setting("workflow_id", _l("Workflow"), kind="choice", required=True, choices=WORKFLOWS)]),
        Action("workflow.stop", _l("Stop another workflow"), run=run_workflow_stop,
               settings=[Setting("workflow_id", _l("Workflow"), kind="choice", required=True, choices=WORKFLOWS)]),
    ]
