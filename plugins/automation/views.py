"""Workflows in the admin: list, template library, the editor (diagram with
per-step counters, triggers, entry rules, steps added/edited/removed with
forms generated from their settings, activation check), run logs, and the
contact page panel."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from peewee import fn

from core import Contact, current_user, roles_required, translation_domain
from . import lifecycle, versions
from .definition import BRANCHING, DefinitionError, entry_rules, find, insert_step, remove_step, update_step
from .entry import EntryRefused, start_workflow, stop_workflow
from .forms import form_fields, parse_form
from .library import templates
from .preview import preview_step, token_settings
from .models import RUN_ACTIVE, RunLog, StepExecution, Workflow, WorkflowRun
from .steps import kind_of, step_kinds

automation_admin = Blueprint("automation", __name__, url_prefix="/admin/workflows", static_folder="static")
EDITORS = ("admin", "marketer")
LOG_PAGE = 100
_ = translation_domain(__name__).gettext


def _workflow(workflow_id: int) -> Workflow:
    return Workflow.get_or_none(Workflow.id == workflow_id) or abort(404)


def _registries():
    from flask import current_app

    return current_app.extensions["couvee"].registries


# --- list, create, library -------------------------------------------------------------


def run_counts() -> dict[int, dict[str, int]]:
    counts: dict[int, dict[str, int]] = {}
    query = (WorkflowRun.select(WorkflowRun.workflow, WorkflowRun.status, fn.COUNT(WorkflowRun.id).alias("n"))
             .group_by(WorkflowRun.workflow, WorkflowRun.status).tuples())
    for workflow_id, status, number in query:
        counts.setdefault(workflow_id, {})[status] = number
    return counts


@automation_admin.route("")
def index():
    workflows = list(Workflow.select().order_by(Workflow.name, Workflow.id))
    return render_template("automation/index.html", workflows=workflows, counts=run_counts(),
                           trigger_words={w.id: trigger_words(w.definition) for w in workflows},
                           active_statuses=RUN_ACTIVE)


def trigger_words(definition: dict) -> str:
    registry = _registries().trigger_types
    labels = []
    for trigger in definition.get("triggers") or []:
        trigger_type = registry.get(trigger.get("type") or "")
        labels.append(str(trigger_type.label) if trigger_type
                      else _("%(trigger)s (unavailable)", trigger=trigger.get("type")))
    if not labels:
        return _("no trigger yet")
    text = labels[0]
    for label in labels[1:]:
        text = _("%(left)s or %(right)s", left=text, right=label)
    return text


@automation_admin.route("/new", methods=["POST"])
@roles_required(*EDITORS)
def new():
    try:
        workflow = lifecycle.create_workflow(request.form.get("name", ""))
    except ValueError as error:
        flash(str(error), "error")
        return redirect(url_for("automation.index"))
    return redirect(url_for("automation.show", workflow_id=workflow.id))


@automation_admin.route("/library")
def library():
    return render_template("automation/library.html", templates=list(templates().values()))


@automation_admin.route("/library/<template_id>", methods=["POST"])
@roles_required(*EDITORS)
def use_template(template_id):
    template = templates().get(template_id) or abort(404)
    workflow = lifecycle.create_workflow(request.form.get("name") or str(template.name), template.definition(),
                                         description=str(template.description), template_id=template.id)
    flash(_("“%(name)s” created from the template. Choose %(choose)s, then activate it.", name=workflow.name,
            choose=template.choose), "success")
    return redirect(url_for("automation.show", workflow_id=workflow.id))


# --- the editor ---------------------------------------------------------------------------


def step_counters(workflow_id: int) -> dict[str, dict[str, int]]:
    """``{step_id: {entered, waiting, completed, failed}}`` over every version."""
    counters: dict[str, dict[str, int]] = {}
    query = (StepExecution.select(StepExecution.step_id, StepExecution.status, fn.COUNT(StepExecution.id))
             .where(StepExecution.workflow == workflow_id)
             .group_by(StepExecution.step_id, StepExecution.status).tuples())
    for step_id, status, number in query:
        row = counters.setdefault(step_id, {"entered": 0, "waiting": 0, "completed": 0, "failed": 0})
        row["entered"] += number
        key = {"waiting": "waiting", "done": "completed", "failed": "failed"}.get(status)
        if key:
            row[key] += number
    return counters


def describe_step(step: dict) -> str:
    if step.get("type") == "action":
        action = _registries().actions.get(step.get("action") or "")
        return str(action.label) if action else _("%(action)s (unavailable: enable its plugin)", action=step.get("action"))
    kind = step_kinds().get(kind_of(step))
    return kind.describe(step) if kind else kind_of(step)


def _can_edit() -> bool:
    user = current_user()
    return user is not None and user.role in EDITORS


@automation_admin.route("/<int:workflow_id>")
def show(workflow_id):
    workflow = _workflow(workflow_id)
    logs = (RunLog.select(RunLog, Contact).join(Contact, on=(RunLog.contact == Contact.id))
            .where(RunLog.workflow == workflow.id).order_by(RunLog.id.desc()).limit(20))
    return render_template(
        "automation/editor.html", workflow=workflow, definition=workflow.definition,
        triggers=_trigger_rows(workflow.definition), entry=entry_rules(workflow.definition),
        problems=lifecycle.problems(workflow.definition), counters=step_counters(workflow.id),
        describe=describe_step, branching=BRANCHING, logs=list(logs), can_edit=_can_edit(),
        counts=run_counts().get(workflow.id, {}), segments=_segment_choices(), older=versions.older_runs(workflow),
        audience=lifecycle.audience(workflow) if workflow.status != "active" or workflow.has_changes else None,
    )


def _segment_choices():
    from .steps import segment_choices

    return segment_choices()


def _trigger_rows(definition: dict) -> list[dict]:
    registry = _registries().trigger_types
    rows = []
    for number, trigger in enumerate(definition.get("triggers") or []):
        trigger_type = registry.get(trigger.get("type") or "")
        settings = trigger.get("settings") or {}
        words = ", ".join(_("%(label)s: %(value)s", label=s.label, value=settings.get(s.key))
                          for s in (trigger_type.settings if trigger_type else [])
                          if settings.get(s.key) not in (None, ""))
        rows.append({"number": number, "label": trigger_type.label if trigger_type else trigger.get("type"),
                     "available": trigger_type is not None, "words": words})
    return rows


def _editable(workflow_id: int) -> Workflow:
    if not _can_edit():
        abort(403)
    return _workflow(workflow_id)


def _save(workflow: Workflow, definition: dict, message: str):
    lifecycle.save_draft(workflow, definition)
    if workflow.status == "active":
        message = _("%(message)s Live runs are unchanged until you publish the changes.", message=message)
    flash(message, "success")
    return redirect(url_for("automation.show", workflow_id=workflow.id))


@automation_admin.route("/<int:workflow_id>/status", methods=["POST"])
def change_status(workflow_id):
    workflow = _editable(workflow_id)
    what = request.form.get("action")
    if what in ("activate", "publish"):
        anyway = request.form.get("anyway") == "yes"
        found = (lifecycle.activate(workflow, anyway) if what == "activate"
                 else lifecycle.publish_changes(workflow, anyway))
        if found:
            flash(_("Not activated — fix these first: %(problems)s", problems=" ".join(found)), "error")
        else:
            flash(_("“%(name)s” is live (version %(version)s).", name=workflow.name, version=workflow.version), "success")
            if request.form.get("move_runs"):
                _flash_moved(workflow, versions.move_runs(workflow, by=current_user().display_name))
    elif what == "pause":
        lifecycle.pause(workflow)
        flash(_("Paused: no new entries; contacts inside wait until you activate it again."), "success")
    return redirect(url_for("automation.show", workflow_id=workflow.id))


@automation_admin.route("/<int:workflow_id>/runs/move", methods=["POST"])
def move_runs(workflow_id):
    """Move the contacts inside older versions to the published one (where
    their step still exists); each run's log says who moved it."""
    workflow = _editable(workflow_id)
    if not workflow.version:
        flash(_("Activate the workflow first: it has no published version."), "error")
    else:
        _flash_moved(workflow, versions.move_runs(workflow, by=current_user().display_name))
    return redirect(url_for("automation.show", workflow_id=workflow.id))


