"""The ``owner.assign`` workflow action (“Assign an owner”)."""
from __future__ import annotations

from core import Action, Setting, User, translation_domain

from .assignment import run_assign_action

_, _l = translation_domain(__name__).pair()


def check_assign_settings(settings: dict) -> list[str]:
    """``owner.assign`` with “a given user” needs an active user (activation check)."""
    if (settings.get("mode") or "rules") != "user":
        return []
    try:
        user_id = int(settings.get("user_id"))
    except (TypeError, ValueError):
        return [_("choose the user who gets the contacts (User, for “a given user”).")]
    if not User.select().where((User.id == user_id) & (User.is_active == True)).exists():  # noqa: E712
        return [_("user %(id)s does not exist or is deactivated.", id=user_id)]
    return []


def assign_action() -> Action:
    return Action(
        id="owner.assign",
        label=_l("Assign an owner"),
        run=run_assign_action,
        validate=check_assign_settings,
        description=_l("By the assignment rules then round robin, by round robin, or to a given user. "
                       "Rules and round robin only fill an empty owner."),
        settings=[
            Setting("mode", _l("How"), kind="choice", default="rules", choices=[
                ("rules", _l("Assignment rules, then round robin")),
                ("round_robin", _l("Round robin")),
                ("user", _l("A given user")),
            ]),
            Setting("user_id", _l("User (for “a given user”)"), kind="int"),
        ],
    )
