"""Field mapping: read a mapped value on either side in one comparable form,
and write it the way the other side expects.

Couvée side: ``email``, ``first_name``, ``last_name``, a custom field key, or
``tags`` (the contact's tags). Koban side: a contact property (``FirstName``,
``Name``, ``EMail``, ``Phone``, ``Cell``, ``Function``...),
``MoreFields:<FieldId>`` (Koban's specific fields: booleans as true/false,
dates as DD/MM/YYYY, lists by label) or ``Tags:<TagCategoryCode>``.

Values are compared in Couvée's canonical form (what the field type stores):
text trimmed, email lower-cased, dates ISO, yes/no ``"1"``/``"0"``, tags a
sorted list.
"""
from __future__ import annotations

import datetime as dt

from core import CustomField, FieldValueError, get_values, normalize_email, state, tags_of, translation_domain

from .models import FieldMapping

_, _l = translation_domain(__name__).pair()

NATIVE = {"email": _l("Email"), "first_name": _l("First name"), "last_name": _l("Last name")}
TAGS = "tags"
#: the default mapping created by the migration
DEFAULT_MAPPING = [("email", "EMail", "both"), ("first_name", "FirstName", "both"), ("last_name", "Name", "both")]
#: Koban contact properties offered in the mapping form (others may be typed)
KOBAN_PROPERTIES = ("EMail", "FirstName", "Name", "Phone", "Cell", "Function", "Gender", "Comments", "Fax",
                    "EMailSec", "Status")
#: properties the sync handles itself and that a mapping must not claim
RESERVED = {"Guid", "Extcode", "DUpdated", "AssignedTo", "Unsuscribe", "InvalidMail", "Third", "Optin"}


class MappingError(ValueError):
    """A mapping row that cannot work; the message is for the admin form."""


def mappings(direction: str | None = None) -> list[FieldMapping]:
    """Mapping rows, optionally only those flowing ``push`` or ``pull``."""
    rows = list(FieldMapping.select().order_by(FieldMapping.position, FieldMapping.id))
    if direction is None:
        return rows
    return [row for row in rows if row.direction in ("both", direction)]


def couvee_choices() -> list[tuple[str, str]]:
    """Couvée fields a mapping can use: natives, custom fields, tags."""
    choices = list(NATIVE.items())
    choices += [(f.key, f.label) for f in CustomField.select().where(CustomField.archived == False)  # noqa: E712
                .order_by(CustomField.position, CustomField.id)]
    choices.append((TAGS, _l("Tags")))
    return choices


def check_direction(direction: str) -> str:
    """``direction`` if it is ``both``, ``push`` or ``pull``, else :class:`MappingError`."""
    if direction not in ("both", "push", "pull"):
        raise MappingError(_("Choose a direction: both ways, Couvée → Koban or Koban → Couvée."))
    return direction


def is_property_name(name: str) -> bool:
    """Whether ``name`` can be a plain Koban property (``Phone``, ``WebSite``)."""
    return bool(name) and ":" not in name and name.replace("_", "").isalnum()


def validate(couvee_field: str, koban_field: str, direction: str) -> tuple[str, str, str]:
    """Clean one mapping row or raise :class:`MappingError`."""
    couvee_field, koban_field = (couvee_field or "").strip(), (koban_field or "").strip()
    check_direction(direction)
    if couvee_field not in dict(couvee_choices()):
        raise MappingError(_("“%(field)s” is not a Couvée field (email, first_name, last_name, a custom field or "
                             "tags).", field=couvee_field))
    if not koban_field:
        raise MappingError(_("Give the Koban field (e.g. Phone, MoreFields:5583bc220dc3610a94746d3b or "
                             "Tags:INTEREST)."))
    kind, _colon, ref = koban_field.partition(":")
    if kind in ("MoreFields", "Tags"):
        if not ref.strip():
            raise MappingError(_("%(kind)s: needs the Koban id after the colon, e.g. %(kind)s:5583bc22…", kind=kind))
        koban_field = f"{kind}:{ref.strip()}"
    elif not is_property_name(koban_field):
        raise MappingError(_("“%(field)s” is not a Koban contact property name.", field=koban_field))
    elif koban_field in RESERVED:
        raise MappingError(_("%(field)s is handled by the sync itself and cannot be mapped.", field=koban_field))
    if (couvee_field == TAGS) != koban_field.startswith("Tags:"):
        raise MappingError(_("Couvée tags map to Koban tags only (Tags:<TagCategoryCode>), and the other way "
                             "round."))
    return couvee_field, koban_field, direction


