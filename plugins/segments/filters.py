"""The segments plugin's own filters: native fields, custom fields, tags, owner, points,
membership of other segments and behaviour (events).

Each filter is a :class:`core.SegmentFilter` whose ``compile(params)`` returns
a peewee expression over ``Contact`` — ``Contact.id.in_(subquery)`` for
anything stored outside the contact row — and raises
:class:`SegmentFilterError` with a message for the user when ``params`` are
invalid. ``plugins.segments.planning`` turns those ``IN`` subqueries into
correlated ``EXISTS``, so a whole segment is one query that also evaluates
cheaply for a single contact.

Plugins add filters the same way through ``register_segment_filters``.
"""
from __future__ import annotations

import datetime as dt

from flask import current_app
from flask_babel import LazyString
from peewee import fn

from core import (Contact, native_fields, ContactTag, ContactValue, CustomField, Event, EventKind, FieldValueError, SegmentFilter,
                  Setting, Tag, User, event_kind_registered, event_kinds, translation_domain, utcnow)
from .models import Segment, SegmentMember
from .operators import (
    EVENT_KIND, NEGATIONS, RELATIVE_OPERATORS, TEXT_OPERATORS, SegmentFilterError, contact_in, json_text, month_days,
    operator_choices, read_date, read_days, read_items, read_operator, read_text, read_whole_number, start_of_day,
    text_predicate, utc_today, wildcard_like,
)

_, _l = translation_domain(__name__).pair()


# --- native fields ----------------------------------------------------------------

NATIVE_DATES = {"created_at": _l("Created"), "last_interaction_at": _l("Last activity")}
#: creation never changes; the last activity moves with every interaction event (any kind may count)
NATIVE_DATES_CHANGED_BY = {"created_at": (), "last_interaction_at": None}
DATETIME_OPERATORS = {
    "created_at": ("before", "after", "equals", "within_last_days", "more_than_days_ago"),
    "last_interaction_at": ("before", "after", "equals", "within_last_days", "more_than_days_ago",
                            "empty", "not_empty"),
}


def _native_text(name: str):
    def compile(params: dict):
        column = getattr(Contact, name)
        operator = read_operator(params, TEXT_OPERATORS)
        positive = NEGATIONS.get(operator, operator)
        if positive == "in":
            value = read_items(params)
        elif positive == "not_empty":
            value = None
        else:
            value = read_text(params)
        if name == "email" and positive in ("equals", "in"):
            value = [item.lower() for item in value] if isinstance(value, list) else value.lower()
        predicate = text_predicate(column, positive, value)
        if operator in NEGATIONS:
            return column.is_null() | ~predicate
        return predicate

    return compile


def _native_datetime(name: str):
    def compile(params: dict):
        column = getattr(Contact, name)
        operator = read_operator(params, DATETIME_OPERATORS[name])
        now = utcnow()
        if operator == "empty":
            return column.is_null()
        if operator == "not_empty":
            return column.is_null(False)
        if operator == "within_last_days":
            return column >= now - dt.timedelta(days=read_days(params))
        if operator == "more_than_days_ago":
            return column < now - dt.timedelta(days=read_days(params))
        day = read_date(params)
        if operator == "before":
            return column < start_of_day(day)
        if operator == "after":
            return column >= start_of_day(day + dt.timedelta(days=1))
        return (column >= start_of_day(day)) & (column < start_of_day(day + dt.timedelta(days=1)))

    return compile


# --- custom fields ----------------------------------------------------------------


def field_types():
    return current_app.extensions["couvee"].registries.field_types


def segment_filters():
    """The registry of segment filters (core's and the active plugins')."""
    return current_app.extensions["couvee"].registries.segment_filters


def custom_field(key: str) -> tuple[CustomField, object]:
    """The custom field ``key`` and its field type, or a SegmentFilterError."""
    custom = CustomField.get_or_none(CustomField.key == key)
    if custom is None:
        raise SegmentFilterError(_("There is no custom field “%(key)s”.", key=key))
    field_type = field_types().get(custom.type_id)
    if field_type is None:
        raise SegmentFilterError(
            _("The field “%(label)s” has the type “%(type)s”, which is not available (is its plugin active?).",
              label=custom.label, type=custom.type_id))
    return custom, field_type


def _canonical(field_type, custom, text: str) -> str:
    """What ``text`` is stored as for this field (``emea`` -> ``EMEA``, ``yes`` -> ``1``)."""
    try:
        value = field_type.parse(text, custom)
    except FieldValueError as error:
        raise SegmentFilterError(_("%(label)s: %(error)s", label=custom.label, error=error)) from None
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None:
        raise SegmentFilterError(_("%(label)s: enter a value.", label=custom.label))
    return str(value)


def _values_of(custom: CustomField, predicate=None):
    query = ContactValue.select(ContactValue.contact).where(ContactValue.field == custom.id)
    return query.where(predicate) if predicate is not None else query


