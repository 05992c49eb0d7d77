"""Automation as an internal plugin (``core_automation``): its tables,
trigger types, actions, admin pages, REST endpoints, periodic jobs, the
contact page panel, and the ``contact_event`` hook that drives the engine."""
from __future__ import annotations

from flask import render_template
from markupsafe import Markup

from ..extension import AdminMenuItem, Migration, PeriodicJob
from ..hookspecs import hookimpl
from ..i18n import core_domain
from .models import AUTOMATION_MODELS

_l = core_domain().lazy_gettext


@hookimpl
def register_models():
    return list(AUTOMATION_MODELS)


@hookimpl
def register_migrations():
    return [Migration.create_tables(1, "workflows, versions, runs, step claims and run logs", AUTOMATION_MODELS)]


@hookimpl
def register_event_kinds():
    from .kinds import workflow_event_kinds

    return workflow_event_kinds()


@hookimpl
def register_trigger_types(event_kinds):
    from .triggers import core_trigger_types

    return core_trigger_types(event_kinds)


@hookimpl
def register_actions():
    from .actions import core_actions

    return core_actions()


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

    return Markup(render_template("core/automation/contact_panel.html",
                                  **contact_panel_context(context["contact"])))
