"""Opposition flags (droit d'opposition): email, SMS and phone prospecting,
and full opposition. Set by an admin, the preference centre, or an
``email_unsubscribed`` event; a later explicit consent for a channel lifts
that channel's flag (see :mod:`.ledger`), full opposition is lifted only by
the person (preference centre) or an admin."""
from __future__ import annotations

from core import Contact, utcnow

from .models import Opposition
from .purposes import FLAG_LABELS

FLAGS = tuple(FLAG_LABELS)


def flags_of(contact_id: int) -> dict[str, bool]:
    row = Opposition.get_or_none(Opposition.contact == contact_id)
    return {flag: bool(row and getattr(row, flag)) for flag in FLAGS}


def set_flags(contact: Contact, source: str, **flags: bool) -> dict[str, tuple[bool, bool]]:
    """Set some flags; returns ``{flag: (old, new)}`` for those that changed."""
    unknown = set(flags) - set(FLAGS)
    if unknown:
        raise ValueError(f"unknown opposition flags: {', '.join(sorted(unknown))}")
    before = flags_of(contact.id)
    changes = {flag: (before[flag], bool(value)) for flag, value in flags.items() if before[flag] != bool(value)}
    if not changes:
        return {}
    values = {flag: new for flag, (_, new) in changes.items()}
    Opposition.insert(contact=contact.id, updated_at=utcnow(), source=source, **{**before, **values}).on_conflict(
        conflict_target=[Opposition.contact],
        update={**{getattr(Opposition, f): v for f, v in values.items()},
                Opposition.updated_at: utcnow(), Opposition.source: source},
    ).execute()
    return changes
