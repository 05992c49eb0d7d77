"""Owner rules by account.

- A contact without owner linked to an account that has one gets the
  account's owner (setting *Accounts › Contacts get their account's owner*,
  on by default): when it is linked, and when the account gets an owner (its
  contacts without owner, set-based). A contact's owner is never replaced.
- A new account without owner gets one in round robin among the active,
  available users of the role of the setting *Accounts › Round robin of new
  accounts* (empty: no round robin). The turn is taken by incrementing a
  counter row inside the transaction creating the account, so concurrent
  creations never share a turn.

The owner is core's ``Contact.owner`` column. ``owner_assigned`` (the owners
plugin's kind) is recorded only while a plugin registers it, as the
``account.assign_owner`` action does::

    give_account_owner(account, [contact.id], source="accounts")   # -> ids given an owner
"""
from __future__ import annotations

from core import (
    ROLES, Contact, User, emit_many, event_kind_registered, get_setting, translation_domain, utcnow,
    write_transaction,
)

from .models import Account, AccountContact, Counter

_l = translation_domain(__name__).lazy_gettext

#: the owners plugin's kind, emitted by name only while a plugin registers it
OWNER_ASSIGNED = "owner_assigned"
ROUND_ROBIN = "account_round_robin"


def role_choices() -> list[tuple[str, str]]:
    labels = {"admin": _l("Administrators"), "marketer": _l("Marketers"), "sales": _l("Sales reps")}
    return [("", _l("No round robin"))] + [(role, labels.get(role, role)) for role in ROLES]


def contacts_follow_account() -> bool:
    return bool(get_setting("accounts", "contacts_get_account_owner"))


def give_account_owner(account: Account, contact_ids=None, source: str = "accounts", rule: str = "") -> list[int]:
    """Make the account's owner the owner of those of ``contact_ids`` (default:
    all its contacts) that have none; record ``owner_assigned`` on each when
    the kind is registered. Returns the ids given an owner."""
    if account.owner_id is None:
        return []
    members = AccountContact.select(AccountContact.contact).where(AccountContact.account == account.id)
    candidates = Contact.select(Contact.id).where(Contact.id.in_(members) & Contact.owner.is_null())
    if contact_ids is not None:
        ids = list(contact_ids)
        if not ids:
            return []
        candidates = candidates.where(Contact.id.in_(ids))
    with write_transaction(Account._meta.database):
        ids = [row.id for row in candidates]
        if not ids:
            return []
        Contact.update(owner=account.owner_id, updated_at=utcnow()).where(
            Contact.id.in_(ids) & Contact.owner.is_null()).execute()
        if event_kind_registered(OWNER_ASSIGNED):
            owner = User.get_by_id(account.owner_id)
            data = {"owner_id": owner.id, "owner_email": owner.email, "rule": rule or f"account {account.name}"}
            emit_many([{"contact": cid, "kind": OWNER_ASSIGNED, "data": data, "source": source} for cid in ids])
    return ids


def on_linked(account: Account, contact_ids) -> list[int]:
    """Contacts just linked to ``account``: those without owner get its owner (when the setting is on)."""
    if account.owner_id is None or not contacts_follow_account():
        return []
    return give_account_owner(account, contact_ids)


def on_owner_set(account: Account) -> list[int]:
    """The account got an owner: its contacts without owner get it (when the setting is on)."""
    if account.owner_id is None or not contacts_follow_account():
        return []
    return give_account_owner(account)


def round_robin_pool() -> list[User]:
    role = get_setting("accounts", "round_robin_role") or ""
    if role not in ROLES:
        return []
    return list(User.select().where((User.role == role) & (User.is_active == True)  # noqa: E712
                                    & (User.is_available == True)).order_by(User.id))  # noqa: E712


def take_turn(name: str = ROUND_ROBIN) -> int:
    """Increment and return the counter ``name``; call it inside
    :func:`core.write_transaction` (the row stays locked until the commit)."""
    where = Counter.name == name
    if not Counter.update(value=Counter.value + 1).where(where).execute():
        Counter.insert(name=name, value=0).on_conflict_ignore().execute()
        Counter.update(value=Counter.value + 1).where(where).execute()
    return Counter.select(Counter.value).where(where).scalar()


def round_robin_owner() -> int | None:
    """The owner of a new account without one: the next user of the round
    robin (None when it is off or nobody has the role). Call it inside the
    transaction creating the account."""
    pool = round_robin_pool()
    if not pool:
        return None
    return pool[(take_turn() - 1) % len(pool)].id