def compile_custom_field(params: dict):
    """``{"field": key, "operator": op, "value": ...}`` over stored values."""
    custom, field_type = custom_field(read_text(params, "field", _l("a custom field")))
    operator = read_operator(params, field_type.operators)
    positive = NEGATIONS.get(operator, operator)
    column = ContactValue.value
    if positive == "not_empty":
        return contact_in(_values_of(custom), negate=operator == "empty")
    if positive == "contains_all":
        wanted = [_canonical(field_type, custom, item) for item in read_items(params)]
        parts = [contact_in(_values_of(custom, column == item)) for item in wanted]
        expression = parts[0]
        for part in parts[1:]:
            expression &= part
        return expression
    if positive in ("equals", "in") or (positive == "contains" and field_type.multi_valued):
        items = read_items(params) if positive != "equals" else [read_text(params)]
        wanted = [_canonical(field_type, custom, item) for item in items]
        predicate = column == wanted[0] if len(wanted) == 1 else column.in_(wanted)
    elif positive in ("contains", "starts_with", "ends_with"):
        predicate = text_predicate(column, positive, read_text(params))
    elif positive in ("before", "after"):
        bound = _canonical(field_type, custom, read_text(params))
        predicate = column < bound if positive == "before" else column > bound
    elif positive in ("within_last_days", "within_next_days"):
        days = read_days(params)
        day = utc_today()
        low, high = (day - dt.timedelta(days=days), day) if positive == "within_last_days" \
            else (day, day + dt.timedelta(days=days))
        predicate = column.between(low.isoformat(), high.isoformat())
    elif positive == "anniversary_in_days":
        predicate = fn.SUBSTR(column, 6, 5).in_(month_days(read_days(params)))
    else:
        raise SegmentFilterError(_("Segments cannot evaluate the operator “%(operator)s”.", operator=operator))
    return contact_in(_values_of(custom, predicate), negate=operator in NEGATIONS)


# --- tags, owner, points, segments --------------------------------------------------


def compile_tag(params: dict):
    operator = read_operator(params, ("has", "has_not"), default="has")
    name = " ".join(read_text(params, what=_l("a tag")).split())
    tagged = ContactTag.select(ContactTag.contact).where(
        ContactTag.tag.in_(Tag.select(Tag.id).where(Tag.name == name))
    )
    return contact_in(tagged, negate=operator == "has_not")


def _owner_expression(raw: str):
    text = raw.strip()
    if text.isdigit():
        return Contact.owner == int(text)
    if "@" in text:
        return Contact.owner.in_(User.select(User.id).where(User.email == text.lower()))
    raise SegmentFilterError(_("“%(text)s” is not a user; choose one in the list (or give a user id or email).",
                               text=text))


def compile_owner(params: dict):
    operator = read_operator(params, ("is", "is_not", "is_none", "is_set"))
    if operator == "is_none":
        return Contact.owner.is_null()
    if operator == "is_set":
        return Contact.owner.is_null(False)
    expression = _owner_expression(read_text(params, what=_l("a user")))
    return expression if operator == "is" else (Contact.owner.is_null() | ~expression)


def compile_points(params: dict):
    operator = read_operator(params, ("gte", "lte", "eq", "gt", "lt"))
    points = read_whole_number(params, "value", _l("a number of points"), -10**9, 10**9)
    column = Contact.points
    return {"gte": column >= points, "lte": column <= points, "eq": column == points,
            "gt": column > points, "lt": column < points}[operator]


def compile_segment_membership(params: dict):
    aliases = {"in": "in_segment", "not_in": "not_in_segment"}
    operator = read_operator({**params, "operator": aliases.get(params.get("operator"), params.get("operator"))},
                         ("in_segment", "not_in_segment"))
    segment_id = read_whole_number(params, "value", _l("a segment"), 1, 2**62)
    if not Segment.select().where(Segment.id == segment_id).exists():
        raise SegmentFilterError(_("Segment #%(id)s does not exist (it may have been deleted).", id=segment_id))
    members = SegmentMember.select(SegmentMember.contact).where(SegmentMember.segment == segment_id)
    return contact_in(members, negate=operator == "not_in_segment")


# --- behaviour --------------------------------------------------------------------


def _event_filter(kind: str | None, with_url: bool):
    def compile(params: dict):
        event_kind = kind or read_text(params, "kind", _l("an event kind"))
        if not EVENT_KIND.match(event_kind) or not event_kind_registered(event_kind):
            known = ", ".join(sorted(event_kinds().ids()))
            raise SegmentFilterError(_("“%(kind)s” is not an event kind of an active plugin (one of: %(known)s).",
                                       kind=event_kind, known=known))
        operator = read_operator(params, ("had", "had_not"), default="had")
        days = read_days(params, key="days", required=False)
        events = Event.select(Event.contact).where(Event.kind == event_kind)
        if days:
            events = events.where(Event.created_at >= utcnow() - dt.timedelta(days=days))
        url = str(params.get("url") or "").strip() if with_url else ""
        if url:
            events = events.where(wildcard_like(json_text(Event.data, "url"), url))
        return contact_in(events, negate=operator == "had_not")

    return compile


# --- registry -----------------------------------------------------------------------


