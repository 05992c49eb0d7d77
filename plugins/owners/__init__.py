"""Contact owners: assignment rules (:mod:`.rules`, tables in :mod:`.models`),
round robin over the available reps and the "apply rules to contacts without
owner" job (:mod:`.assignment`), the ``/admin/assignment`` page
(:mod:`.views`), the ``owner_assigned`` event kind (:mod:`.kinds`) and the
``owner.assign`` workflow action (:mod:`.actions`).

Driving it from Python (tests)::

    from plugins.owners import assign_owner
    result = assign_owner(contact)        # rules, then round robin; emits owner_assigned
    result.owner, result.how, result.problem

The owner itself is a column of core's contacts (``Contact.owner``): other
plugins set or read it without this plugin, and listen for
``owner_assigned`` by name (the Koban sync emits it when the CRM names an
owner, only while this plugin registers it). A contact created without owner
is assigned here on ``contact_created``, whoever created it.

It was core's internal plugin ``core_owners`` until issue 18; its manifest
says ``formerly = "core_owners"`` so existing installs keep their tables.
Deactivated, its page, menu entry, settings, event kind and action
disappear; its tables (rules and the round-robin counter) are kept. Custom
fields and their admin stayed in core.
"""
from __future__ import annotations

from core import AdminMenuItem, Migration, Setting, SettingsGroup, hookimpl, translation_domain

from .assignment import Assignment, assign_owner, available_reps, queue_assign_unowned

__all__ = ["Assignment", "assign_owner", "available_reps", "queue_assign_unowned"]

_l = translation_domain(__name__).lazy_gettext


def _start_round_robin(database, migrator):
    from .assignment import COUNTER
    from .models import RoundRobinCounter

    RoundRobinCounter.insert(name=COUNTER, turns=0).on_conflict_ignore().execute()


@hookimpl
def register_models():
    from .models import OWNERS_MODELS

    return list(OWNERS_MODELS)


@hookimpl
def register_migrations():
    from .models import OWNERS_MODELS

    return [Migration.create_tables(1, "assignment rules and round-robin counter", OWNERS_MODELS,
                                    then=_start_round_robin)]


@hookimpl
def register_event_kinds():
    from .kinds import owner_event_kinds

    return owner_event_kinds()


@hookimpl
def register_blueprints():
    from .views import owners_blueprint

    return [owners_blueprint]


@hookimpl
def register_admin_menu():
    return [AdminMenuItem("assignment", _l("Assignment"), "owners.index", order=25, roles=("admin",))]


@hookimpl
def register_settings():
    return [
        SettingsGroup("owners", _l("Owners"), [
            Setting("assign_on_create", _l("Assign an owner to new contacts"), kind="bool", default=True,
                    help=_l("By the assignment rules, then round robin.")),
            Setting("rep_roles", _l("Round robin roles"), default="sales",
                    help=_l("Comma-separated roles whose active, available users take turns.")),
        ])
    ]


@hookimpl
def register_actions():
    from .actions import assign_action

    return [assign_action()]


@hookimpl
def contact_created(contact):
    from .assignment import on_contact_created

    on_contact_created(contact)
