"""The programme's audience check: among the contacts it considers (members of
its segments, or everyone, with an address), how many may receive a marketing
email now and how many the consent gate skips, by reason (``core.check_audience``,
batched). Shown on the programme page. A programme runs on and on (contacts
consent later), so one that reaches nobody today is shown as such, not refused;
each day's sends skip the contacts the gate refuses, with the reason."""
from __future__ import annotations

from core import AudienceCheck, Contact, audience_contact_ids, check_audience

from .targeting import AUDIENCE


def audience_query(segment_ids):
    query = Contact.select(Contact.id).where(Contact.email.is_null(False) & (Contact.email != ""))
    if segment_ids:
        query = query.where(Contact.id.in_(audience_contact_ids(AUDIENCE, list(segment_ids))))
    return query


def programme_audience(programme) -> AudienceCheck:
    return check_audience(audience_query(programme.segment_ids), "email", "marketing")
