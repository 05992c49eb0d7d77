"""Core's ``core_audit`` module, registered like a plugin: the audit log table."""
from __future__ import annotations

from ..extension import Migration
from ..hookspecs import hookimpl


def _create_tables(database, migrator):
    from .models import AUDIT_MODELS

    database.create_tables(AUDIT_MODELS, safe=True)


@hookimpl
def register_models():
    from .models import AUDIT_MODELS

    return list(AUDIT_MODELS)


@hookimpl
def register_migrations():
    return [Migration(1, "audit log", _create_tables)]
