"""What an account page sums up from its contacts: the combined score (the
``score_mode`` setting: the sum of their points, the best of them, or the
points they gained in the last 90 days), their combined timeline and the
last interaction. Points are read from core's contact column and from the
event log (``points_changed`` events carry their ``delta``), never from the
scoring plugin."""
from __future__ import annotations

import datetime as dt

import peewee

from core import Contact, Event, event_kind_registered, get_setting, translation_domain, utcnow

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


def touch_last_interaction(contact_id: int, when: dt.datetime) -> None:
    """An interaction of a contact moves its account's last interaction (one UPDATE)."""
    account_ids = AccountContact.select(AccountContact.account).where(AccountContact.contact == contact_id)
    Account.update(last_interaction_at=when).where(
        Account.id.in_(account_ids) & (Account.last_interaction_at.is_null() | (Account.last_interaction_at < when))
    ).execute()


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
