"""Managing custom fields (the rules behind ``/admin/fields``).

A field's ``key`` is made once from its first label (``Zone d'activité`` ->
``zone_d_activite``) and never changes: imports, segments, rules and the API
refer to it. Values reference the field's id, so renaming the label keeps
them. Removing a select option that contacts still use needs a confirmation;
their values are kept (they simply stop being valid choices). Archiving hides
a field from the contact form and keeps its values.
"""
from __future__ import annotations

import re
import unicodedata

import peewee
from flask import current_app

from .db import write_transaction
from .fields import MultiSelectFieldType, SelectFieldType
from .i18n import core_domain
from .models import ContactValue, CustomField

LABEL_MAX = 200
HELP_MAX = 1000
KEY_MAX = 60
OPTION_MAX = 200
OPTIONS_MAX = 500
_ = core_domain().gettext

#: keys a custom field may not take (native fields and names the API, imports
#: and segments use for other things)
RESERVED_KEYS = frozenset({
    "id", "email", "first_name", "last_name", "owner", "owner_id", "owner_email", "points", "tags",
    "tag", "segments", "segment", "created_at", "updated_at", "last_interaction_at", "values",
})  # fmt: skip


class FieldFormError(ValueError):
    """Invalid field form. ``errors`` maps a form field to its message."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(errors.values()))


class OptionsInUse(Exception):
    """Removing these options needs a confirmation: ``usage`` maps each
    removed option to the number of contacts holding it."""

    def __init__(self, usage: dict[str, int]):
        self.usage = usage
        super().__init__(", ".join(f"{option}: {count}" for option, count in usage.items()))


def field_types():
    """The registered field types (core's six and the plugins')."""
    return current_app.extensions["couvee"].registries.field_types


def uses_options(field_type) -> bool:
    """Whether values of this type are chosen among ``field.options``. A type
    may say so with a ``uses_options`` attribute; core's select types do."""
    declared = getattr(field_type, "uses_options", None)
    if declared is not None:
        return bool(declared)
    return isinstance(field_type, (SelectFieldType, MultiSelectFieldType))


# --- keys, labels, options -------------------------------------------------------


def slugify(label: str) -> str:
    """``Zone d’activité géographique`` -> ``zone_d_activite_geographique``."""
    decomposed = unicodedata.normalize("NFKD", label or "")
    unaccented = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    slug = re.sub(r"[^a-z0-9]+", "_", unaccented.lower()).strip("_")[:KEY_MAX].rstrip("_")
    if not slug:
        return "field"
    if slug[0].isdigit():
        slug = f"f_{slug}"[:KEY_MAX]
    return slug


def new_key(label: str) -> str:
    """A key made from ``label`` that no field (archived or not) uses."""
    base = slugify(label)
    if base in RESERVED_KEYS:
        base = f"{base}_field"
    taken = {row.key for row in CustomField.select(CustomField.key).where(CustomField.key.startswith(base))}
    key, n = base, 2
    while key in taken:
        suffix = f"_{n}"
        key, n = base[: KEY_MAX - len(suffix)] + suffix, n + 1
    return key


def clean_label(raw, field: CustomField | None = None) -> str:
    """A stripped, single-line label, unique among fields (ignoring case)."""
    label = " ".join(str(raw or "").split())
    if not label:
        raise FieldFormError({"label": _("Give the field a label.")})
    if len(label) > LABEL_MAX:
        raise FieldFormError({"label": _("The label is %(length)d characters long; the maximum is %(maximum)d.",
                                         length=len(label), maximum=LABEL_MAX)})
    others = CustomField.select().where(peewee.fn.LOWER(CustomField.label) == label.lower())
    if field is not None:
        others = others.where(CustomField.id != field.id)
    other = others.first()
    if other is not None:
        if other.archived:
            raise FieldFormError({"label": _("An archived field named “%(label)s” already exists.", label=other.label)})
        raise FieldFormError({"label": _("A field named “%(label)s” already exists.", label=other.label)})
    return label


def parse_options(text) -> list[str]:
    """Options typed one per line: stripped, blanks dropped; refuses duplicates
    (ignoring case), over-long options and too many options."""
    options, seen = [], {}
    for line in str(text or "").splitlines():
        option = " ".join(line.split())
        if not option:
            continue
        if len(option) > OPTION_MAX:
            raise FieldFormError({"options": f"“{option[:40]}…” is longer than {OPTION_MAX} characters."})
        if option.casefold() in seen:
            raise FieldFormError({"options": f"“{option}” is listed twice."})
        seen[option.casefold()] = option
        options.append(option)
    if len(options) > OPTIONS_MAX:
        raise FieldFormError({"options": _("%(count)d options given; the maximum is %(maximum)d.", count=len(options),
                                           maximum=OPTIONS_MAX)})
    return options


def _clean_help(raw) -> str:
    text = str(raw or "").strip()
    if len(text) > HELP_MAX:
        raise FieldFormError({"help_text": _("The help text is %(length)d characters long; the maximum is %(maximum)d.",
                                             length=len(text), maximum=HELP_MAX)})
    return text


def _options_for(field_type, raw) -> list[str]:
    if not uses_options(field_type):
        return []
    options = parse_options(raw)
    if not options:
        raise FieldFormError({"options": _("List the choices, one per line.")})
    return options


# --- create and update -----------------------------------------------------------------


def _collect(errors: dict, check, *args):
    """``check(*args)``, or None with its messages added to ``errors``."""
    try:
        return check(*args)
    except FieldFormError as error:
        errors.update(error.errors)
        return None