def _flash_moved(workflow: Workflow, moved: versions.MoveCount) -> None:
    if not moved.total:
        flash(_("No contact was inside an older version."), "success")
        return
    if moved.staying:
        words = _("%(moving)s contact(s) moved to version %(version)s. %(staying)s stay on their version: the step "
                  "they are at is not in version %(version)s.", moving=moved.moving, staying=moved.staying,
                  version=workflow.version)
    else:
        words = _("%(moving)s contact(s) moved to version %(version)s.", moving=moved.moving, version=workflow.version)
    flash(words, "success")


@automation_admin.route("/<int:workflow_id>/entry", methods=["POST"])
def save_entry(workflow_id):
    workflow = _editable(workflow_id)
    definition = dict(workflow.definition)
    name = request.form.get("name", "").strip()
    if not name:
        flash(_("A workflow needs a name."), "error")
        return redirect(url_for("automation.show", workflow_id=workflow.id))
    try:
        days = int(request.form.get("reentry_days") or 0)
        exit_segment = int(request.form["exit_segment_id"]) if request.form.get("exit_segment_id") else None
    except ValueError:
        flash(_("Re-entry days must be a whole number."), "error")
        return redirect(url_for("automation.show", workflow_id=workflow.id))
    mode = "reentry" if request.form.get("mode") == "reentry" else "once"
    definition["entry"] = {"mode": mode, "reentry_days": max(days, 0), "exit_segment_id": exit_segment}
    workflow.name = name[:200]
    return _save(workflow, definition, _("Entry rules saved."))


