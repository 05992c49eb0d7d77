"""A segment definition in words, for the admin and the API
(``Zone is “EMEA” and has the tag “webinar” and visited a page matching
“*/pricing*” in the last 30 days``). Plain text: templates escape it."""
from __future__ import annotations

from core import CustomField, User, event_kinds, translation_domain
from .filters import is_event_filter, segment_filters
from .operators import VALUELESS_OPERATORS, label_of
from .models import Segment

_, _l = translation_domain(__name__).pair()
pgettext = translation_domain(__name__).pgettext
#: a condition with a value, as a whole sentence per operator (French word order differs)
VALUE_SENTENCES = {
    "equals": _l("%(subject)s is %(value)s"),
    "not_equals": _l("%(subject)s is not %(value)s"),
    "contains": _l("%(subject)s contains %(value)s"),
    "not_contains": _l("%(subject)s does not contain %(value)s"),
    "contains_all": _l("%(subject)s contains all of %(value)s"),
    "starts_with": _l("%(subject)s starts with %(value)s"),
    "ends_with": _l("%(subject)s ends with %(value)s"),
    "in": _l("%(subject)s is one of %(value)s"),
    "not_in": _l("%(subject)s is none of %(value)s"),
    "before": _l("%(subject)s is before %(value)s"),
    "after": _l("%(subject)s is after %(value)s"),
    "within_last_days": _l("%(subject)s is within the last %(value)s days"),
    "within_next_days": _l("%(subject)s is within the next %(value)s days"),
    "anniversary_in_days": _l("%(subject)s has its anniversary within %(value)s days"),
    "more_than_days_ago": _l("%(subject)s is more than %(value)s days ago"),
}
#: operators whose value is a number of days, shown without quotes
DAYS_OPERATORS = frozenset({"within_last_days", "within_next_days", "anniversary_in_days", "more_than_days_ago"})
VALUELESS_SENTENCES = {
    "empty": _l("%(subject)s is empty"),
    "not_empty": _l("%(subject)s is not empty"),
    "is_none": _l("%(subject)s is nobody"),
    "is_set": _l("%(subject)s is somebody"),
}


def native_subject(filter_id: str) -> str | None:
    """A contact column as the subject of a sentence (``email is “x”``)."""
    return {
        "email": pgettext("segment sentence", "email"),
        "first_name": pgettext("segment sentence", "first name"),
        "last_name": pgettext("segment sentence", "last name"),
        "created_at": pgettext("segment sentence", "created"),
        "last_interaction_at": pgettext("segment sentence", "last activity"),
        "points": pgettext("segment sentence", "points"),
    }.get(filter_id)


def quoted(text) -> str:
    return _("“%(text)s”", text=text)


def describe_condition(condition: dict) -> str:
    """A condition in words, e.g. ``Zone is “EMEA”``."""
    filter_id, params = condition["filter"], condition.get("params") or {}
    operator = str(params.get("operator") or "")
    value = params.get("value")
    shown = ", ".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value or "").strip()
    registered = segment_filters().get(filter_id)
    label = native_subject(filter_id) or (str(registered.label) if registered else filter_id)
    if filter_id == "field":
        custom = CustomField.get_or_none(CustomField.key == str(params.get("field")))
        label = custom.label if custom else str(params.get("field"))
    if filter_id == "tag":
        if operator == "has_not":
            return _("does not have the tag “%(tag)s”", tag=shown)
        return _("has the tag “%(tag)s”", tag=shown)
    if filter_id == "owner":
        if operator in ("is_none", "is_set"):
            return _("has no owner") if operator == "is_none" else _("has an owner")
        user = User.get_or_none(User.id == int(shown)) if shown.isdigit() else None
        name = user.display_name if user else shown
        return _("owner is not %(user)s", user=name) if operator == "is_not" else _("owner is %(user)s", user=name)
    if filter_id == "segment":
        segment = Segment.get_or_none(Segment.id == int(shown)) if shown.isdigit() else None
        name = segment.name if segment else "#" + shown
        if operator in ("not_in_segment", "not_in"):
            return _("is not in the segment “%(segment)s”", segment=name)
        return _("is in the segment “%(segment)s”", segment=name)
    if is_event_filter(filter_id):
        return _describe_behaviour(filter_id, params)
    if operator in VALUELESS_OPERATORS or not operator:
        sentence = VALUELESS_SENTENCES.get(operator)
        return str(sentence) % {"subject": label} if sentence else f"{label} {label_of(operator)}".strip()
    shown_value = shown if filter_id == "points" or operator in DAYS_OPERATORS else quoted(shown)
    sentence = VALUE_SENTENCES.get(operator)
    if sentence is None:  # a symbol (points) or an operator of a plugin's field type
        return f"{label} {label_of(operator)} {shown_value}"
    return str(sentence) % {"subject": label, "value": shown_value}


def _describe_behaviour(filter_id: str, params: dict) -> str:
    """``submitted a form in the last 30 days``, worded by the event kind."""
    negative = params.get("operator") == "had_not"
    if filter_id == "event":
        kind_id = params.get("kind", "")
        text = _("did not have an event “%(kind)s”", kind=kind_id) if negative \
            else _("had an event “%(kind)s”", kind=kind_id)
    else:
        kind = event_kinds()[filter_id]
        text = str(kind.negative if negative else kind.past)
    url = str(params.get("url") or "").strip()
    days = str(params.get("days") or "").strip()
    if url and days:
        return _("%(behaviour)s matching “%(url)s” in the last %(days)s days", behaviour=text, url=url, days=days)
    if url:
        return _("%(behaviour)s matching “%(url)s” ever", behaviour=text, url=url)
    if days:
        return _("%(behaviour)s in the last %(days)s days", behaviour=text, days=days)
    return _("%(behaviour)s ever", behaviour=text)


def _joined(parts: list[str], match: str) -> str:
    """``a and b and c`` (or ``or``), one pair at a time so each language orders it."""
    text = parts[0]
    for part in parts[1:]:
        text = _("%(left)s and %(right)s", left=text, right=part) if match == "all" \
            else _("%(left)s or %(right)s", left=text, right=part)
    return text


def describe_definition(definition: dict) -> str:
    """The whole definition in one sentence, groups in parentheses."""
    parts = []
    groups = definition.get("groups") or []
    for group in groups:
        conditions = [describe_condition(c) for c in group.get("conditions") or []]
        if not conditions:
            continue
        text = _joined(conditions, group.get("match", "all"))
        parts.append(f"({text})" if len(groups) > 1 and len(conditions) > 1 else text)
    if not parts:
        return _("no condition")
    return _joined(parts, definition.get("match", "all"))
