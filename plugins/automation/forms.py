"""Forms generated from declared settings (:class:`core.Setting`), for the
steps, the actions of every plugin and the triggers.

A ``choice`` setting whose choices are one of the markers below is filled
from the data when the form is drawn (fields, date fields, segments, users),
so trigger types can be registered before any database is open.
"""
from __future__ import annotations

from dataclasses import dataclass

from core import Setting, translation_domain

FIELDS = [("@fields", "")]
DATE_FIELDS = [("@date_fields", "")]
SEGMENTS = [("@segments", "")]
USERS = [("@users", "")]
WORKFLOWS = [("@workflows", "")]
_ = translation_domain(__name__).gettext


def workflow_choices() -> list[tuple[str, str]]:
    from .models import Workflow

    return [(str(w.id), w.name) for w in Workflow.select().order_by(Workflow.name)]


def expand_choices(setting: Setting) -> list[tuple[str, str]]:
    from core import user_choices

    from .steps import field_choices, segment_choices

    dynamic = {"@fields": field_choices, "@date_fields": lambda: field_choices(("date",)),
               "@segments": segment_choices, "@users": user_choices, "@workflows": workflow_choices}
    choices: list[tuple[str, str]] = []
    for value, label in setting.choices:
        if value in dynamic:
            choices.extend(dynamic[value]())
        else:
            choices.append((value, label))
    if setting.choices_from is not None:
        choices.extend(setting.choices_from())
    return choices


@dataclass
class FormField:
    """What the template needs to draw one control."""

    name: str
    setting: Setting
    value: object
    error: str
    choices: list


def form_fields(declared: list[Setting], values: dict, errors: dict, prefix: str = "s-") -> list[FormField]:
    fields = []
    for setting in declared:
        value = values.get(setting.key, setting.default)
        choices = expand_choices(setting) if setting.kind == "choice" else []
        fields.append(FormField(prefix + setting.key, setting, "" if value is None else value,
                                errors.get(setting.key, ""), choices))
    return fields


def coerce_value(setting: Setting, raw) -> object:
    """Turn form text into the setting's type; raise ValueError with a message."""
    if setting.kind == "bool":
        return raw in (True, "1", "on", "true", "yes")
    text = "" if raw is None else str(raw).strip()
    if not text:
        if setting.required:
            raise ValueError(_("%(label)s is required.", label=setting.label))
        return None if setting.kind == "int" else ""
    if setting.kind == "int":
        try:
            return int(text)
        except ValueError:
            raise ValueError(_("%(label)s must be a whole number.", label=setting.label)) from None
    if setting.kind == "choice":
        allowed = {str(value) for value, _ in expand_choices(setting)}
        if allowed and text not in allowed:
            raise ValueError(_("%(label)s: choose one of the options.", label=setting.label))
    return text


def parse_form(declared: list[Setting], form, prefix: str = "s-") -> tuple[dict, dict]:
    """``(values, errors)`` from a submitted form."""
    values, errors = {}, {}
    for setting in declared:
        raw = form.get(prefix + setting.key) if setting.kind != "bool" else (prefix + setting.key in form)
        try:
            values[setting.key] = coerce_value(setting, raw)
        except ValueError as error:
            values[setting.key] = raw
            errors[setting.key] = str(error)
    return values, errors


def check_values(declared: list[Setting], values: dict) -> list[str]:
    """Problems of stored values (activation check): missing or invalid."""
    problems = []
    for setting in declared:
        raw = (values or {}).get(setting.key, setting.default)
        try:
            coerce_value(setting, raw)
        except ValueError as error:
            problems.append(str(error))
    return problems
