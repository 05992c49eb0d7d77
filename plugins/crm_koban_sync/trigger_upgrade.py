"""Migration 2: workflows saved with core's “A status or stage is changed”
trigger on the CRM status now use this plugin's ``crm_status_changed``.

Before the event-kind registry, core's ``status_changed`` trigger with an
empty field meant “the CRM status” (``{"field": "", "to_value": "customer"}``).
Core no longer knows about the CRM, so such a trigger fails activation; this
migration rewrites it as ``crm_status_changed`` with ``{"to": "customer"}``.
Triggers on a real field (``"field": "lifecycle"``) are core's and stay.
"""
from __future__ import annotations

from core import rename_trigger_type


def crm_status_settings(settings: dict) -> dict | None:
    """Settings of an old CRM-status trigger in the new trigger's shape, or
    None for a status trigger on a field (not the CRM's)."""
    if settings.get("field"):
        return None
    return {"to": settings.get("to_value") or ""}


def move_crm_status_triggers(database, migrator) -> None:
    rename_trigger_type("status_changed", "crm_status_changed", crm_status_settings)
