"""Assignment rule conditions: which fields a rule may test, how its value is
checked when saved, and whether a contact matches.

Values are compared as stored text, ignoring case: ``is`` wants one of the
contact's values to equal the rule's value, ``contains`` wants it inside one
of them. A rule on a select or yes/no field stores the canonical value
(``emea`` is saved as ``EMEA``, ``oui`` as ``1``), so it matches what the
field type stores.
"""
from __future__ import annotations

from core import Contact, ContactValue, CustomField, FieldValueError, User, field_types, native_fields, translation_domain

from .models import OPERATORS, AssignmentRule

_, _l = translation_domain(__name__).pair()

#: the operators as the admin reads them (``OPERATORS`` stays the English of events and logs)
OPERATOR_LABELS = {"is": _l("is"), "contains": _l("contains")}
VALUE_MAX = 200


class RuleError(ValueError):
    """Invalid rule form. ``errors`` maps a form field to its message."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(errors.values()))


def rule_fields() -> list[tuple[str, str]]:
    """``(key, label)`` of the fields a rule may test: native fields, then the
    custom fields that are not archived and not files."""
    choices = list(native_fields().items())
    types = field_types()
    for field in CustomField.select().where(CustomField.archived == False).order_by(  # noqa: E712
        CustomField.position, CustomField.id
    ):
        field_type = types.get(field.type_id)
        if field_type is not None and not field_type.is_file:
            choices.append((field.key, field.label))
    return choices


def clean_rule(form) -> dict:
    """Validate a rule form (``field_key``, ``operator``, ``value``,
    ``owner_id``); return the values to store or raise :class:`RuleError`."""
    errors = {}
    key = (form.get("field_key") or "").strip()
    operator = form.get("operator") or "is"
    value = " ".join((form.get("value") or "").split())
    if key not in dict(rule_fields()):
        errors["field_key"] = _("Choose a field.")
    if operator not in OPERATORS:
        errors["operator"] = _("Choose is or contains.")
    if not value:
        errors["value"] = _("Enter the value to look for.")
    elif len(value) > VALUE_MAX:
        errors["value"] = _("The value is %(length)s characters long; the maximum is %(maximum)s.",
                            length=len(value), maximum=VALUE_MAX)
    elif "field_key" not in errors and operator == "is":
        try:
            value = _canonical(key, value)
        except FieldValueError as error:
            errors["value"] = str(error)
    owner = _owner(form.get("owner_id"))
    if owner is None:
        errors["owner_id"] = _("Choose an active user as the owner.")
    if errors:
        raise RuleError(errors)
    return {"field_key": key, "operator": operator, "value": value, "owner": owner}


def _canonical(key: str, value: str) -> str:
    """The value as the field type stores it (checks select options, dates...)."""
    field = CustomField.get_or_none(CustomField.key == key)
    if field is None:
        return value
    parsed = field_types()[field.type_id].parse(value, field)
    if isinstance(parsed, list):
        if len(parsed) != 1:
            raise FieldValueError(_("Give a single choice."))
        parsed = parsed[0]
    return value if parsed is None else str(parsed)


def _owner(raw) -> User | None:
    try:
        user_id = int(raw)
    except (TypeError, ValueError):
        return None
    return User.get_or_none((User.id == user_id) & (User.is_active == True))  # noqa: E712


def display_value(rule: AssignmentRule, field: CustomField | None = None) -> str:
    """The rule's value as a user reads it (``Yes`` rather than ``1``);
    ``field`` is the custom field the rule tests, if any."""
    field_type = field_types().get(field.type_id) if field is not None else None
    if field_type is None or rule.operator != "is":
        return rule.value
    return field_type.display(rule.value, field)


def condition_text(rule: AssignmentRule) -> str:
    """``Geographic zone is “EMEA”`` — the condition as the admin reads it,
    in the current language (``rule.describe()`` is the English of events)."""
    field = CustomField.get_or_none(CustomField.key == rule.field_key)
    label = native_fields().get(rule.field_key) or (field.label if field is not None else rule.field_key)
    return _("%(field)s %(operator)s “%(value)s”", field=label,
             operator=OPERATOR_LABELS.get(rule.operator, rule.operator), value=display_value(rule, field))


def contact_facts(contact: Contact) -> dict[str, list[str]]:
    """Every value of a contact by field key (native and custom), as text."""
    facts = {key: [getattr(contact, key) or ""] for key in native_fields()}
    rows = (
        ContactValue.select(ContactValue.value, CustomField.key)
        .join(CustomField)
        .where(ContactValue.contact == contact.id)
        .tuples()
    )
    for value, key in rows:
        facts.setdefault(key, []).append(value)
    return facts


def matches(rule: AssignmentRule, facts: dict[str, list[str]]) -> bool:
    """Whether a contact with these ``facts`` satisfies ``rule``."""
    wanted = rule.value.casefold()
    values = [value.casefold() for value in facts.get(rule.field_key, ()) if value]
    if rule.operator == "contains":
        return any(wanted in value for value in values)
    return wanted in values


def active_rules() -> list[AssignmentRule]:
    """Active rules whose owner can take contacts, in evaluation order.

    A rule whose owner is deactivated or marked unavailable is skipped, so
    its contacts go to the next matching rule or to round robin.
    """
    return list(
        AssignmentRule.select(AssignmentRule, User)
        .join(User)
        .where(
            (AssignmentRule.active == True)  # noqa: E712
            & (User.is_active == True)  # noqa: E712
            & (User.is_available == True)  # noqa: E712
        )
        .order_by(AssignmentRule.position, AssignmentRule.id)
    )


def first_match(contact: Contact, rules: list[AssignmentRule] | None = None) -> AssignmentRule | None:
    """The first rule ``contact`` matches, or None."""
    rules = active_rules() if rules is None else rules
    if not rules:
        return None
    facts = contact_facts(contact)
    return next((rule for rule in rules if matches(rule, facts)), None)


def renumber(rules: list[AssignmentRule]) -> None:
    """Store ``rules``' order as positions 1..n."""
    for index, rule in enumerate(rules, start=1):
        if rule.position != index:
            AssignmentRule.update(position=index).where(AssignmentRule.id == rule.id).execute()


def move_rule(rule: AssignmentRule, offset: int) -> None:
    """Move a rule up (-1) or down (+1) in the evaluation order."""
    rules = list(AssignmentRule.select().order_by(AssignmentRule.position, AssignmentRule.id))
    index = next(i for i, r in enumerate(rules) if r.id == rule.id)
    target = min(max(index + offset, 0), len(rules) - 1)
    rules.insert(target, rules.pop(index))
    renumber(rules)
