"""What the "Data protection" panel on the contact page shows."""
from __future__ import annotations

from core import Contact, Event

from . import ledger
from .erasure import is_erased
from .opposition import flags_of
from .purposes import FLAG_LABELS, PURPOSES, purpose_label


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
    return {"contact": contact, "consents": consents, "flags": flags_of(contact.id), "flag_labels": FLAG_LABELS,
            "provenance": provenance(contact), "erased": is_erased(contact.id),
            "purposes": {key: purpose_label(key) for key in PURPOSES}}