@automation_admin.route("/<int:workflow_id>/delete", methods=["POST"])
def delete(workflow_id):
    workflow = _editable(workflow_id)
    if workflow.status == "active":
        flash(_("Pause the workflow before deleting it."), "error")
        return redirect(url_for("automation.show", workflow_id=workflow.id))
    name = workflow.name
    workflow.delete_instance()
    flash(_("“%(name)s” deleted with its history.", name=name), "success")
    return redirect(url_for("automation.index"))


# --- triggers -----------------------------------------------------------------------------


@automation_admin.route("/<int:workflow_id>/triggers/new", methods=["GET", "POST"])
@automation_admin.route("/<int:workflow_id>/triggers/<int:number>", methods=["GET", "POST"])
def trigger_form(workflow_id, number=None):
    workflow = _editable(workflow_id)
    triggers = list(workflow.definition.get("triggers") or [])
    if number is not None and number >= len(triggers):
        abort(404)
    current = triggers[number] if number is not None else {}
    type_id = request.values.get("type") or current.get("type")
    registry = _registries().trigger_types
    if not type_id:
        groups = {}
        for trigger_type in registry:
            groups.setdefault(trigger_type.kind, []).append(trigger_type)
        return render_template("automation/trigger_form.html", workflow=workflow, groups=groups, choosing=True)
    trigger_type = registry.get(type_id) or abort(404)
    values, errors = current.get("settings") or {}, {}
    if request.method == "POST":
        values, errors = parse_form(trigger_type.settings, request.form)
        if not errors:
            entry = {"type": trigger_type.id, "settings": values}
            if number is None:
                triggers.append(entry)
            else:
                triggers[number] = entry
            return _save(workflow, dict(workflow.definition, triggers=triggers), _("Trigger “%(label)s” saved.", label=trigger_type.label))
    return render_template("automation/trigger_form.html", workflow=workflow, trigger_type=trigger_type,
                           fields=form_fields(trigger_type.settings, values, errors), number=number,
                           choosing=False), (422 if errors else 200)


