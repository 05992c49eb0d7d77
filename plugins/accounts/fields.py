"""Custom fields of accounts: defined on the *Account fields* page, of the
same types as the contacts' custom fields (core's field-type registry, so a
plugin's type works here too), their values checked by the type's ``parse``
and stored as text in ``accounts_value`` (one row per value).

Form inputs are named ``field.<key>``; CSV columns are the keys themselves::

    field = create_field({"label": "SIRET", "type_id": "text"})
    values, errors = parse_field_values({"siret": "123"}, getlist=None)
    store_values(account, values)
    values_of(account)   # {"siret": "123"}
"""
from __future__ import annotations

import re
import unicodedata

import peewee

from core import FieldValueError, field_types, translation_domain, write_transaction

from .models import AccountField, AccountValue

_ = translation_domain(__name__).gettext

#: form inputs of custom fields are named ``field.<key>``
PREFIX = "field."
#: names a field key may not take (the native CSV columns)
RESERVED = frozenset({"name", "domain", "size_band", "revenue", "industry", "status", "owner_email", "owner_id",
                      "contacts", "created_at", "last_interaction_at", "id"})
KEY_MAX = 50
LABEL_MAX = 100


class FieldDefinitionError(ValueError):
    """The field definition form has mistakes (``errors``: input name -> message)."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def usable_types() -> dict:
    """The field types an account field may have: every registered type but
    stored files (uploads belong to contacts)."""
    return {field_type.id: field_type for field_type in field_types() if not field_type.is_file}


def takes_options(field_type) -> bool:
    declared = getattr(field_type, "uses_options", None)
    return bool(declared) if declared is not None else field_type.id in ("select", "multiselect")


def account_fields() -> list[AccountField]:
    return list(AccountField.select().order_by(AccountField.position, AccountField.id))


def _key_for(label: str) -> str:
    plain = "".join(ch for ch in unicodedata.normalize("NFKD", label) if not unicodedata.combining(ch))
    key = re.sub(r"[^a-z0-9]+", "_", plain.lower()).strip("_")[:KEY_MAX].rstrip("_") or "field"
    if key[0].isdigit() or key in RESERVED:
        key = f"f_{key}"[:KEY_MAX]
    taken = {row.key for row in AccountField.select(AccountField.key).where(AccountField.key.startswith(key))}
    candidate, number = key, 2
    while candidate in taken:
        candidate, number = f"{key}_{number}", number + 1
    return candidate


def create_field(form) -> AccountField:
    """A new account field from ``label``, ``type_id`` and ``options`` (one
    per line, for the select types); raises :class:`FieldDefinitionError`."""
    errors = {}
    label = str(form.get("label") or "").strip()
    if not label:
        errors["label"] = _("Enter a label.")
    elif len(label) > LABEL_MAX:
        errors["label"] = _("The label is too long (%(max)s characters at most).", max=LABEL_MAX)
    field_type = usable_types().get(str(form.get("type_id") or ""))
    if field_type is None:
        errors["type_id"] = _("Choose a field type.")
    options = []
    if field_type is not None and takes_options(field_type):
        options = list(dict.fromkeys(line.strip() for line in str(form.get("options") or "").splitlines()
                                     if line.strip()))
        if not options:
            errors["options"] = _("Enter the choices, one per line.")
    if errors:
        raise FieldDefinitionError(errors)
    position = (AccountField.select(peewee.fn.MAX(AccountField.position)).scalar() or 0) + 1
    with write_transaction(AccountField._meta.database):
        return AccountField.create(key=_key_for(label), label=label, type_id=field_type.id, options=options,
                                   position=position)


def delete_field(field: AccountField) -> None:
    """The field and every account's value of it."""
    with write_transaction(AccountField._meta.database):
        AccountValue.delete().where(AccountValue.field == field.id).execute()
        field.delete_instance()


def parse_field_values(raw, getlist=None, prefix: str = "") -> tuple[dict, dict]:
    """The values of the fields present in ``raw`` (a form or a CSV row;
    ``getlist`` reads the several values of a multi-valued input), parsed
    by their type: ``({key: value}, {key: message})``. A field absent from
    ``raw`` is left out (it keeps its stored value)."""
    types = field_types()
    values, errors = {}, {}
    for field in account_fields():
        name = prefix + field.key
        if name not in raw:
            continue
        field_type = types.get(field.type_id)
        if field_type is None:
            errors[field.key] = _("The type of the field “%(label)s” is not available (is its plugin active?).",
                                  label=field.label)
            continue
        text = getlist(name) if getlist is not None and field_type.multi_valued else raw.get(name)
        try:
            values[field.key] = field_type.parse(text, field)
        except FieldValueError as error:
            errors[field.key] = f"{field.label}: {error}"
    return values, errors


def values_of(account_id: int) -> dict:
    """The account's custom values by key (lists for multi-valued types)."""
    return values_of_many([account_id]).get(account_id, {})


def values_of_many(account_ids: list[int]) -> dict[int, dict]:
    """:func:`values_of` for a page of accounts, in one query."""
    types = field_types()
    fields = {field.id: field for field in account_fields()}
    result: dict[int, dict] = {}
    if not account_ids or not fields:
        return result
    for row in (AccountValue.select().where(AccountValue.account.in_(account_ids))
                .order_by(AccountValue.account, AccountValue.value)):
        field = fields[row.field_id]
        field_type = types.get(field.type_id)
        values = result.setdefault(row.account_id, {})
        if field_type is not None and field_type.multi_valued:
            values.setdefault(field.key, []).append(row.value)
        else:
            values[field.key] = row.value
    return result


def _stored(value) -> list[str]:
    if value is None or value == []:
        return []
    return [str(item) for item in (value if isinstance(value, list) else [value])]


def store_values(account_id: int, values: dict) -> dict:
    """Save parsed values (``{key: value}``); return those that changed as
    ``{key: [old, new]}`` (texts; lists joined with ", ")."""
    if not values:
        return {}
    fields = {field.key: field for field in account_fields()}
    before = values_of(account_id)
    changes = {}
    with write_transaction(AccountValue._meta.database):
        for key, value in values.items():
            field = fields[key]
            old, new = _stored(before.get(key)), _stored(value)
            if sorted(old) == sorted(new):
                continue
            AccountValue.delete().where((AccountValue.account == account_id)
                                        & (AccountValue.field == field.id)).execute()
            if new:
                AccountValue.insert_many([{"account": account_id, "field": field.id, "value": item}
                                          for item in dict.fromkeys(new)]).execute()
            changes[key] = [", ".join(old) or None, ", ".join(new) or None]
    return changes


def display(field: AccountField, value) -> str:
    field_type = field_types().get(field.type_id)
    if field_type is None:
        return ", ".join(value) if isinstance(value, list) else str(value or "")
    return field_type.display(value, field)


def widget(field: AccountField, value):
    """The form control of the field (its type's widget), named ``field.<key>``."""
    field_type = field_types().get(field.type_id)
    if field_type is None:
        return ""
    return field_type.render_widget(PREFIX + field.key, value, field)
