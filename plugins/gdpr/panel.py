"""What the "Data protection" panel on the contact page shows, and its
summary on an account page (the ``account_sidebar`` slot)."""
from __future__ import annotations

from core import Contact, Event, User, translation_domain

from . import ledger
from .erasure import is_erased
from .models import ConsentRecord, ConsentState, Opposition
from .opposition import flags_of
from .purposes import CHANNEL_FLAGS, FLAG_LABELS, PURPOSES, marketing_purpose, purpose_label

_ = translation_domain(__name__).gettext
#: the channels of the data-protection zone, in the order shown
CHANNELS = ("email", "sms", "phone")


def provenance(contact: Contact) -> str:
    """Where the contact came from: the ``source`` of its creation event."""
    created = (Event.select(Event.source, Event.data).where((Event.contact == contact.id)
               & (Event.kind == "contact_created")).order_by(Event.id).first())
    if created is None:
        return ""
    return created.source or (created.data or {}).get("source") or ""


def panel_context(contact: Contact) -> dict:
    states = ledger.current(contact.id)
    records = {r.id: r for r in ledger.history(contact.id)}
    consents = []
    for purpose in PURPOSES:
        row = states.get(purpose)
        consents.append({"purpose": purpose, "label": purpose_label(purpose), "state": row,
                         "record": records.get(row.record_id) if row else None})
    for purpose, row in states.items():
        if purpose not in PURPOSES:
            consents.append({"purpose": purpose, "label": purpose, "state": row, "record": records.get(row.record_id)})
    flags = flags_of(contact.id)
    return {"contact": contact, "consents": consents, "flags": flags, "flag_labels": FLAG_LABELS,
            "provenance": provenance(contact), "erased": is_erased(contact.id),
            "purposes": {key: purpose_label(key) for key in PURPOSES},
            "channels": channel_states(contact, flags, states, records),
            "opposition_row": Opposition.get_or_none(Opposition.contact == contact.id),
            "channel_opposed": {"email": _("opposes email prospecting"), "sms": _("opposes SMS prospecting"),
                                "phone": _("opposes phone prospecting (démarchage téléphonique)")}}


def channel_states(contact: Contact, flags: dict, states: dict, records: dict) -> list[dict]:
    """Per channel (email, SMS, phone): is the contact opposed (their flag,
    full opposition, or a withdrawal as the latest ledger decision for the
    channel's marketing purpose), and that latest decision with its date,
    source and the user who recorded it."""
    users = {r.user_id for r in records.values() if r.user_id}
    emails = {u.id: u.email for u in User.select(User.id, User.email).where(User.id.in_(users))} if users else {}
    found = []
    for channel in CHANNELS:
        purpose = marketing_purpose(channel)
        state = states.get(purpose)
        record = records.get(state.record_id) if state else None
        flag = flags[CHANNEL_FLAGS[channel]] or flags["all"]
        found.append({"channel": channel, "purpose": purpose, "label": purpose_label(purpose), "flag": flag,
                      "opposed": flag or (state is not None and not state.granted), "state": state,
                      "record": record, "by": emails.get(record.user_id, "") if record else ""})
    return found


def account_summary(contact_ids: list[int]) -> dict:
    """How many of an account's contacts oppose email, SMS and phone
    prospecting (as :func:`channel_states` counts them)."""
    ids = [int(i) for i in contact_ids]
    counts = {channel: 0 for channel in CHANNELS}
    if not ids:
        return {"total": 0, "counts": counts}
    flagged = {channel: set() for channel in CHANNELS}
    for row in Opposition.select().where(Opposition.contact.in_(ids)):
        for channel in CHANNELS:
            if row.all or getattr(row, CHANNEL_FLAGS[channel]):
                flagged[channel].add(row.contact_id)
    purposes = {marketing_purpose(channel): channel for channel in CHANNELS}
    for row in ConsentState.select(ConsentState.contact, ConsentState.purpose).where(
            ConsentState.contact.in_(ids) & ConsentState.purpose.in_(list(purposes))
            & (ConsentState.granted == False)):  # noqa: E712
        flagged[purposes[row.purpose]].add(row.contact_id)
    return {"total": len(ids), "counts": {channel: len(flagged[channel]) for channel in CHANNELS}}


def record_flag_changes(contact: Contact, changes: dict, user) -> list[ConsentRecord]:
    """An admin set a channel's opposition flag: the consent ledger gets a
    withdrawal for that channel's marketing purpose, with who and when
    (lifting a flag is not a consent, so it is only in the audit log)."""
    entries = []
    for flag, (_old, new) in changes.items():
        channel = next((c for c, f in CHANNEL_FLAGS.items() if f == flag), None)
        if not new or channel is None:
            continue
        entries.append(ledger.change(contact, marketing_purpose(channel), False, source="admin",
                                     text=f"Opposition to {channel} prospecting recorded by {user.email}",
                                     text_version="admin", user_id=user.id))
    return entries