def _choice(key: str, label, operators) -> Setting:
    return Setting(key, label, kind="choice", choices=operator_choices(operators), required=True)


def _value(label=_l("Value"), kind: str = "text", help="") -> Setting:
    return Setting("value", label, kind=kind, help=help)


_DAYS = Setting("days", _l("In the last (days)"), kind="int", help=_l("Leave empty for “ever”."))
_URL = Setting("url", _l("URL pattern"), help=_l("* matches anything, e.g. */pricing*"))
_HAD = ("had", "had_not")


def capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def event_filter(kind: EventKind) -> SegmentFilter:
    """“Did X in the last N days” for an event kind registered with
    ``segment_condition`` (with a URL pattern when its events carry a URL)."""
    with_url = "url" in kind.properties
    params = [_choice("operator", "", _HAD), *([_URL] if with_url else []), _DAYS]
    label = LazyString(lambda: capitalized(str(kind.past)))  # in the language of the page showing it
    return SegmentFilter(kind.id, label, _event_filter(kind.id, with_url), params,
                         changed_by=(kind.id,))


def core_filters(event_kinds) -> list[SegmentFilter]:
    """The filters core registers through ``register_segment_filters``; the
    behaviour ones are derived from the registered ``event_kinds``."""
    filters = [
        SegmentFilter(name, label, _native_text(name),
                      [_choice("operator", _l("Operator"), TEXT_OPERATORS),
                       _value(help=_l("Several values: separate them with commas."))], changed_by=())
        for name, label in native_fields().items()
    ]
    filters += [
        SegmentFilter(name, label, _native_datetime(name),
                      [_choice("operator", _l("Operator"), DATETIME_OPERATORS[name]),
                       _value(_l("Date or days"), help=_l("A date (2024-03-31) or a number of days."))],
                      changed_by=NATIVE_DATES_CHANGED_BY[name])
        for name, label in NATIVE_DATES.items()
    ]
    filters += [
        SegmentFilter("field", _l("Custom field"), compile_custom_field,
                      [Setting("field", _l("Field"), kind="choice", required=True),
                       Setting("operator", _l("Operator"), kind="choice", required=True),
                       _value(help=_l("Several values: comma-separated; “N days”: a number."))], changed_by=()),
        SegmentFilter("tag", _l("Tag"), compile_tag, [_choice("operator", _l("Operator"), ("has", "has_not")),
                                                  _value(_l("Tag"))], changed_by=("tag_added", "tag_removed")),
        SegmentFilter("owner", _l("Owner"), compile_owner,
                      [_choice("operator", _l("Operator"), ("is", "is_not", "is_none", "is_set")),
                       _value(_l("User"), kind="choice")],
                      changed_by=(), reads=("owner_id",)),  # the kinds that change owners say so
        SegmentFilter("points", _l("Points"), compile_points,
                      [_choice("operator", _l("Operator"), ("gte", "lte", "eq", "gt", "lt")), _value(_l("Points"), "int")],
                      changed_by=(), reads=("points",)),  # the kinds that change points say so
        SegmentFilter("segment", _l("Segment membership"), compile_segment_membership,
                      [_choice("operator", _l("Operator"), ("in_segment", "not_in_segment")),
                       _value(_l("Segment"), kind="choice")], changed_by=("segment_joined", "segment_left")),
    ]
    filters += [event_filter(kind) for kind in event_kinds if kind.segment_condition]
    filters.append(SegmentFilter("event", _l("Had an event"), _event_filter(None, True),
                                 [Setting("kind", _l("Event kind"), required=True, help=_l("e.g. tag_added")),
                                  _choice("operator", "", _HAD), _URL, _DAYS],
                                 changed_by=lambda params: (str(params.get("kind") or "").strip(),)))
    return filters


#: evaluation cost class of core filters: cheap row predicates first, then
#: indexed lookups, then behaviour (events); AND terms are ordered by it
COST = {"email": 0, "first_name": 0, "last_name": 0, "created_at": 0, "last_interaction_at": 0,
        "owner": 0, "points": 0, "field": 1, "tag": 1, "segment": 1, "event": 2}
#: the cost class of the behaviour filters derived from event kinds
EVENT_COST = 2
CORE_FILTER_IDS = frozenset(COST)


def is_event_filter(filter_id: str) -> bool:
    """Is this a behaviour filter (“had an event”, or one derived from a kind)?"""
    if filter_id == "event":
        return True
    kind = event_kinds().get(filter_id)
    return bool(kind and kind.segment_condition)


def cost_of(filter_id: str) -> int:
    """Evaluation cost class of a filter; plugin filters count as indexed lookups."""
    return EVENT_COST if is_event_filter(filter_id) else COST.get(filter_id, 1)


def is_relative(filter_id: str, params: dict) -> bool:
    """Does this condition's meaning change with time alone? Unknown (plugin)
    filters are assumed to."""
    if is_event_filter(filter_id):
        return bool(str(params.get("days") or "").strip())
    if filter_id not in CORE_FILTER_IDS:
        return True
    return params.get("operator") in RELATIVE_OPERATORS
