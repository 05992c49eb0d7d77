"""Core's audit log table: one row per administrative change worth a trace."""
from __future__ import annotations

import peewee

from ..models import BaseModel, JSONField, UTCDateTimeField, utcnow


class AuditEntry(BaseModel):
    at = UTCDateTimeField(default=utcnow, index=True)
    #: who did it: a user's email, ``CLI`` for the command line, ``system`` for the server itself
    actor = peewee.CharField()
    #: what was done, dotted: ``plugin.installed``, ``plugin.activated``...
    action = peewee.CharField(index=True)
    #: what it was done to, e.g. the plugin's name
    subject = peewee.CharField(default="")
    #: the facts worth keeping, e.g. ``{"version": "1.2.0"}``
    detail = JSONField(default=dict)

    class Meta:
        table_name = "core_audit"


AUDIT_MODELS = [AuditEntry]
