"""The point trigger form: name, threshold, retroactive, and a list of
actions from the actions registry with their declared settings.

Works without JavaScript: rows are ``a0``, ``a1``...; each has
``a{i}-action`` and one input per setting (``a{i}-s-{key}``). The buttons
``refresh``, ``add`` and ``remove-{i}`` redraw the form; ``save`` stores it.
"""
from __future__ import annotations

import re

from core import state, translation_domain

from .ledger import MAX_DELTA
from .models import PointTrigger

ROW = re.compile(r"^a(\d{1,2})-action$")
MAX_ROWS = 20
_ = translation_domain(__name__).gettext


def registry():
    return state().registries.actions


def action_choices() -> list[tuple[str, str]]:
    return sorted(((a.id, a.label) for a in registry()), key=lambda pair: str(pair[1]).lower())


def parse_rows(form) -> list[dict]:
    """``[{"action": id, "settings": {key: raw text}}]`` from the posted form."""
    indexes = sorted(int(m.group(1)) for m in (ROW.match(key) for key in form.keys()) if m)[:MAX_ROWS]
    rows = []
    for index in indexes:
        action_id = form.get(f"a{index}-action", "")
        action = registry().get(action_id)
        settings = {}
        for setting in action.settings if action else ():
            name = f"a{index}-s-{setting.key}"
            settings[setting.key] = form.get(name, "") if setting.kind != "bool" else (name in form)
        rows.append({"action": action_id, "settings": settings})
    return rows


def apply_button(rows: list[dict], button: str) -> list[dict]:
    if button == "add" and len(rows) < MAX_ROWS:
        rows.append({"action": "", "settings": {}})
    elif button.startswith("remove-") and button[7:].isdigit():
        index = int(button[7:])
        if index < len(rows):
            del rows[index]
    return rows


def _coerce(setting, raw, errors: list[str], label: str):
    if setting.kind == "bool":
        return bool(raw)
    text = str(raw if raw is not None else "").strip()
    if setting.required and not text:
        errors.append(_("%(action)s: %(setting)s is required.", action=label, setting=setting.label))
        return text
    if setting.kind == "int" and text:
        try:
            number = int(text)
        except ValueError:
            errors.append(_("%(action)s: %(setting)s must be a whole number.", action=label, setting=setting.label))
            return text
        if abs(number) > MAX_DELTA * 1000:
            errors.append(_("%(action)s: %(setting)s is too large.", action=label, setting=setting.label))
        return number
    if setting.kind == "choice" and text and text not in {value for value, _label in setting.choice_list()}:
        errors.append(_("%(action)s: choose one of the listed values for %(setting)s.", action=label,
                        setting=setting.label))
    return text


def clean_actions(rows: list[dict]) -> tuple[list[dict], list[str]]:
    """Validated actions to store (empty rows dropped) and error messages."""
    cleaned, errors = [], []
    for number, row in enumerate(rows, start=1):
        if not row["action"]:
            continue
        action = registry().get(row["action"])
        if action is None:
            errors.append(_("Action %(number)s: “%(action)s” is not an available action.", number=number,
                            action=row["action"]))
            continue
        label = _("Action %(number)s (%(action)s)", number=number, action=action.label)
        settings = {s.key: _coerce(s, row["settings"].get(s.key), errors, label)
                    for s in action.settings}
        cleaned.append({"action": action.id, "settings": settings})
    if not cleaned and not errors:
        errors.append(_("Add at least one thing to do when the threshold is reached."))
    return cleaned, errors


def clean(form, rows: list[dict]) -> tuple[dict, dict]:
    """The whole form: ``(values, errors)``; errors keyed by field (``actions``: a list)."""
    errors: dict = {}
    values = {"name": " ".join(form.get("name", "").split())[:200],
              "threshold": form.get("threshold", "").strip(),
              "retroactive": form.get("retroactive") in ("1", "on"),
              "active": form.get("active") in ("1", "on")}
    if not values["name"]:
        errors["name"] = _("Give the trigger a name.")
    try:
        values["threshold"] = int(values["threshold"])
        if abs(values["threshold"]) > 10**9:
            raise ValueError
    except ValueError:
        errors["threshold"] = _("The threshold must be a whole number of points, like 100.")
    values["actions"], action_errors = clean_actions(rows)
    if action_errors:
        errors["actions"] = action_errors
    return values, errors


def draw(rows: list[dict]) -> list[dict]:
    """Rows with their widgets, for the template."""
    drawn = []
    for index, row in enumerate(rows):
        action = registry().get(row["action"])
        widgets = [{"name": f"a{index}-s-{s.key}", "setting": s,
                    "value": row["settings"].get(s.key, s.default if s.default is not None else "")}
                   for s in (action.settings if action else ())]
        drawn.append({"index": index, "action": row["action"], "known": action is not None,
                      "description": action.description if action else "", "widgets": widgets})
    return drawn


def rows_of(trigger: PointTrigger | None) -> list[dict]:
    if trigger is None or not trigger.actions:
        return [{"action": "", "settings": {}}]
    return [{"action": step.get("action", ""), "settings": dict(step.get("settings") or {})}
            for step in trigger.actions]


def describe(step: dict) -> str:
    """An action step in words (plain text; templates escape it)."""
    action = registry().get(step.get("action", ""))
    label = action.label if action else _("%(action)s (not available)", action=step.get("action"))
    names = {setting.key: setting.label for setting in (action.settings if action else ())}
    shown = ", ".join(_("%(setting)s: %(value)s", setting=names.get(key, key), value=value)
                      for key, value in (step.get("settings") or {}).items() if value not in ("", None))
    return f"{label} ({shown})" if shown else label
