"""Core's ``core_audit`` module, registered like a plugin: the audit log table."""
from __future__ import annotations

from ..extension import Migration
from ..hookspecs import hookimpl


@hookimpl
def register_models():
    from .models import AUDIT_MODELS

    return list(AUDIT_MODELS)


@hookimpl
def register_migrations():
    from .models import AUDIT_MODELS

    return [Migration.create_tables(1, "audit log", AUDIT_MODELS)]
