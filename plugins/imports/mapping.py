"""Which contact field each CSV column fills.

A column's *target* is one of:

- ``email``, ``first_name``, ``last_name``, ``language`` — the native fields
  (a language is ``fr`` or ``en``, or a name such as ``fr-FR``);
- ``field:<key>`` — an existing custom field;
- ``owner`` — a sales rep's email address, which becomes the contact's owner;
- ``tags`` — tags separated by ``,`` ``;`` or ``|``;
- ``new:<type id>`` — a custom field of that type made from the column (it
  becomes ``field:<key>`` once created; a live field with the column's label
  and that type is reused, see :func:`field_for_column`);
- ``ignore``.

Suggestions compare the header with known names in English and French,
ignoring accents, case and punctuation ("Adresse e-mail" = "adresse email"),
then with the key and label of existing custom fields.
"""
from __future__ import annotations

import re
import unicodedata

from core import BooleanFieldType, CustomField, DateFieldType, FieldValueError, translation_domain

_, _l = translation_domain(__name__).pair()

NATIVE_TARGETS = {"email": _l("Email"), "first_name": _l("First name"), "last_name": _l("Last name"),
                  "language": _l("Language")}
SPECIAL_TARGETS = {"owner": _l("Owner (a sales rep's email)"), "tags": _l("Tags")}
IGNORE = "ignore"
#: targets a single column at most may use
UNIQUE_TARGETS = ("email", "first_name", "last_name", "language", "owner")


def normalize_header(text: str) -> str:
    """``"Adresse E-mail "`` -> ``"adresse e mail"``: no accents, lower case,
    words separated by one space."""
    decomposed = unicodedata.normalize("NFKD", str(text or ""))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return " ".join(re.split(r"[^0-9a-z]+", plain)).strip()


def _names(*names: str) -> frozenset[str]:
    return frozenset(normalize_header(name) for name in names)


SYNONYMS = {
    "email": _names(
        "email", "e-mail", "mail", "email address", "e-mail address", "adresse e-mail", "adresse email",
        "adresse mail", "courriel", "adresse courriel", "adresse électronique", "emails",
    ),
    "first_name": _names("first name", "firstname", "first", "given name", "prénom", "prenom", "forename"),
    "last_name": _names("last name", "lastname", "surname", "family name", "nom", "nom de famille"),
    "language": _names("language", "lang", "langue", "locale", "preferred language", "langue préférée"),
    "owner": _names(
        "owner", "contact owner", "owner email", "lead owner", "account owner", "sales rep", "sales representative",
        "propriétaire", "propriétaire du contact", "commercial", "commercial attitré", "responsable",
        "e-mail du propriétaire",
    ),
    "tags": _names("tags", "tag", "étiquettes", "étiquette", "labels", "label", "mots-clés", "mots clés"),
}

#: headers worth a new custom field of this type when no field matches
NEW_FIELD_HINTS = {
    "text": _names(
        "société", "societe", "entreprise", "company", "company name", "organisation", "organization",
        "téléphone", "telephone", "tél", "tel", "phone", "mobile", "portable", "ville", "city", "pays",
        "country", "fonction", "poste", "job title", "title", "site web", "website", "adresse", "address",
        "code postal", "postal code", "zip", "secteur", "industry", "chiffre d'affaires", "ca",
        "ca de l'entreprise", "revenue", "annual revenue",
    ),
}

LAST_ACTIVITY_NAMES = _names(
    "last activity", "last activity date", "last activity at", "last contacted", "last seen",
    "dernière activité", "date de dernière activité", "date dernière activité", "dernier contact",
    "date du dernier contact", "dernière interaction",
)


def target_label(target: str, fields_by_key: dict[str, CustomField]) -> str:
    if target in NATIVE_TARGETS:
        return NATIVE_TARGETS[target]
    if target in SPECIAL_TARGETS:
        return SPECIAL_TARGETS[target]
    if target.startswith("field:"):
        field = fields_by_key.get(target[6:])
        return field.label if field else target[6:]
    if target.startswith("new:"):
        return _("New field (%(type)s)", type=target[4:])
    return _("Ignore")


def _match_field(name: str, fields: list[CustomField]) -> CustomField | None:
    for field in fields:
        if name in (normalize_header(field.key), normalize_header(field.label)):
            return field
    return None


def suggest_target(header: str, fields: list[CustomField], values: list[str] | None = None) -> str:
    """The most plausible target for one column (``ignore`` when unsure)."""
    name = normalize_header(header)
    if not name:
        return IGNORE
    field = _match_field(name, fields)
    if field is not None:
        return f"field:{field.key}"
    for target, names in SYNONYMS.items():
        if name in names:
            return target
    words = set(name.split())
    if words & {"email", "mail", "courriel"} and not words & {"owner", "proprietaire", "commercial"}:
        return "email"
    for type_id, names in NEW_FIELD_HINTS.items():
        if name in names:
            return f"new:{guess_type(values or [], default=type_id)}"
    return IGNORE


