"""Data-subject rights for scoring: export the points history, erase it."""
from __future__ import annotations

from core import Contact

from .models import SOURCE_TYPES, PointAward, PointChange, TriggerFiring
from .reasons import SCRUBBED


def export_rows(contact: Contact) -> dict:
    rows = PointChange.select().where(PointChange.contact == contact.id).order_by(PointChange.id)
    return {"Points history": [{
        "at": row.created_at.isoformat(), "delta": row.delta, "total": row.total, "reason": row.reason,
        "source": str(SOURCE_TYPES.get(row.source_type, row.source_type)), "source_id": row.source_id,
        "event_id": row.event_id,
    } for row in rows]}


def erase(contact: Contact, mode: str) -> None:
    """``delete``: the ledger, awards and firings go and the score is 0.
    ``pseudonymise``: the numbers stay (statistics, and the score remains the
    sum of the ledger) but free-text reasons and the users who wrote them go."""
    if mode == "delete":
        PointChange.delete().where(PointChange.contact == contact.id).execute()
        PointAward.delete().where(PointAward.contact == contact.id).execute()
        TriggerFiring.delete().where(TriggerFiring.contact == contact.id).execute()
        Contact.update(points=0).where(Contact.id == contact.id).execute()
        return
    PointChange.update(reason=SCRUBBED, user=None).where(
        (PointChange.contact == contact.id) & (PointChange.source_type == "manual")).execute()
