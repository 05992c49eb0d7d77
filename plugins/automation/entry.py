"""Contacts entering and leaving workflows: triggers, entry rules, manual
adds and removals, exits on leaving a segment, and the answers to
wait-for-event steps. All of it reacts to the ``contact_event`` hook.

Entry rules (``definition["entry"]``): ``once`` (a contact goes through the
workflow once in its life) or ``reentry`` after ``reentry_days`` since its
last entry (never while a run is in progress); ``exit_segment_id`` takes the
contact out when it leaves that segment.
"""
from __future__ import annotations

import datetime as dt
import logging

from flask import current_app

from core import Contact, Event, batch_memo, counts_as_interaction, emit, event_kinds, translation_domain, utcnow
from . import engine
from .definition import StepMap, entry_rules
from .logtext import N_, log_key
from .models import RUN_ACTIVE, StepExecution, Workflow, WorkflowRun, WorkflowVersion
from .steps import ANY_INTERACTION, event_matches_pattern

log = logging.getLogger("couvee.automation")
_ = translation_domain(__name__).gettext


class EntryRefused(Exception):
    """Why a contact could not be put in a workflow (shown to the user)."""


def _workflow(workflow) -> Workflow:
    if isinstance(workflow, Workflow):
        return workflow
    found = Workflow.get_or_none(Workflow.id == int(workflow))
    if found is None:
        raise EntryRefused(f"there is no workflow {workflow!r}")
    return found


def _contact(contact) -> Contact:
    return contact if isinstance(contact, Contact) else Contact.get_by_id(int(contact))


def active_run(workflow_id: int, contact_id: int) -> WorkflowRun | None:
    return WorkflowRun.get_or_none((WorkflowRun.workflow == workflow_id) & (WorkflowRun.contact == contact_id)
                                   & WorkflowRun.status.in_(RUN_ACTIVE))


def _entry_key(workflow: Workflow, contact: Contact, rules: dict, key: str | None) -> str:
    base = f"{workflow.id}:{contact.id}"
    if rules["mode"] == "once" and not key.startswith("manual"):
        return base
    return f"{base}:{key}"


def start_workflow(contact, workflow, reason: str = "added by hand", key: str | None = None,
                   manual: bool = False, run_now: bool = False, definition: dict | None = None) -> WorkflowRun:
    """Put ``contact`` in ``workflow`` (both objects or ids) and queue its first step.

    ``key`` makes the entry idempotent (the same triggering event never
    enters twice); ``manual`` entries (admin, API, ``workflow.start``) skip
    the "once per contact" rule but never create a second run in progress.
    ``run_now`` (already in a worker, e.g. reacting to an event) executes the
    first steps in this job instead of queueing one: lower latency, one job
    less per contact. ``definition`` is the live version's, when the caller
    has already read it.
    Raises :class:`EntryRefused` with the reason when the rules say no.
    """
    workflow, contact = _workflow(workflow), _contact(contact)
    if workflow.status != "active" or not workflow.version:
        raise EntryRefused(_("the workflow “%(name)s” is not active", name=workflow.name))
    if definition is None:
        definition = WorkflowVersion.get((WorkflowVersion.workflow == workflow.id)
                                         & (WorkflowVersion.number == workflow.version)).definition
    rules = entry_rules(definition)
    key = key or f"manual:{utcnow().timestamp()}"
    if manual and not key.startswith("manual"):
        key = f"manual:{key}"
    _check_entry_rules(workflow, contact, rules, manual)
    entry_key = _entry_key(workflow, contact, rules, key)
    steps = StepMap(definition)
    fresh = dict(workflow=workflow.id, version=workflow.version, contact=contact.id, step_id=steps.start(definition),
                 entry_key=entry_key, reason=reason[:250], status="running", token=0, started_at=utcnow())
    inserted = list(WorkflowRun.insert(**fresh).on_conflict_ignore().returning(WorkflowRun.id).execute())
    if not inserted:
        raise EntryRefused(_("%(contact)s already entered “%(name)s” for this reason", contact=contact.display_name,
                             name=workflow.name))
    run = WorkflowRun(id=inserted[0].id, error="", waiting_for=None, wake_at=None, finished_at=None,
                      updated_at=fresh["started_at"], **fresh)
    with engine.run_logs():
        engine.write_log(run, "entered", f"entered (version {run.version}): {reason}",
                         key=log_key(N_("entered (version %(version)s): %(reason)s"), version=run.version,
                                     reason=reason))
        emit(contact, "workflow_entered", {"workflow_id": workflow.id}, source="automation")
        if run_now:
            engine.walk(run, contact, steps)
        else:
            engine.schedule(run)
    return run


