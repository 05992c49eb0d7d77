"""A contact's email standing: unsubscribed, hard bounced, too many soft
bounces. The plugin vetoes email to such contacts (``contact_can_receive``)."""
from __future__ import annotations

from core import Contact, emit, utcnow

from .models import Recipient, Send


def _ensure(contact: Contact) -> None:
    Recipient.insert(contact=contact.id).on_conflict_ignore().execute()


def blocked_reason(contact: Contact, soft_limit) -> str:
    """Why this contact gets no email, or ``""``. ``soft_limit`` is the soft
    bounce limit or a function returning it (read only for contacts with soft
    bounces: most contacts have no standing row at all)."""
    row = Recipient.get_or_none(Recipient.contact == contact.id)
    if row is None:
        return ""
    if row.unsubscribed_at:
        return "unsubscribed"
    if row.hard_bounced_at:
        return "hard bounce"
    if not row.soft_bounces:
        return ""
    if callable(soft_limit):
        soft_limit = soft_limit()
    if soft_limit and row.soft_bounces >= soft_limit:
        return f"{row.soft_bounces} soft bounces"
    return ""


def blocked_reasons(contact_ids: list[int], soft_limit: int, purpose: str) -> dict[int, str]:
    """:func:`blocked_reason` for many contacts in one query, as the audience
    check counts them: ``unsubscribed`` (marketing only) or ``bounced``."""
    query = Recipient.select().where(Recipient.contact.in_(contact_ids) & (
        Recipient.unsubscribed_at.is_null(False) | Recipient.hard_bounced_at.is_null(False)
        | (Recipient.soft_bounces > 0)))
    found = {}
    for row in query:
        if row.unsubscribed_at and purpose != "transactional":
            found[row.contact_id] = "unsubscribed"
        elif row.hard_bounced_at:
            found[row.contact_id] = "bounced"
        elif soft_limit and row.soft_bounces >= soft_limit:
            found[row.contact_id] = f"bounced ({soft_limit}+ soft bounces)"
    return found


def unsubscribe(contact: Contact, send: Send | None, reason: str = "", via: str = "page") -> bool:
    """Stop marketing email to ``contact``; True the first time only."""
    _ensure(contact)
    now = utcnow()
    changed = Recipient.update(unsubscribed_at=now, unsubscribe_reason=(reason or "")[:1000], updated_at=now).where(
        (Recipient.contact == contact.id) & Recipient.unsubscribed_at.is_null()).execute()
    if send is not None:
        Send.update(unsubscribed_at=now).where((Send.id == send.id) & Send.unsubscribed_at.is_null()).execute()
    if changed:
        emit(contact, "email_unsubscribed", {"email_id": send.id if send else None, "reason": (reason or "")[:1000],
                                             "via": via}, source="email")
    elif reason:
        Recipient.update(unsubscribe_reason=reason[:1000]).where(Recipient.contact == contact.id).execute()
    return bool(changed)


def resubscribe(contact: Contact) -> None:
    """An admin lifts the unsubscribe (e.g. the contact asked to come back)."""
    Recipient.update(unsubscribed_at=None, unsubscribe_reason="", updated_at=utcnow()).where(
        Recipient.contact == contact.id).execute()


def note_bounce(contact: Contact, kind: str) -> None:
    _ensure(contact)
    now = utcnow()
    if kind == "hard":
        Recipient.update(hard_bounced_at=now, updated_at=now).where(
            (Recipient.contact == contact.id) & Recipient.hard_bounced_at.is_null()).execute()
    else:
        Recipient.update(soft_bounces=Recipient.soft_bounces + 1, updated_at=now).where(
            Recipient.contact == contact.id).execute()


def clear_bounces(contact: Contact) -> None:
    Recipient.update(hard_bounced_at=None, soft_bounces=0, updated_at=utcnow()).where(
        Recipient.contact == contact.id).execute()
