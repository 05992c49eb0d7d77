"""``contact_can_receive``: may this contact be contacted on a channel for a
purpose? The rules (also in docs/gdpr.md):

1. An erased (pseudonymised) contact, or one without an address left, never
   receives anything, whatever the purpose.
2. ``transactional`` messages (opt-in confirmation, data-export link, a reply
   the person asked for) pass otherwise: opposition is to *prospecting*
   (RGPD art. 21), and blocking the confirmation of a request the person just
   made would defeat their own rights.
3. Marketing (``marketing`` or a consent purpose such as ``email_marketing``):
   full opposition vetoes every channel; the channel's flag vetoes that
   channel; and when ``gdpr.require_consent`` is on, the latest ledger
   decision for ``<channel>_marketing`` (or the named purpose) must be a grant.
   A channel we know no consent purpose for is vetoed (fail closed).
"""
from __future__ import annotations

from core import Contact

from .ledger import has_consent
from .models import ConsentState, ErasedContact, Opposition
from .opposition import flags_of
from .purposes import CHANNEL_FLAGS, PURPOSES, marketing_purpose, setting


def refusal(contact: Contact, channel: str, purpose: str) -> str | None:
    """Why the contact may not receive this, or None when allowed."""
    if ErasedContact.select().where(ErasedContact.contact == contact.id).exists():
        return "erased"
    if purpose == "transactional":
        return None
    flags = flags_of(contact.id)
    if flags["all"]:
        return "full opposition"
    flag = CHANNEL_FLAGS.get(channel)
    if flag and flags[flag]:
        return f"opposes {channel} prospecting"
    if not setting("require_consent"):
        return None
    needed = purpose if purpose in PURPOSES else marketing_purpose(channel)
    if not has_consent(contact.id, needed):
        return f"no consent for {needed}"
    return None


def refusals(contact_ids: list[int], channel: str, purpose: str) -> dict[int, str]:
    """:func:`refusal` for many contacts at once (three queries whatever their
    number): ``{contact_id: reason}`` for the refused ones."""
    found = {row.contact_id: "erased" for row in
             ErasedContact.select(ErasedContact.contact).where(ErasedContact.contact.in_(contact_ids))}
    if purpose == "transactional":
        return found
    flag = CHANNEL_FLAGS.get(channel)
    opposed = Opposition.all if not flag else (Opposition.all | getattr(Opposition, flag))
    for row in Opposition.select().where(Opposition.contact.in_(contact_ids) & opposed):
        found.setdefault(row.contact_id, "full opposition" if row.all else f"opposes {channel} prospecting")
    if not setting("require_consent"):
        return found
    needed = purpose if purpose in PURPOSES else marketing_purpose(channel)
    granted = {row.contact_id for row in ConsentState.select(ConsentState.contact).where(
        ConsentState.contact.in_(contact_ids) & (ConsentState.purpose == needed) & (ConsentState.granted == True))}  # noqa: E712
    for contact_id in contact_ids:
        if contact_id not in granted:
            found.setdefault(contact_id, f"no consent for {needed}")
    return found
