"""Creating, checking, publishing, activating and pausing workflows.

The draft (``Workflow.definition``) is what the editor changes. Activation
checks it and freezes it as a new :class:`WorkflowVersion`; later edits of a
live workflow stay in the draft until "publish changes", and runs in
progress keep the version they started on.
"""
from __future__ import annotations

from flask import current_app

from ..models import CustomField, utcnow
from . import engine
from .definition import entry_rules, walk
from .forms import check_values
from .models import RUN_ACTIVE, Workflow, WorkflowRun, WorkflowVersion, empty_definition
from .steps import kind_of, step_kinds


def create_workflow(name: str, definition: dict | None = None, description: str = "",
                    template_id: str = "") -> Workflow:
    name = (name or "").strip()
    if not name:
        raise ValueError("A workflow needs a name.")
    return Workflow.create(name=name[:200], description=description, definition=definition or empty_definition(),
                           template_id=template_id)


def save_draft(workflow: Workflow, definition: dict) -> Workflow:
    workflow.definition = definition
    workflow.has_changes = workflow.version > 0
    workflow.updated_at = utcnow()
    workflow.save()
    return workflow


def problems(definition: dict) -> list[str]:
    """Everything that stops activation, in words a marketer understands."""
    registries = current_app.extensions["couvee"].registries
    found = []
    triggers = definition.get("triggers") or []
    if not triggers:
        found.append("Add a trigger: what makes a contact enter this workflow?")
    for number, trigger in enumerate(triggers, 1):
        trigger_type = registries.trigger_types.get(trigger.get("type") or "")
        if trigger_type is None:
            found.append(f"Trigger {number}: “{trigger.get('type')}” is not available (is its plugin active?).")
            continue
        found += [f"Trigger “{trigger_type.label}”: {p}" for p in check_values(trigger_type.settings,
                                                                              trigger.get("settings") or {})]
        found += _field_problems(f"Trigger “{trigger_type.label}”", trigger.get("settings") or {})
    if not definition.get("steps"):
        found.append("Add at least one step.")
    kinds = step_kinds()
    for step, _ in walk(definition.get("steps") or []):
        label = step.get("note") or step["id"]
        if step.get("type") == "action":
            action = registries.actions.get(step.get("action") or "")
            if action is None:
                found.append(f"Step “{label}”: the action “{step.get('action')}” is not available — "
                             f"enable the plugin that provides it ({plugin_hint(step.get('action'))}).")
                continue
            settings = step.get("settings") or {}
            named = f"Step “{step.get('note') or action.label}”"
            found += [f"{named}: {p}" for p in check_values(action.settings, settings) + action.problems(settings)]
            continue
        kind = kinds.get(kind_of(step))
        if kind is None:
            found.append(f"Step {step['id']}: unknown kind of step {kind_of(step)!r}.")
            continue
        found += [f"Step “{kind.label}”: {p}" for p in check_values(kind.settings(), step.get("settings") or {})]
    rules = entry_rules(definition)
    if rules["mode"] == "reentry" and int(rules.get("reentry_days") or 0) < 0:
        found.append("Re-entry needs a number of days (0 or more).")
    return found


def _field_problems(where: str, settings: dict) -> list[str]:
    key = settings.get("field")
    if key and key not in ("email", "first_name", "last_name") and not CustomField.select().where(
            CustomField.key == key).exists():
        return [f"{where}: the field “{key}” does not exist (create it under Fields)."]
    return []


def plugin_hint(action_id: str | None) -> str:
    """Which plugin to enable for ``action_id``, in words. Core knows no
    plugin's actions: a registered action names its owner; a missing one is
    looked for among the plugins that are installed but inactive (the one
    named like the action's namespace, ``email`` for ``email.send``, else all
    of them: a disabled plugin is never imported, so its actions are unknown)."""
    couvee = current_app.extensions["couvee"]
    owner = couvee.registries.actions.owner(action_id or "")
    inactive = {name: info.title or name for name, info in sorted(couvee.discovered.items())
                if not couvee.hooks.is_active(name)}
    namespace = (action_id or "").partition(".")[0]
    if owner:
        return couvee.discovered[owner].title if owner in couvee.discovered else owner
    if namespace in inactive:
        return inactive[namespace]
    if len(inactive) > 1:
        return "one of: " + ", ".join(inactive.values())
    return next(iter(inactive.values()), "no installed plugin provides it")


def publish(workflow: Workflow) -> WorkflowVersion:
    """Freeze the draft as the next version; new runs start on it."""
    number = (WorkflowVersion.select(WorkflowVersion.number).where(WorkflowVersion.workflow == workflow.id)
              .order_by(WorkflowVersion.number.desc()).scalar() or 0) + 1
    version = WorkflowVersion.create(workflow=workflow.id, number=number, definition=workflow.definition)
    Workflow.update(version=number, has_changes=False, updated_at=utcnow()).where(
        Workflow.id == workflow.id).execute()
    workflow.version, workflow.has_changes = number, False
    return version


def activate(workflow: Workflow) -> list[str]:
    """Check, publish if needed, activate and resume held runs. Returns the
    problems (nothing changed) or an empty list."""
    found = problems(workflow.definition)
    if found:
        return found
    if workflow.has_changes or not workflow.version:
        publish(workflow)
    Workflow.update(status="active", updated_at=utcnow()).where(Workflow.id == workflow.id).execute()
    workflow.status = "active"
    for run in WorkflowRun.select().where((WorkflowRun.workflow == workflow.id) & WorkflowRun.status.in_(RUN_ACTIVE)):
        engine.schedule(run, at=run.wake_at)
    return []


def publish_changes(workflow: Workflow) -> list[str]:
    """Publish a live workflow's edited draft (checked first)."""
    found = problems(workflow.definition)
    if not found:
        publish(workflow)
    return found


def pause(workflow: Workflow) -> None:
    """No new entries and no step runs; runs in progress wait for activation."""
    Workflow.update(status="paused", updated_at=utcnow()).where(Workflow.id == workflow.id).execute()
    workflow.status = "paused"
