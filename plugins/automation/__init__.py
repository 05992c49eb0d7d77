"""Workflows: triggers and a tree of steps (delays, conditions, actions,
waits for an event), run per contact by RQ jobs (:mod:`.engine`). Definitions
and their published versions (:mod:`.definition`, :mod:`.lifecycle`,
:mod:`.versions`), entry rules (:mod:`.entry`), step kinds (:mod:`.steps`),
the plugin's own trigger types and actions (:mod:`.triggers`,
:mod:`.actions`), time-based triggers and run recovery (:mod:`.timebased`),
templates (:mod:`.library`), admin pages (:mod:`.views`), REST endpoints
(:mod:`.api`) and the ``workflow_entered`` / ``workflow_completed`` kinds
(:mod:`.kinds`). See docs/automation.md.

Other plugins contribute trigger types and actions through core's hooks
(``register_trigger_types``, ``register_actions``); when this plugin is off
those are simply not used. Driving it from Python (tests, benchmarks)::

    from plugins.automation import runs_of, start_workflow, stop_workflow
    start_workflow(contact, workflow, reason="...")   # manual add (entry rules apply)
    stop_workflow(contact, workflow, reason="...")    # take out of runs in progress
    runs_of(contact)                                  # [WorkflowRun], newest first

It was core's internal plugin ``core_automation`` until issue 18; its manifest
says ``formerly = "core_automation"`` so existing installs keep their tables
and migration history. Deactivated, its menu entry, pages, API routes,
periodic jobs, event kinds and contact-page panel disappear; its tables
(workflows, versions, runs, logs) are kept.
"""
from __future__ import annotations

from flask import render_template
from markupsafe import Markup

from core import AdminMenuItem, Migration, PeriodicJob, hookimpl, translation_domain

from .entry import EntryRefused, start_workflow, stop_workflow  # re-exported for tests and benchmarks
from .models import AUTOMATION_MODELS, RunLog, StepExecution, Workflow, WorkflowRun, WorkflowVersion

_l = translation_domain(__name__).lazy_gettext


def runs_of(contact) -> list:
    """The contact's workflow runs, newest first."""
    contact_id = getattr(contact, "id", contact)
    return list(WorkflowRun.select().where(WorkflowRun.contact == contact_id).order_by(WorkflowRun.id.desc()))


@hookimpl
def register_models():
    return list(AUTOMATION_MODELS)


@hookimpl
def register_migrations():
    from .migrations import add_log_keys

    return [Migration.create_tables(1, "workflows, versions, runs, step claims and run logs", AUTOMATION_MODELS),
            Migration(2, "run log lines shown in the reader's language", add_log_keys)]


@hookimpl
def register_event_kinds():
    from .kinds import workflow_event_kinds

    return workflow_event_kinds()


@hookimpl
def register_trigger_types(event_kinds):
    from .triggers import automation_trigger_types

    return automation_trigger_types(event_kinds)


@hookimpl
def register_actions():
    from .actions import automation_actions

    return automation_actions()


@hookimpl
def register_blueprints():
    from .api import automation_api
    from .views import automation_admin

    return [automation_admin, automation_api]


@hookimpl
def register_admin_menu():
    return [AdminMenuItem("workflows", _l("Workflows"), "automation.index", order=30, roles=("admin", "marketer"))]


@hookimpl
def register_periodic_jobs():
    from .timebased import recover_runs, run_time_triggers

    return [
        PeriodicJob("automation.time_triggers", run_time_triggers, cron="10 5 * * *"),
        PeriodicJob("automation.recover", recover_runs, interval=300),
    ]


@hookimpl
def contact_event(event):
    from .entry import on_event

    on_event(event)


@hookimpl
def tpl_slot(slot, context):
    if slot != "contact_main" or context.get("contact") is None:
        return None
    from .views import contact_panel_context

    return Markup(render_template("automation/contact_panel.html",
                                  **contact_panel_context(context["contact"])))


@hookimpl
def trigger_type_renamed(old_type, new_type, convert):
    from .renames import rename_saved_triggers

    return rename_saved_triggers(old_type, new_type, convert)
