"""Core's ``core_owners`` module, registered like a plugin: custom fields
admin, assignment rules, round robin and the ``owner.assign`` action."""
from __future__ import annotations

from ..extension import Action, AdminMenuItem, Migration, Setting, SettingsGroup, SetupStep
from ..hookspecs import hookimpl


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
    from .fields_views import fields_blueprint
    from .views import owners_blueprint

    return [fields_blueprint, owners_blueprint]


@hookimpl
def register_admin_menu():
    return [
        AdminMenuItem("fields", "Fields", "fields.index", order=20, roles=("admin", "marketer")),
        AdminMenuItem("assignment", "Assignment", "owners.index", order=25, roles=("admin",)),
    ]


@hookimpl
def register_settings():
    return [
        SettingsGroup("owners", "Owners", [
            Setting("assign_on_create", "Assign an owner to new contacts", kind="bool", default=True,
                    help="By the assignment rules, then round robin."),
            Setting("rep_roles", "Round robin roles", default="sales",
                    help="Comma-separated roles whose active, available users take turns."),
        ])
    ]


def check_assign_settings(settings: dict) -> list[str]:
    """``owner.assign`` with “a given user” needs an active user (activation check)."""
    from ..models import User

    if (settings.get("mode") or "rules") != "user":
        return []
    try:
        user_id = int(settings.get("user_id"))
    except (TypeError, ValueError):
        return ["choose the user who gets the contacts (User, for “a given user”)."]
    if not User.select().where((User.id == user_id) & (User.is_active == True)).exists():  # noqa: E712
        return [f"user {user_id} does not exist or is deactivated."]
    return []


@hookimpl
def register_actions():
    from .assignment import run_assign_action

    return [
        Action(
            id="owner.assign",
            label="Assign an owner",
            run=run_assign_action,
            validate=check_assign_settings,
            description="By the assignment rules then round robin, by round robin, or to a given user. "
                        "Rules and round robin only fill an empty owner.",
            settings=[
                Setting("mode", "How", kind="choice", default="rules", choices=[
                    ("rules", "Assignment rules, then round robin"),
                    ("round_robin", "Round robin"),
                    ("user", "A given user"),
                ]),
                Setting("user_id", "User (for “a given user”)", kind="int"),
            ],
        )
    ]


@hookimpl
def contact_created(contact):
    from .assignment import on_contact_created

    on_contact_created(contact)


def _has_custom_fields() -> bool:
    from ..models import CustomField

    return CustomField.select().exists()


@hookimpl
def register_setup_steps():
    return [SetupStep("fields.first", "Describe your contacts with fields", "fields.index", _has_custom_fields,
                      help="Company, job title, interests...: the fields your forms, imports and segments use.",
                      order=20)]
