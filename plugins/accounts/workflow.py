"""The accounts plugin in workflows: the "account status changed" trigger
(fired on each contact of the account) and the "assign the account owner"
action."""
from __future__ import annotations

from core import Action, Contact, TriggerType, Setting, emit, event_kind_registered, translation_domain

from .kinds import STATUS_CHANGED
from .linking import account_of
from .models import STATUSES
from .owners import OWNER_ASSIGNED

_l = translation_domain(__name__).lazy_gettext



def match_status_change(event, settings: dict) -> bool:
    data = event.data or {}
    for key, actual in (("from_status", data.get("old_status")), ("to_status", data.get("status"))):
        expected = str(settings.get(key) or "")
        if expected and expected != actual:
            return False
    return True


def status_trigger() -> TriggerType:
    return TriggerType(
        "account_status_changed", _l("The account’s status changes"), "behaviour", event_kinds=(STATUS_CHANGED,),
        description=_l("Runs for each contact of the account whose status changed."),
        settings=[Setting("from_status", _l("From (empty: any status)"), kind="choice", choices=list(STATUSES.items())),
                  Setting("to_status", _l("To (empty: any status)"), kind="choice", choices=list(STATUSES.items()))],
        matches=match_status_change,
    )


def run_assign_account_owner(contact, settings: dict, context: dict | None = None) -> str:
    """Action ``account.assign_owner``: the contact's owner becomes its
    account's owner. Idempotent (an owner already right is left alone)."""
    account = account_of(contact.id)
    if account is None:
        return "no account"
    if account.owner_id is None:
        return f"account {account.id} has no owner"
    if contact.owner_id == account.owner_id:
        return "already the account owner"
    Contact.update(owner=account.owner_id).where(Contact.id == contact.id).execute()
    contact.owner_id = account.owner_id
    if event_kind_registered(OWNER_ASSIGNED):
        owner = account.owner
        emit(contact, OWNER_ASSIGNED, {"owner_id": owner.id, "owner_email": owner.email,
                                      "rule": f"account {account.name}"}, source="workflow")
    return f"owner {account.owner_id} from account {account.id}"


def assign_owner_action() -> Action:
    return Action("account.assign_owner", _l("Assign the account owner"), run=run_assign_account_owner,
                  description=_l("The contact’s owner becomes the owner of its account; nothing happens when "
                                 "the contact has no account or the account has no owner."))