def _check_entry_rules(workflow: Workflow, contact: Contact, rules: dict, manual: bool) -> None:
    """Raise :class:`EntryRefused` when a run in progress, or the entry rules
    (once per contact, re-entry delay), keep ``contact`` out. One query."""
    earlier = list(WorkflowRun.select(WorkflowRun.status, WorkflowRun.started_at).where(
        (WorkflowRun.workflow == workflow.id) & (WorkflowRun.contact == contact.id)))
    if any(run.status in RUN_ACTIVE for run in earlier):
        raise EntryRefused(_("%(contact)s is already in “%(name)s”", contact=contact.display_name, name=workflow.name))
    if manual or not earlier:
        return
    if rules["mode"] == "once":
        raise EntryRefused(_("%(contact)s already went through “%(name)s” (once per contact)",
                             contact=contact.display_name, name=workflow.name))
    if rules["mode"] == "reentry":
        since = utcnow() - dt.timedelta(days=int(rules.get("reentry_days") or 0))
        if any(run.started_at > since for run in earlier):
            raise EntryRefused(_("%(contact)s entered “%(name)s” less than %(days)s days ago",
                                 contact=contact.display_name, name=workflow.name, days=rules.get("reentry_days")))


def try_start(contact, workflow, reason: str, key: str, run_now: bool = False,
              definition: dict | None = None) -> WorkflowRun | None:
    """:func:`start_workflow` for triggers: a refusal is normal, not an error."""
    try:
        return start_workflow(contact, workflow, reason=reason, key=key, run_now=run_now, definition=definition)
    except EntryRefused as refusal:
        log.debug("no entry: %s", refusal)
        return None


def stop_workflow(contact, workflow, reason: str = "removed by hand") -> int:
    """Take ``contact`` out of ``workflow``'s runs in progress; returns how many."""
    workflow, contact = _workflow(workflow), _contact(contact)
    runs = WorkflowRun.select().where((WorkflowRun.workflow == workflow.id) & (WorkflowRun.contact == contact.id)
                                      & WorkflowRun.status.in_(RUN_ACTIVE))
    return sum(1 for run in runs if engine.exit_run(run, reason))


# --- reacting to events -----------------------------------------------------------------


def live_definitions() -> list[tuple[Workflow, dict]]:
    """Active workflows with the definition of the version new runs start on."""
    rows = (WorkflowVersion.select(WorkflowVersion, Workflow)
            .join(Workflow, on=((Workflow.id == WorkflowVersion.workflow)
                                & (Workflow.version == WorkflowVersion.number)))
            .where(Workflow.status == "active").order_by(Workflow.id))
    return [(row.workflow, row.definition) for row in rows]


def on_event(event: Event) -> None:
    """``contact_event``: exits, answers to waits, then triggers. A kind that
    no trigger and no wait step can look for costs no query at all."""
    with engine.unit_of_work():
        if event.kind == "segment_left":
            contact = Contact.get_or_none(Contact.id == event.contact_id)
            if contact is None:
                return
            exit_on_segment_left(contact, (event.data or {}).get("segment_id"))
        if can_be_awaited(event.kind):
            resolve_waits(event)
        if event.kind in triggering_kinds():
            start_triggered(None, event)