@automation_admin.route("/<int:workflow_id>/triggers/<int:number>/remove", methods=["POST"])
def remove_trigger(workflow_id, number):
    workflow = _editable(workflow_id)
    triggers = list(workflow.definition.get("triggers") or [])
    if number >= len(triggers):
        abort(404)
    triggers.pop(number)
    return _save(workflow, dict(workflow.definition, triggers=triggers), _("Trigger removed."))


# --- steps --------------------------------------------------------------------------------


def _kind_choices() -> dict[str, list[tuple[str, str, str]]]:
    names = {"delay": _("Delays"), "condition": _("Conditions"), "wait": _("Waits"), "action": _("Actions")}
    groups = {name: [] for name in names.values()}
    for kind in step_kinds().values():
        groups[names[kind.type]].append((kind.key, kind.label, kind.help))
    for action in sorted(_registries().actions, key=lambda a: str(a.label)):
        groups[names["action"]].append((f"action:{action.id}", action.label, action.description))
    return groups


def _declared(kind_key: str):
    """``(label, settings, template of the step)`` for a kind of step."""
    if kind_key.startswith("action:"):
        action = _registries().actions.get(kind_key.partition(":")[2]) or abort(404)
        return action.label, action.settings, {"type": "action", "action": action.id}
    kind = step_kinds().get(kind_key) or abort(404)
    return kind.label, kind.settings(), {"type": kind.type, "variant": kind.variant}


@automation_admin.route("/<int:workflow_id>/steps/new", methods=["GET", "POST"])
def new_step(workflow_id):
    workflow = _editable(workflow_id)
    at = request.values.get("at", "root")
    index = request.values.get("index", 0, type=int)
    kind_key = request.values.get("kind")
    if not kind_key:
        return render_template("automation/step_form.html", workflow=workflow, groups=_kind_choices(),
                               at=at, index=index, choosing=True)
    label, declared, base = _declared(kind_key)
    values, errors = {}, {}
    if request.method == "POST" and _previewing():
        return _preview_form(workflow, label, kind_key, declared, step=None, at=at, index=index)
    if request.method == "POST":
        values, errors = parse_form(declared, request.form)
        if not errors:
            step = dict(base, settings=values, note=request.form.get("note", "").strip()[:120])
            try:
                definition = insert_step(workflow.definition, at, index, step)
            except DefinitionError as error:
                abort(400, description=str(error))
            return _save(workflow, definition, _("Step “%(label)s” added.", label=label))
    return render_template("automation/step_form.html", workflow=workflow, label=label, kind=kind_key,
                           fields=form_fields(declared, values, errors), at=at, index=index, note="",
                           choosing=False, step=None, previewable=bool(token_settings(declared)),
                           preview=None), (422 if errors else 200)


@automation_admin.route("/<int:workflow_id>/steps/<step_id>", methods=["GET", "POST"])
def edit_step(workflow_id, step_id):
    workflow = _editable(workflow_id)
    step = find(workflow.definition, step_id) or abort(404)
    label, declared, _base = _declared(kind_of(step))
    values, errors = step.get("settings") or {}, {}
    note = step.get("note", "")
    if request.method == "POST" and _previewing():
        return _preview_form(workflow, label, kind_of(step), declared, step=step)
    if request.method == "POST":
        values, errors = parse_form(declared, request.form)
        note = request.form.get("note", "").strip()[:120]
        if not errors:
            return _save(workflow, update_step(workflow.definition, step_id, settings=values, note=note),
                         _("Step “%(label)s” saved.", label=label))
    return render_template("automation/step_form.html", workflow=workflow, label=label, kind=kind_of(step),
                           fields=form_fields(declared, values, errors), note=note, choosing=False,
                           step=step, previewable=bool(token_settings(declared)), preview=None), (422 if errors else 200)


def _previewing() -> bool:
    """Did the form's "Preview" button (or a contact offered by a preview) submit it?"""
    return bool(request.form.get("preview") or request.form.get("preview_as"))