def create_field(form) -> CustomField:
    """Create a field from a form (``label``, ``type_id``, ``options``,
    ``help_text``); raise :class:`FieldFormError` when invalid."""
    errors = {}
    field_type = field_types().get(form.get("type_id") or "")
    if field_type is None:
        errors["type_id"] = _("Choose a field type.")
    label = _collect(errors, clean_label, form.get("label"))
    help_text = _collect(errors, _clean_help, form.get("help_text"))
    options = _collect(errors, _options_for, field_type, form.get("options")) if field_type else []
    if errors:
        raise FieldFormError(errors)
    position = (CustomField.select(peewee.fn.MAX(CustomField.position)).scalar() or 0) + 1
    for _attempt in range(5):  # another admin may take the same key at the same moment
        try:
            with write_transaction(current_app.extensions["couvee"].database):
                return CustomField.create(key=new_key(label), label=label, type_id=field_type.id,
                                          position=position, options=options, help_text=help_text)
        except peewee.IntegrityError:
            continue
    raise FieldFormError({"label": _("Could not find a free key for this label; try another label.")})


def update_field(field: CustomField, form, confirm_removal: bool = False) -> None:
    """Apply an edit form (``label``, ``help_text``, ``options``, ``position``).

    The key and the type never change. Raises :class:`FieldFormError` when
    invalid, and :class:`OptionsInUse` when options that contacts hold would
    be removed without ``confirm_removal``.
    """
    errors = {}
    field_type = field_types().get(field.type_id)
    label = _collect(errors, clean_label, form.get("label"), field)
    help_text = _collect(errors, _clean_help, form.get("help_text"))
    options = list(field.options or [])
    if field_type is not None and uses_options(field_type):
        options = _collect(errors, _options_for, field_type, form.get("options"))
    position = _position(form.get("position"), errors)
    if errors:
        raise FieldFormError(errors)
    removed = removed_options(field.options or [], options)
    usage = {option: count for option, count in option_usage(field, removed).items() if count}
    if usage and not confirm_removal:
        raise OptionsInUse(usage)
    with write_transaction(current_app.extensions["couvee"].database):
        _respell_values(field, field.options or [], options)
        CustomField.update(label=label, help_text=help_text, options=options).where(
            CustomField.id == field.id).execute()
        if position is not None and not field.archived:
            set_position(field, position)


def _position(raw, errors: dict) -> int | None:
    text = str(raw or "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        errors["position"] = _("The position is a whole number from 1.")
        return None
    return int(text)


def removed_options(old: list[str], new: list[str]) -> list[str]:
    """Old options absent from ``new`` (ignoring case: a re-spelling is kept)."""
    kept = {option.casefold() for option in new}
    return [option for option in old if option.casefold() not in kept]


def option_usage(field: CustomField, options: list[str]) -> dict[str, int]:
    """How many contacts hold each of ``options`` in ``field``."""
    if not options:
        return {}
    rows = (
        ContactValue.select(ContactValue.value, peewee.fn.COUNT(ContactValue.contact.distinct()))
        .where((ContactValue.field == field.id) & ContactValue.value.in_(options))
        .group_by(ContactValue.value)
        .tuples()
    )
    counts = dict(rows)
    return {option: counts.get(option, 0) for option in options}


def _respell_values(field: CustomField, old: list[str], new: list[str]) -> None:
    """``EMEA`` edited to ``Emea``: stored values follow the new spelling."""
    by_fold = {option.casefold(): option for option in new}
    for option in old:
        spelled = by_fold.get(option.casefold())
        if spelled is not None and spelled != option:
            ContactValue.update(value=spelled).where(
                (ContactValue.field == field.id) & (ContactValue.value == option)).execute()


# --- order and archive ---------------------------------------------------------------------


def active_fields() -> list[CustomField]:
    """Fields shown on the contact form, in order."""
    return list(CustomField.select().where(CustomField.archived == False).order_by(  # noqa: E712
        CustomField.position, CustomField.id))


def archived_fields() -> list[CustomField]:
    """Archived fields, by label."""
    return list(CustomField.select().where(CustomField.archived == True).order_by(CustomField.label))  # noqa: E712


def _renumber(fields: list[CustomField]) -> None:
    for index, field in enumerate(fields, start=1):
        if field.position != index:
            CustomField.update(position=index).where(CustomField.id == field.id).execute()


def set_position(field: CustomField, position: int) -> None:
    """Move an active field to ``position`` (1 = first; clamped)."""
    fields = active_fields()
    index = next((i for i, f in enumerate(fields) if f.id == field.id), None)
    if index is None:
        return
    moved = fields.pop(index)
    fields.insert(min(max(position, 1), len(fields) + 1) - 1, moved)
    _renumber(fields)


def move_field(field: CustomField, offset: int) -> None:
    """Move an active field up (-1) or down (+1)."""
    fields = active_fields()
    index = next((i for i, f in enumerate(fields) if f.id == field.id), None)
    if index is not None:
        set_position(field, index + 1 + offset)


def set_archived(field: CustomField, archived: bool) -> None:
    """Archive (hide from the contact form, keep values) or bring back a field;
    a field brought back goes to the end of the list."""
    position = field.position
    if not archived and field.archived:
        position = (CustomField.select(peewee.fn.MAX(CustomField.position)).scalar() or 0) + 1
    CustomField.update(archived=archived, position=position).where(CustomField.id == field.id).execute()
    if archived:
        _renumber(active_fields())


def contacts_per_field() -> dict[int, int]:
    """Number of contacts holding a value, by field id."""
    rows = (ContactValue.select(ContactValue.field, peewee.fn.COUNT(ContactValue.contact.distinct()))
            .group_by(ContactValue.field).tuples())
    return dict(rows)
