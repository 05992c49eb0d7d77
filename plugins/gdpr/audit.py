"""Audit log of what admins did with personal data: exports, erasures,
consent and opposition changes. Contacts are named by id only, so the log
never keeps an erased person's identity."""
from __future__ import annotations

from core import current_user

from .models import AuditEntry


def log_action(action: str, contact_id: int | None = None, user=None, **detail) -> AuditEntry:
    """Record ``action`` (e.g. ``export.json``, ``erase.delete``, ``consent.granted``)."""
    if user is None:
        try:
            user = current_user()
        except RuntimeError:  # no request (a worker job)
            user = None
    return AuditEntry.create(
        action=action, contact_id=contact_id, detail=detail,
        user_id=getattr(user, "id", None), user_label=getattr(user, "email", "") or "system",
    )


def recent(limit: int = 200, contact_id: int | None = None) -> list[AuditEntry]:
    query = AuditEntry.select().order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if contact_id is not None:
        query = query.where(AuditEntry.contact_id == contact_id)
    return list(query.limit(limit))