def _preview_form(workflow, label, kind_key, declared, step, at="root", index=0):
    """The step form again, as typed (nothing saved), with its token texts filled for the chosen contact."""
    values, errors = parse_form(declared, request.form)
    asked = request.form.get("preview_as") or request.form.get("preview_contact", "")
    shown = preview_step(declared, values, asked)
    return render_template("automation/step_form.html", workflow=workflow, label=label, kind=kind_key,
                           fields=form_fields(declared, values, errors), at=at, index=index,
                           note=request.form.get("note", "").strip()[:120], choosing=False, step=step,
                           previewable=bool(token_settings(declared)), preview=shown)


@automation_admin.route("/<int:workflow_id>/steps/<step_id>/remove", methods=["POST"])
def delete_step(workflow_id, step_id):
    workflow = _editable(workflow_id)
    try:
        definition = remove_step(workflow.definition, step_id)
    except DefinitionError:
        abort(404)
    return _save(workflow, definition, _("Step removed."))


# --- runs and logs ------------------------------------------------------------------------


@automation_admin.route("/<int:workflow_id>/runs")
def runs(workflow_id):
    workflow = _workflow(workflow_id)
    status = request.args.get("status", "")
    query = (WorkflowRun.select(WorkflowRun, Contact).join(Contact, on=(WorkflowRun.contact == Contact.id))
             .where(WorkflowRun.workflow == workflow.id).order_by(WorkflowRun.id.desc()))
    if status:
        query = query.where(WorkflowRun.status == status)
    return render_template("automation/runs.html", workflow=workflow, runs=list(query.limit(LOG_PAGE)),
                           status=status, counts=run_counts().get(workflow.id, {}))


@automation_admin.route("/runs/<int:run_id>")
def run(run_id):
    found = WorkflowRun.get_or_none(WorkflowRun.id == run_id) or abort(404)
    logs = RunLog.select().where(RunLog.run == found.id).order_by(RunLog.id)
    return render_template("automation/run.html", run=found, logs=list(logs))


# --- the contact page ---------------------------------------------------------------------


def contact_panel_context(contact) -> dict:
    contact_runs = list(WorkflowRun.select(WorkflowRun, Workflow).join(Workflow)
                        .where(WorkflowRun.contact == contact.id).order_by(WorkflowRun.id.desc()).limit(20))
    logs = {}
    for row in (RunLog.select().where(RunLog.contact == contact.id).order_by(RunLog.id.desc()).limit(200)):
        logs.setdefault(row.run_id, []).append(row)
    inside = {r.workflow_id for r in contact_runs if r.status in RUN_ACTIVE}
    available = [w for w in Workflow.select().where(Workflow.status == "active").order_by(Workflow.name)
                 if w.id not in inside]
    return {"contact": contact, "runs": contact_runs, "logs": logs, "available": available,
            "active_statuses": RUN_ACTIVE}


@automation_admin.route("/contacts/<int:contact_id>/add", methods=["POST"])
def add_contact(contact_id):
    contact = Contact.get_or_none(Contact.id == contact_id) or abort(404)
    try:
        start_workflow(contact, request.form.get("workflow_id", type=int) or 0,
                       reason=f"added by {current_user().display_name}", manual=True)
        flash(_("%(name)s added to the workflow.", name=contact.display_name), "success")
    except EntryRefused as refusal:
        flash(_("Not added: %(reason)s.", reason=refusal), "error")
    return redirect(url_for("admin.contact", contact_id=contact.id))


@automation_admin.route("/contacts/<int:contact_id>/remove/<int:workflow_id>", methods=["POST"])
def remove_contact(contact_id, workflow_id):
    contact = Contact.get_or_none(Contact.id == contact_id) or abort(404)
    count = stop_workflow(contact, _workflow(workflow_id), reason=f"removed by {current_user().display_name}")
    flash(_("%(name)s removed from the workflow.", name=contact.display_name) if count else _("Nothing to remove."),
          "success")
    return redirect(url_for("admin.contact", contact_id=contact.id))
