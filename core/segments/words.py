"""A segment definition in words, for the admin and the API
(``Zone is “EMEA” and has the tag “webinar” and visited a page matching
“*/pricing*” in the last 30 days``). Plain text: templates escape it."""
from __future__ import annotations

from ..models import CustomField, User
from ..event_kinds import event_kinds
from .filters import is_event_filter, segment_filters
from .operators import VALUELESS_OPERATORS, label_of
from .models import Segment

_LOWER_LABELS = {"email", "first_name", "last_name", "created_at", "last_interaction_at", "points"}


def describe_condition(condition: dict) -> str:
    """A condition in words, e.g. ``Zone is “EMEA”``."""
    filter_id, params = condition["filter"], condition.get("params") or {}
    operator = str(params.get("operator") or "")
    value = params.get("value")
    shown = ", ".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value or "").strip()
    registered = segment_filters().get(filter_id)
    label = registered.label if registered else filter_id
    if filter_id in _LOWER_LABELS:
        label = label.lower()
    if filter_id == "field":
        custom = CustomField.get_or_none(CustomField.key == str(params.get("field")))
        label = custom.label if custom else str(params.get("field"))
    if filter_id == "tag":
        return f"{'does not have' if operator == 'has_not' else 'has'} the tag “{shown}”"
    if filter_id == "owner":
        if operator in ("is_none", "is_set"):
            return "has no owner" if operator == "is_none" else "has an owner"
        user = User.get_or_none(User.id == int(shown)) if shown.isdigit() else None
        return f"owner {label_of(operator)} {user.display_name if user else shown}"
    if filter_id == "segment":
        segment = Segment.get_or_none(Segment.id == int(shown)) if shown.isdigit() else None
        verb = "is not in" if operator in ("not_in_segment", "not_in") else "is in"
        return f"{verb} the segment “{segment.name if segment else '#' + shown}”"
    if is_event_filter(filter_id):
        return _describe_behaviour(filter_id, params)
    if operator in VALUELESS_OPERATORS or not operator:
        return f"{label} {label_of(operator)}".strip()
    if "N days" in label_of(operator):
        return f"{label} {label_of(operator).replace('N days', f'{shown} days')}"
    quoted = f"“{shown}”" if filter_id != "points" else shown
    return f"{label} {label_of(operator)} {quoted}"


def _describe_behaviour(filter_id: str, params: dict) -> str:
    """``submitted a form in the last 30 days``, worded by the event kind."""
    negative = params.get("operator") == "had_not"
    if filter_id == "event":
        text = f"{'did not have' if negative else 'had'} an event “{params.get('kind', '')}”"
    else:
        kind = event_kinds()[filter_id]
        text = kind.negative if negative else kind.past
    if str(params.get("url") or "").strip():
        text += f" matching “{str(params['url']).strip()}”"
    days = str(params.get("days") or "").strip()
    text += f" in the last {days} days" if days else " ever"
    return text


def describe_definition(definition: dict) -> str:
    """The whole definition in one sentence, groups in parentheses."""
    parts = []
    groups = definition.get("groups") or []
    for group in groups:
        joiner = " and " if group.get("match", "all") == "all" else " or "
        text = joiner.join(describe_condition(c) for c in group.get("conditions") or [])
        parts.append(f"({text})" if len(groups) > 1 and len(group.get("conditions") or []) > 1 else text)
    joiner = " and " if definition.get("match", "all") == "all" else " or "
    return joiner.join(parts) or "no condition"

