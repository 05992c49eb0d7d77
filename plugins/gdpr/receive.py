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
from .models import ErasedContact
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
