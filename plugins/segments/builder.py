"""The filter builder form, without JavaScript.

Inputs are named by position: ``g0-match`` for group 0, ``g0-c1-subject`` for
its second condition (a filter id, or ``field:<key>`` for a custom field) and
``g0-c1-<param>`` for that filter's parameters (``operator``, ``value``...).
Submit buttons named ``action`` add a condition (``add-condition-0``), a group
(``add-group``), remove one (``remove-0-1``), redraw after a change
(``refresh``) or save (``save``). ``static/segments.js`` only presses
"refresh" when a subject changes.
"""
from __future__ import annotations

import re

from core import CustomField, Tag, User, translation_domain
from .filters import field_types, is_event_filter, segment_filters
from .operators import label_of
from .models import Segment

_ = translation_domain(__name__).gettext

_GROUP = re.compile(r"^g(\d+)-match$")
_SUBJECT = re.compile(r"^g(\d+)-c(\d+)-subject$")
MAX_ROWS = 100


def blank_condition() -> dict:
    return {"filter": "", "params": {}}


def subject_of(condition: dict) -> str:
    if condition.get("filter") == "field":
        return f"field:{condition.get('params', {}).get('field', '')}"
    return condition.get("filter") or ""


def _condition_from(form, prefix: str) -> dict:
    subject = (form.get(f"{prefix}-subject") or "").strip()
    filter_id, _, field_key = subject.partition(":")
    registered = segment_filters().get(filter_id)
    params = {}
    if registered is not None:
        for setting in registered.params:
            if setting.key != "field" and form.get(f"{prefix}-{setting.key}") is not None:
                params[setting.key] = form.get(f"{prefix}-{setting.key}").strip()
    if filter_id == "field":
        params["field"] = field_key
    return {"filter": filter_id, "params": params}


def parse_form(form) -> dict:
    """The definition the form holds, blank rows included."""
    groups: dict[int, dict] = {}
    for key in form.keys():
        group = _GROUP.match(key)
        subject = _SUBJECT.match(key)
        if group:
            groups.setdefault(int(group.group(1)), {})
        if subject:
            groups.setdefault(int(subject.group(1)), {})[int(subject.group(2))] = f"g{subject.group(1)}-c{subject.group(2)}"
    definition = {"match": form.get("match") if form.get("match") in ("all", "any") else "all", "groups": []}
    rows = 0
    for g in sorted(groups):
        conditions = []
        for c in sorted(groups[g]):
            if rows < MAX_ROWS:
                conditions.append(_condition_from(form, groups[g][c]))
                rows += 1
        match = form.get(f"g{g}-match")
        definition["groups"].append({"match": match if match in ("all", "any") else "all", "conditions": conditions})
    return definition


def without_blanks(definition: dict) -> dict:
    """Drop rows with no subject and the groups left empty."""
    groups = []
    for group in definition.get("groups") or []:
        conditions = [c for c in group["conditions"] if c.get("filter")]
        if conditions:
            groups.append({"match": group["match"], "conditions": conditions})
    return {"match": definition.get("match", "all"), "groups": groups}


def apply_action(definition: dict, action: str) -> dict:
    """Add or remove a row or a group as the pressed button asks."""
    groups = definition["groups"]
    if action == "add-group":
        groups.append({"match": "all", "conditions": [blank_condition()]})
    elif action.startswith("add-condition-"):
        index = int(action.rsplit("-", 1)[1]) if action.rsplit("-", 1)[1].isdigit() else -1
        if 0 <= index < len(groups):
            groups[index]["conditions"].append(blank_condition())
    elif action.startswith("remove-"):
        parts = action.split("-")
        if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
            g, c = int(parts[1]), int(parts[2])
            if g < len(groups) and c < len(groups[g]["conditions"]):
                del groups[g]["conditions"][c]
                if not groups[g]["conditions"]:
                    del groups[g]
    if not groups:
        groups.append({"match": "all", "conditions": [blank_condition()]})
    return definition


# --- what the template draws ----------------------------------------------------------


def subjects() -> list[tuple[str, list[tuple[str, str]]]]:
    """Options of the subject select, grouped: ``[(group label, [(value, label)])]``."""
    registered = segment_filters()
    contact = [(fid, registered[fid].label) for fid in
               ("email", "first_name", "last_name", "created_at", "last_interaction_at", "owner", "points")
               if fid in registered]
    fields = [(f"field:{f.key}", _("%(label)s (archived)", label=f.label) if f.archived else f.label) for f in
              CustomField.select().order_by(CustomField.archived, CustomField.position, CustomField.id)]
    lists = [(fid, registered[fid].label) for fid in ("tag", "segment") if fid in registered]
    behaviour = [(item.id, item.label) for item in registered if is_event_filter(item.id)]
    core = {value for value, _label in contact + lists + behaviour} | {"field"}
    plugins = [(item.id, item.label) for item in registered if item.id not in core]
    found = [(_("Contact"), contact), (_("Custom fields"), fields), (_("Tags and segments"), lists),
             (_("Behaviour"), behaviour), (_("From plugins"), plugins)]
    return [(label, options) for label, options in found if options]


def param_widgets(condition: dict, current_segment_id: int | None) -> list[dict]:
    """The inputs of one row after its subject: ``{key, label, kind, value,
    choices, help, datalist}`` per parameter of the chosen filter."""
    registered = segment_filters().get(condition.get("filter") or "")
    if registered is None:
        return []
    params = condition.get("params") or {}
    widgets = []
    for setting in registered.params:
        if setting.key == "field":
            continue
        widget = {"key": setting.key, "label": setting.label, "kind": setting.kind, "help": setting.help,
                  "value": params.get(setting.key, ""), "choices": setting.choice_list(), "datalist": []}
        _dynamic_choices(registered.id, widget, params, current_segment_id)
        widgets.append(widget)
    return widgets


def _dynamic_choices(filter_id: str, widget: dict, params: dict, current_segment_id) -> None:
    key = widget["key"]
    if filter_id == "field":
        custom = CustomField.get_or_none(CustomField.key == params.get("field", ""))
        field_type = field_types().get(custom.type_id) if custom else None
        if key == "operator":
            operators = field_type.operators if field_type else ()
            widget["choices"] = [(op, label_of(op)) for op in operators]
        elif key == "value" and custom is not None and custom.options:
            widget["datalist"] = [str(option) for option in custom.options]
            widget["help"] = _("Choices: %(choices)s.", choices=", ".join(str(o) for o in custom.options))
    elif filter_id == "owner" and key == "value":
        widget["choices"] = [("", "—")] + [(str(u.id), u.display_name) for u in
                                          User.select().where(User.is_active == True).order_by(User.email)]  # noqa: E712
    elif filter_id == "segment" and key == "value":
        widget["choices"] = [("", "—")] + [(str(s.id), s.name) for s in Segment.select().order_by(Segment.name)
                                          if s.id != current_segment_id]
    elif filter_id == "tag" and key == "value":
        widget["datalist"] = [t.name for t in Tag.select(Tag.name).order_by(Tag.name).limit(500)]


def rows(definition: dict, current_segment_id: int | None, errors: dict) -> list[dict]:
    """Groups with their rows, ready for the template."""
    drawn = []
    for g, group in enumerate(definition.get("groups") or []):
        conditions = []
        for c, condition in enumerate(group.get("conditions") or []):
            key = f"g{g}-c{c}"
            conditions.append({"key": key, "subject": subject_of(condition), "error": errors.get(key),
                               "widgets": param_widgets(condition, current_segment_id)})
        drawn.append({"index": g, "match": group.get("match", "all"), "conditions": conditions})
    return drawn
