"""Core's audit log: who changed what, and when (append-only).

Record an entry where the change is made, naming the actor::

    from core.audit import record, actor_of

    record("plugin.activated", "hello", actor=actor_of(current_user()), version="1.2.0")

``actor_of(None)`` is ``"CLI"``: code run without a logged-in user is the
command line (or pass ``actor="system"`` for the server acting on its own).
Read it back, newest first, with :func:`entries` (``entries("plugin.")`` for the
plugins' history shown on the Plugins page).
"""
from __future__ import annotations

from ..like import text_starts_with
from .models import AuditEntry

CLI = "CLI"
SYSTEM = "system"


def actor_of(user) -> str:
    """The actor label of a user (their email), or ``CLI`` without one."""
    return user.email if user is not None else CLI


def record(action: str, subject: str = "", *, actor: str, **detail) -> AuditEntry:
    return AuditEntry.create(action=action, subject=subject, actor=actor, detail=detail)


def entries(action_prefix: str = "", limit: int = 50) -> list[AuditEntry]:
    query = AuditEntry.select().order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    if action_prefix:
        query = query.where(text_starts_with(AuditEntry.action, action_prefix))
    return list(query)
