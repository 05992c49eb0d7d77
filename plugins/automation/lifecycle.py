"""Creating, checking, publishing, activating and pausing workflows.

The draft (``Workflow.definition``) is what the editor changes. Activation
checks it and freezes it as a new :class:`WorkflowVersion`; later edits of a
live workflow stay in the draft until "publish changes", and runs in
progress keep the version they started on.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app

from core import Contact, CustomField, translation_domain, utcnow
from . import engine
from .definition import entry_rules, walk
from .forms import check_values
from .models import RUN_ACTIVE, Workflow, WorkflowRun, WorkflowVersion, empty_definition
from .steps import kind_of, step_kinds

_ = translation_domain(__name__).gettext


def create_workflow(name: str, definition: dict | None = None, description: str = "",
                    template_id: str = "") -> Workflow:
    name = (name or "").strip()
    if not name:
        raise ValueError(_("A workflow needs a name."))
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
        found.append(_("Add a trigger: what makes a contact enter this workflow?"))
    for number, trigger in enumerate(triggers, 1):
        trigger_type = registries.trigger_types.get(trigger.get("type") or "")
        if trigger_type is None:
            found.append(_("Trigger %(number)s: “%(type)s” is not available (is its plugin active?).", number=number,
                           type=trigger.get("type")))
            continue
        where = _("Trigger “%(label)s”", label=trigger_type.label)
        found += [_("%(where)s: %(problem)s", where=where, problem=p)
                  for p in check_values(trigger_type.settings, trigger.get("settings") or {})]
        found += _field_problems(where, trigger.get("settings") or {})
    if not definition.get("steps"):
        found.append(_("Add at least one step."))
    kinds = step_kinds()
    for step, _branch in walk(definition.get("steps") or []):
        label = step.get("note") or step["id"]
        if step.get("type") == "action":
            action = registries.actions.get(step.get("action") or "")
            if action is None:
                found.append(_("Step “%(label)s”: the action “%(action)s” is not available — enable the plugin "
                               "that provides it (%(plugin)s).", label=label, action=step.get("action"),
                               plugin=plugin_hint(step.get("action"))))
                continue
            settings = step.get("settings") or {}
            named = _("Step “%(label)s”", label=step.get("note") or action.label)
            found += [_("%(where)s: %(problem)s", where=named, problem=p)
                      for p in check_values(action.settings, settings) + action.problems(settings)]
            continue
        kind = kinds.get(kind_of(step))
        if kind is None:
            found.append(_("Step %(id)s: unknown kind of step “%(kind)s”.", id=step["id"], kind=kind_of(step)))
            continue
        named = _("Step “%(label)s”", label=kind.label)
        found += [_("%(where)s: %(problem)s", where=named, problem=p)
                  for p in check_values(kind.settings(), step.get("settings") or {})]
    rules = entry_rules(definition)
    if rules["mode"] == "reentry" and int(rules.get("reentry_days") or 0) < 0:
        found.append(_("Re-entry needs a number of days (0 or more)."))
    return found


def _field_problems(where: str, settings: dict) -> list[str]:
    key = settings.get("field")
    if key and key not in ("email", "first_name", "last_name") and not CustomField.select().where(
            CustomField.key == key).exists():
        return [_("%(where)s: the field “%(key)s” does not exist (create it under Fields).", where=where, key=key)]
    return []


def plugin_hint(action_id: str | None) -> str:
    """Which plugin to enable for ``action_id``, in words. This plugin knows no other
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
        return _("one of: %(plugins)s", plugins=", ".join(inactive.values()))
    return next(iter(inactive.values()), None) or _("no installed plugin provides it")


def publish(workflow: Workflow) -> WorkflowVersion:
    """Freeze the draft as the next version; new runs start on it."""
    number = (WorkflowVersion.select(WorkflowVersion.number).where(WorkflowVersion.workflow == workflow.id)
              .order_by(WorkflowVersion.number.desc()).scalar() or 0) + 1
    version = WorkflowVersion.create(workflow=workflow.id, number=number, definition=workflow.definition)
    Workflow.update(version=number, has_changes=False, updated_at=utcnow()).where(
        Workflow.id == workflow.id).execute()
    workflow.version, workflow.has_changes = number, False
    return version


@dataclass
class WorkflowAudience:
    """The pre-send audience check of a workflow's sending steps.

    ``known``: the triggers name their population (segment members, contacts
    with a tag), counted in ``population``; otherwise (an event trigger) every
    contact that could enter now is counted, and ``basis`` says so. ``steps``:
    ``(step label, AudienceCheck)`` for each step whose action answers
    ``Action.audience``; conditions and waits before a step are not applied
    (the figures are an upper bound)."""

    known: bool
    population: int
    basis: str
    steps: list = field(default_factory=list)

    @property
    def blocked(self) -> list[str]:
        """The labels of the steps that would reach nobody now."""
        return [label for label, check in self.steps if check.nobody]

    def refusal(self) -> str:
        """Why activation is refused: a step that would reach nobody of a known,
        non-empty population ("" otherwise: an event trigger, or nobody in the
        population yet, is shown as a warning, not refused)."""
        if not self.known or not self.population:
            return ""
        blocked = [_("step “%(label)s”: %(refusal)s", label=label, refusal=check.refusal())
                   for label, check in self.steps if check.nobody]
        if not blocked:
            return ""
        return _("The email steps would reach nobody of the contacts this workflow is for — %(steps)s",
                 steps="; ".join(blocked))


