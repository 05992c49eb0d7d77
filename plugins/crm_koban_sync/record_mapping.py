"""The field mapping of a record type another plugin offers (``account``) ↔
Koban's ``ncThird`` properties. The property names are configurable because
Koban's Third documentation could not confirm them; the defaults are
``name`` ↔ ``Label`` and ``domain`` ↔ ``WebSite``. The status goes through
the status codes setting, not through a row.

The fields a row may use come from the provider's ``fields()`` (see the
``crm_sync_record_types`` hook): each with a ``canonical(value)`` that turns
a value from either side into the text both sides are compared in.
"""
from __future__ import annotations

from core import translation_domain

from .mapping import MappingError, check_direction, is_property_name
from .models import RecordMapping

_ = translation_domain(__name__).gettext

#: the rows migration 4 creates for accounts (today's fixed mapping)
DEFAULTS = [("name", "Label", "both"), ("domain", "WebSite", "both")]
#: ncThird properties the sync handles itself
RESERVED = {"Guid", "Extcode", "DUpdated", "Status"}


def rows(record_type: str, direction: str | None = None) -> list[RecordMapping]:
    """The rows of ``record_type``, optionally only those flowing ``push`` or ``pull``."""
    found = list(RecordMapping.select().where(RecordMapping.record_type == record_type)
                 .order_by(RecordMapping.position, RecordMapping.id))
    return found if direction is None else [row for row in found if row.direction in ("both", direction)]


def fields_of(spec: dict) -> dict[str, dict]:
    """The provider's mappable fields by key (none if it declares no ``fields``)."""
    declared = spec.get("fields")
    return {field["key"]: field for field in (declared() if callable(declared) else declared or [])}


def add(spec: dict, record_field: str, koban_field: str, direction: str) -> RecordMapping:
    """Check one new row and save it, or raise :class:`MappingError` (nothing saved)."""
    record_field, koban_field = (record_field or "").strip(), (koban_field or "").strip()
    check_direction(direction)
    if record_field not in fields_of(spec):
        raise MappingError(_("“%(field)s” is not a field of this record type.", field=record_field))
    if not koban_field:
        raise MappingError(_("Give the Koban property (e.g. Label, WebSite or Turnover)."))
    if not is_property_name(koban_field):
        raise MappingError(_("“%(field)s” is not a Koban property name.", field=koban_field))
    if koban_field in RESERVED:
        raise MappingError(_("%(field)s is handled by the sync itself and cannot be mapped.", field=koban_field))
    existing = rows(spec["type"])
    if any(row.record_field == record_field for row in existing):
        raise MappingError(_("%(field)s is already mapped: remove its row first.", field=record_field))
    if any(row.koban_field == koban_field for row in existing):
        raise MappingError(_("%(field)s is already mapped: remove its row first.", field=koban_field))
    position = max((row.position for row in existing), default=-1) + 1
    return RecordMapping.create(record_type=spec["type"], record_field=record_field, koban_field=koban_field,
                                direction=direction, position=position)


def create_defaults(database, migrator) -> None:
    """Migration 4: today's fixed account mapping as rows."""
    for position, (field, koban_field, direction) in enumerate(DEFAULTS):
        RecordMapping.insert(record_type="account", record_field=field, koban_field=koban_field,
                             direction=direction, position=position).on_conflict_ignore().execute()
