"""What an account page sums up from its contacts: the combined score (the
``score_mode`` setting: the sum of their points, the best of them, or the
points they gained in the last 90 days), their combined timeline and the
last interaction. Points are read from core's contact column and from the
event log (``points_changed`` events carry their ``delta``), never from the
scoring plugin."""
from __future__ import annotations

import datetime as dt

import peewee

from core import Contact, Event, batch_collect, db_value, event_kind_registered, get_setting, translation_domain, utcnow

from .models import Account, AccountContact

_l = translation_domain(__name__).lazy_gettext

SCORE_MODES = [("sum", _l("Sum of the contacts’ points")), ("max", _l("Best contact’s points")),
               ("sum_90_days", _l("Points gained by the contacts in the last 90 days"))]
RECENT = dt.timedelta(days=90)
#: the kind whose ``delta`` the 90-day score adds up (recorded by a scoring plugin, when one is active)
POINTS_KIND = "points_changed"
TIMELINE_SIZE = 50


def _members(account: Account):
    return AccountContact.select(AccountContact.contact).where(AccountContact.account == account.id)


def score_mode() -> str:
    mode = get_setting("accounts", "score_mode") or "sum"
    return mode if mode in dict(SCORE_MODES) else "sum"


def combined_score(account: Account, mode: str | None = None) -> int:
    mode = mode or score_mode()
    if mode == "max":
        return Contact.select(peewee.fn.MAX(Contact.points)).where(Contact.id.in_(_members(account))).scalar() or 0
    if mode == "sum_90_days":
        if not event_kind_registered(POINTS_KIND):
            return 0
        since = utcnow() - RECENT
        events = Event.select(Event.data).where(Event.contact.in_(_members(account)) & (Event.kind == POINTS_KIND)
                                                & (Event.created_at >= since))
        return sum(int((event.data or {}).get("delta") or 0) for event in events)
    return Contact.select(peewee.fn.SUM(Contact.points)).where(Contact.id.in_(_members(account))).scalar() or 0


def timeline(account: Account, limit: int = TIMELINE_SIZE) -> list[Event]:
    """The latest events of all its contacts, newest first."""
    return list(Event.select(Event, Contact).join(Contact)
                .where(Event.contact.in_(_members(account)))
                .order_by(Event.created_at.desc(), Event.id.desc()).limit(limit))


#: contacts looked up, and accounts updated, per statement
CHUNK = 500


def touch_last_interaction(contact_id: int, when: dt.datetime) -> None:
    """An interaction of a contact moves its account's last interaction: noted
    for the batch of events being delivered, written once at its end
    (:func:`touch_last_interactions`)."""
    batch_collect("accounts.last_interaction", (contact_id, when), touch_last_interactions)


def touch_last_interactions(items: list[tuple[int, dt.datetime]]) -> int:
    """``(contact_id, when)`` pairs: each account's last interaction becomes
    the latest ``when`` of its contacts, when later than the stored one. One
    SELECT of the links and one UPDATE (a CASE by account) per 500 accounts,
    whatever the number of events. Idempotent. Returns the accounts updated."""
    latest_by_contact: dict[int, dt.datetime] = {}
    for contact_id, when in items:
        if when is not None and (contact_id not in latest_by_contact or latest_by_contact[contact_id] < when):
            latest_by_contact[contact_id] = when
    latest: dict[int, dt.datetime] = {}
    contact_ids = list(latest_by_contact)
    for start in range(0, len(contact_ids), CHUNK):
        links = (AccountContact.select(AccountContact.contact, AccountContact.account)
                 .where(AccountContact.contact.in_(contact_ids[start:start + CHUNK])).tuples())
        for contact_id, account_id in links:
            when = latest_by_contact[contact_id]
            if account_id not in latest or latest[account_id] < when:
                latest[account_id] = when
    updated = 0
    account_ids = sorted(latest)  # the same order in every drain: no deadlock between them
    for start in range(0, len(account_ids), CHUNK):
        chunk = account_ids[start:start + CHUNK]
        new_value = peewee.Case(Account.id, [(account_id, db_value(Account, "last_interaction_at", latest[account_id]))
                                             for account_id in chunk])
        updated += (Account.update(last_interaction_at=new_value)
                    .where(Account.id.in_(chunk)
                           & (Account.last_interaction_at.is_null() | (Account.last_interaction_at < new_value)))
                    .execute())
    return updated


def refresh_last_interaction(account_id: int) -> None:
    """The account's last interaction recomputed from its contacts (after links change)."""
    row = (Contact.select(Contact.last_interaction_at)
           .join(AccountContact, on=(AccountContact.contact == Contact.id))
           .where((AccountContact.account == account_id) & Contact.last_interaction_at.is_null(False))
           .order_by(Contact.last_interaction_at.desc()).first())
    if row is not None:
        latest = row.last_interaction_at
        Account.update(last_interaction_at=latest).where(
            (Account.id == account_id)
            & (Account.last_interaction_at.is_null() | (Account.last_interaction_at < latest))).execute()