def _population(definition: dict):
    """(known, query of contact ids, trigger labels) from the triggers."""
    registry = current_app.extensions["couvee"].registries.trigger_types
    queries, labels = [], []
    for trigger in definition.get("triggers") or []:
        trigger_type = registry.get(trigger.get("type") or "")
        labels.append(str(trigger_type.label) if trigger_type else str(trigger.get("type")))
        query = trigger_type.population(trigger.get("settings") or {}) if trigger_type and trigger_type.population \
            else None
        if query is None:
            return False, Contact.select(Contact.id), labels[-1:]
        queries.append(query)
    if not queries:
        return False, Contact.select(Contact.id), []
    condition = Contact.id.in_(queries[0])
    for query in queries[1:]:
        condition |= Contact.id.in_(query)
    return True, Contact.select(Contact.id).where(condition), labels


def audience(workflow: Workflow, definition: dict | None = None) -> WorkflowAudience | None:
    """Who the sending steps of ``definition`` (the draft by default) would
    reach now, or None when no step sends. Contacts who cannot enter (already
    went through a "once" workflow, or inside it now) are left out."""
    definition = definition if definition is not None else workflow.definition
    actions = current_app.extensions["couvee"].registries.actions
    sending = [(step, actions.get(step.get("action") or "")) for step, _branch in walk(definition.get("steps") or [])
               if step.get("type") == "action"]
    sending = [(step, action) for step, action in sending if action is not None and action.audience is not None]
    if not sending:
        return None
    known, query, labels = _population(definition)
    runs = WorkflowRun.select(WorkflowRun.contact).where(WorkflowRun.workflow == workflow.id)
    if entry_rules(definition)["mode"] != "once":
        runs = runs.where(WorkflowRun.status.in_(RUN_ACTIVE))
    candidates = query.where(Contact.id.not_in(runs)) if workflow.id else query
    total = candidates.count()
    inside = query.count() - total if workflow.id else 0
    basis = _audience_basis(known, total, inside, labels)
    found = WorkflowAudience(known, total, basis)
    for step, action in sending:
        found.steps.append((step.get("note") or action.label, action.audience(step.get("settings") or {}, candidates)))
    return found


def _audience_basis(known: bool, total: int, inside: int, labels: list[str]) -> str:
    """What the audience figures are counted over, in one sentence."""
    if known:
        triggers = labels[0] if labels else ""
        for label in labels[1:]:
            triggers = _("%(left)s or %(right)s", left=triggers, right=label)
        if inside:
            return _("Counted over the %(total)s contact(s) the trigger selects now (%(triggers)s) (%(inside)s already "
                     "went through this workflow and cannot enter again).", total=total, triggers=triggers,
                     inside=inside)
        return _("Counted over the %(total)s contact(s) the trigger selects now (%(triggers)s).", total=total,
                 triggers=triggers)
    cause = _("“%(trigger)s” is an event", trigger=labels[0]) if labels else _("there is no trigger yet")
    if inside:
        return _("No population is known in advance (%(cause)s): counted over all %(total)s contacts who could enter "
                 "now (%(inside)s already went through this workflow and cannot enter again); who really enters "
                 "depends on who triggers it.", cause=cause, total=total, inside=inside)
    return _("No population is known in advance (%(cause)s): counted over all %(total)s contacts who could enter "
             "now; who really enters depends on who triggers it.", cause=cause, total=total)


def activate(workflow: Workflow, anyway: bool = False) -> list[str]:
    """Check, publish if needed, activate and resume held runs. Returns the
    problems (nothing changed) or an empty list. A sending step that would
    reach nobody of the triggers' known population is a problem unless
    ``anyway`` (the admin confirmed it)."""
    found = problems(workflow.definition) or _audience_problems(workflow, anyway)
    if found:
        return found
    if workflow.has_changes or not workflow.version:
        publish(workflow)
    Workflow.update(status="active", updated_at=utcnow()).where(Workflow.id == workflow.id).execute()
    workflow.status = "active"
    for run in WorkflowRun.select().where((WorkflowRun.workflow == workflow.id) & WorkflowRun.status.in_(RUN_ACTIVE)):
        engine.schedule(run, at=run.wake_at)
    return []


def _audience_problems(workflow: Workflow, anyway: bool) -> list[str]:
    check = None if anyway else audience(workflow)
    refusal = check.refusal() if check else ""
    return [_("%(refusal)s. Fix the audience, or tick “activate anyway”.", refusal=refusal)] if refusal else []


def publish_changes(workflow: Workflow, anyway: bool = False) -> list[str]:
    """Publish a live workflow's edited draft (checked first)."""
    found = problems(workflow.definition) or _audience_problems(workflow, anyway)
    if not found:
        publish(workflow)
    return found


def pause(workflow: Workflow) -> None:
    """No new entries and no step runs; runs in progress wait for activation."""
    Workflow.update(status="paused", updated_at=utcnow()).where(Workflow.id == workflow.id).execute()
    workflow.status = "paused"