def suggest_mapping(headers: list[str], fields: list[CustomField], columns: list[list[str]] | None = None) -> list[str]:
    """A target per column; a native/owner target goes to its first column
    only. ``columns`` are sample values per column (to guess new field types)."""
    used: set[str] = set()
    targets = []
    for index, header in enumerate(headers):
        values = columns[index] if columns and index < len(columns) else None
        target = suggest_target(header, fields, values)
        if (target in UNIQUE_TARGETS or target.startswith("field:")) and target in used:
            target = IGNORE
        used.add(target)
        targets.append(target)
    if "email" not in targets and columns:
        # no header says "email" (or the file has no header): the first
        # column whose values are addresses
        for index, values in enumerate(columns):
            filled = [v for v in values if v and v.strip()]
            if targets[index] == IGNORE and filled and sum("@" in v for v in filled) >= 0.8 * len(filled):
                targets[index] = "email"
                break
    return targets


def suggest_cold_column(headers: list[str]) -> int | None:
    """The index of a "last activity date" column, if one is recognised."""
    for index, header in enumerate(headers):
        if normalize_header(header) in LAST_ACTIVITY_NAMES:
            return index
    return None


def guess_type(values: list[str], default: str = "text") -> str:
    """``boolean`` or ``date`` when every sample value is one, else ``default``."""
    samples = [v for v in values if v and v.strip()]
    if not samples:
        return default
    for candidate in (BooleanFieldType(), DateFieldType()):
        try:
            for value in samples:
                candidate.parse(value)
        except FieldValueError:
            continue
        return candidate.id
    return default


def validate_targets(targets: list[str], fields_by_key: dict[str, CustomField], types) -> list[str]:
    """Error messages for an impossible mapping (empty when it is fine)."""
    errors = []
    if targets.count("email") != 1:
        errors.append(_("Map exactly one column to Email: it identifies the contacts (%(count)s mapped).",
                        count=targets.count("email")))
    for target in set(targets):
        count = targets.count(target)
        if count > 1 and (target in UNIQUE_TARGETS[1:] or target.startswith("field:")):
            errors.append(_("%(target)s is mapped to %(count)s columns; keep one.",
                            target=target_label(target, fields_by_key), count=count))
        if target.startswith("field:") and target[6:] not in fields_by_key:
            errors.append(_("The custom field %(key)s does not exist (any more).", key=repr(target[6:])))
        if target.startswith("new:") and target[4:] not in types:
            errors.append(_("There is no field type %(type)s.", type=repr(target[4:])))
        known = target in NATIVE_TARGETS or target in SPECIAL_TARGETS or target == IGNORE
        if not known and not target.startswith(("field:", "new:")):
            errors.append(_("Unknown target %(target)s.", target=repr(target)))
    return errors


def is_file_target(target: str, fields_by_key: dict[str, CustomField], types) -> bool:
    """Whether the column fills a file field (its cells name files, see
    attachments.py)."""
    if target.startswith("new:"):
        type_id = target[4:]
    elif target.startswith("field:") and target[6:] in fields_by_key:
        type_id = fields_by_key[target[6:]].type_id
    else:
        return False
    return bool(getattr(types.get(type_id), "is_file", False))


def field_key_for(label: str, taken: set[str]) -> str:
    """A custom field key made from a column header: ``"Société"`` -> ``societe``."""
    base = normalize_header(label).replace(" ", "_")[:50].strip("_") or "column"
    if base[0].isdigit():
        base = f"f_{base}"
    key, number = base, 2
    while key in taken:
        key, number = f"{base}_{number}", number + 1
    return key


class FieldConflict(FieldValueError):
    """A ``new:<type>`` column whose label is taken by a field of another type."""


def reusable_field(label: str, type_id: str) -> CustomField | None:
    """The live custom field a ``new:<type_id>`` column named ``label`` should
    fill instead of creating another one: same label (accents, case and
    punctuation ignored) and same type. None when there is none; raises
    :class:`FieldConflict` when the label belongs to a field of another type,
    so running the same documented import twice never makes
    ``zone_d_activite_geographique_2``."""
    wanted = normalize_header(label)
    if not wanted:
        return None
    for field in CustomField.select().where(CustomField.archived == False).order_by(  # noqa: E712
            CustomField.position, CustomField.id):
        if normalize_header(field.label) != wanted:
            continue
        if field.type_id != type_id:
            raise FieldConflict(_(
                "a field “%(label)s” already exists with the type %(existing)s, not %(wanted)s: "
                "map the column to it (field:%(key)s) or rename the column.",
                label=field.label, existing=repr(field.type_id), wanted=repr(type_id), key=field.key))
        return field
    return None


def field_for_column(label: str, type_id: str, options: list[str] | None = None) -> CustomField:
    """The custom field a ``new:<type_id>`` column fills: the existing one with
    that label and type (a select field gains the column's values it lacks as
    options), or a new one (:func:`create_field`). Raises
    :class:`FieldConflict` as :func:`reusable_field` does."""
    field = reusable_field(label, type_id)
    if field is None:
        return create_field(label, type_id, options)
    known = {str(option).strip().casefold() for option in field.options or []}
    missing = [value for value in options or [] if value.strip().casefold() not in known]
    if missing:
        field.options = list(field.options or []) + missing
        field.save()
    return field


def create_field(label: str, type_id: str, options: list[str] | None = None) -> CustomField:
    """Create a custom field for a column (last in the field order)."""
    taken = {row.key for row in CustomField.select(CustomField.key)}
    last = CustomField.select(CustomField.position).order_by(CustomField.position.desc()).first()
    return CustomField.create(
        key=field_key_for(label, taken),
        label=(label or "Imported column").strip()[:200],
        type_id=type_id,
        options=options or [],
        position=(last.position + 1) if last else 0,
    )