def triggering_kinds() -> set[str]:
    """Event kinds that some event trigger type reacts to (from the registry)."""
    registry = current_app.extensions["couvee"].registries.trigger_types
    return {kind for trigger_type in registry if trigger_type.kind != "time"
            for kind in trigger_type.event_kinds}


def can_be_awaited(kind: str) -> bool:
    """Whether a wait-for-event step can wait for ``kind``: any kind offered
    to triggers, or an interaction (“any interaction”)."""
    registered = event_kinds().get(kind)
    return registered is None or registered.can_trigger or registered.interaction


def start_triggered(contact: Contact | None, event: Event) -> list[WorkflowRun]:
    """Start the live workflows whose trigger matches ``event``; the contact
    is read only when one does (``None``: not read yet)."""
    registry = current_app.extensions["couvee"].registries.trigger_types
    started = []
    for workflow, definition in batch_memo("automation.live_definitions", live_definitions):
        for trigger in definition.get("triggers") or []:
            trigger_type = registry.get(trigger.get("type") or "")
            if trigger_type is None or trigger_type.kind == "time" or event.kind not in trigger_type.event_kinds:
                continue
            settings = trigger.get("settings") or {}
            if trigger_type.matches is not None and not trigger_type.matches(event, settings):
                continue
            contact = contact or Contact.get_or_none(Contact.id == event.contact_id)
            if contact is None:
                return started
            run = try_start(contact, workflow, f"{trigger_type.label} (event #{event.id})", key=f"event:{event.id}",
                            run_now=True, definition=definition)
            if run is not None:
                started.append(run)
            break
    return started


def awaited_kinds() -> set[str]:
    """The event kinds some run is waiting for (one query on an index)."""
    rows = WorkflowRun.select(WorkflowRun.waiting_for).where(WorkflowRun.waiting_for.is_null(False)).distinct()
    return {row.waiting_for for row in rows}


def resolve_waits(event: Event) -> int:
    """Move the contact's runs waiting for this event into their “yes” branch."""
    kinds = [event.kind] + ([ANY_INTERACTION] if counts_as_interaction(event.kind) else [])
    if not batch_memo("automation.awaited_kinds", awaited_kinds).intersection(kinds):
        return 0  # (a wait begun after this batch was claimed cannot be answered by its events: older)
    runs = WorkflowRun.select().where((WorkflowRun.contact == event.contact_id) & (WorkflowRun.status == "waiting")
                                      & WorkflowRun.waiting_for.in_(kinds))
    moved = 0
    for run in runs:
        step = StepMap(engine.definition_of(run)).steps.get(run.step_id) or {}
        execution = StepExecution.get_or_none((StepExecution.run == run.id) & (StepExecution.step_id == run.step_id))
        if execution is None or execution.status != "waiting" or event.created_at < execution.started_at:
            continue
        if not event_matches_pattern(event.data, (step.get("settings") or {}).get("match") or ""):
            continue
        if engine.finish(execution, outcome="yes"):
            engine.write_log(run, "branch", f"{event.kind} received (event #{event.id}): takes the “yes” branch",
                             run.step_id, log_key(N_("%(kind)s received (event #%(event)s): takes the “yes” branch"),
                                                  kind=event.kind, event=event.id))
            if engine._set_run(run, status="running", wake_at=None, waiting_for=None,
                               step_id=StepMap(engine.definition_of(run)).next_after(run.step_id, "yes")):
                engine.schedule(run)
                moved += 1
    return moved


def exit_on_segment_left(contact: Contact, segment_id) -> int:
    if not segment_id:
        return 0
    exited = 0
    for run in WorkflowRun.select().where((WorkflowRun.contact == contact.id) & WorkflowRun.status.in_(RUN_ACTIVE)):
        rules = entry_rules(engine.definition_of(run))
        if str(rules.get("exit_segment_id") or "") == str(segment_id):
            exited += engine.exit_run(run, f"left segment #{segment_id}")
    return exited