# --- reading -------------------------------------------------------------------------


def _custom_fields() -> dict[str, CustomField]:
    return {f.key: f for f in CustomField.select()}


def canonical(couvee_field: str, value, custom: CustomField | None = None):
    """A value as Couvée stores it, for comparison (raises FieldValueError)."""
    if couvee_field == TAGS:
        return sorted({str(v).strip() for v in (value or []) if str(v).strip()})
    if couvee_field == "email":
        return normalize_email(value if value is None else str(value)) or ""
    if couvee_field in NATIVE:
        return ("" if value is None else str(value)).strip()[:200]
    if custom is not None:
        field_type = state().registries.field_types.get(custom.type_id)
        if field_type is not None:
            if isinstance(value, bool):
                value = "yes" if value else "no"
            parsed = field_type.parse(value if value not in (None, "") else None, custom)
            if isinstance(parsed, list):
                return sorted(str(v) for v in parsed)
            return "" if parsed is None else str(parsed)
    return "" if value is None else str(value).strip()


def local_values(contact, rows: list[FieldMapping]) -> dict[str, object]:
    """The contact's mapped values by Couvée field, canonical."""
    custom = get_values(contact)
    out: dict[str, object] = {}
    for row in rows:
        key = row.couvee_field
        if key == TAGS:
            out[key] = sorted(tags_of(contact))
        elif key in NATIVE:
            out[key] = (getattr(contact, key) or "").strip()
        else:
            value = custom.get(key)
            out[key] = sorted(str(v) for v in value) if isinstance(value, list) else ("" if value is None else str(value))
    return out


def remote_value(remote: dict, koban_field: str):
    """The raw value of a Koban field in a contact object."""
    kind, _colon, ref = koban_field.partition(":")
    if kind == "MoreFields" and ref:
        for item in remote.get("MoreFields") or []:
            if str(item.get("FieldId")) == ref:
                return item.get("Value")
        return None
    if kind == "Tags" and ref:
        return [t.get("Label") for t in remote.get("Tags") or [] if str(t.get("TagCategoryCode")) == ref and t.get("Label")]
    return remote.get(koban_field)


def remote_values(remote: dict, rows: list[FieldMapping]) -> tuple[dict[str, object], dict[str, str]]:
    """Koban's mapped values in Couvée's canonical form, and the fields whose
    value Couvée cannot store (``{field: reason}``)."""
    customs = _custom_fields()
    values, problems = {}, {}
    for row in rows:
        try:
            values[row.couvee_field] = canonical(row.couvee_field, remote_value(remote, row.koban_field),
                                                 customs.get(row.couvee_field))
        except FieldValueError as error:
            problems[row.couvee_field] = f"{row.koban_field}: {error}"
    return values, problems


# --- writing -------------------------------------------------------------------------


def _koban_text(value, custom: CustomField | None, koban_field: str):
    """Couvée's stored value as Koban expects it in ``koban_field``."""
    if not koban_field.startswith("MoreFields:") or custom is None:
        return value
    if custom.type_id == "boolean" and value in ("1", "0"):
        return "true" if value == "1" else "false"
    if custom.type_id == "date" and value:
        try:
            return dt.date.fromisoformat(str(value)).strftime("%d/%m/%Y")
        except ValueError:
            return value
    if isinstance(value, list):
        return ", ".join(value)
    return value


def koban_payload(contact, rows: list[FieldMapping]) -> dict:
    """The contact as a Koban ``PostMany`` object (our id as ``Extcode``)."""
    customs = _custom_fields()
    values = local_values(contact, rows)
    payload: dict = {"Extcode": str(contact.id)}
    for row in rows:
        value = _koban_text(values[row.couvee_field], customs.get(row.couvee_field), row.koban_field)
        kind, _colon, ref = row.koban_field.partition(":")
        if kind == "MoreFields":
            payload.setdefault("MoreFields", []).append({"FieldId": ref, "Value": value})
        elif kind == "Tags":
            payload.setdefault("Tags", []).extend({"TagCategoryCode": ref, "Label": label} for label in value)
        else:
            payload[row.koban_field] = value if value != "" else None
    return payload
