"""Operators, reading filter parameters, and the SQL pieces filters share.

Parameters come as text from the builder form or as JSON values from the API;
the ``read_*`` helpers accept both and raise :class:`SegmentFilterError` with
a message for the user.
"""
from __future__ import annotations

import datetime as dt
import re

from peewee import Cast, Expression, Value, fn

from core import (
    Contact, DateFieldType, FieldValueError, escape_like, escaped_like, is_sqlite, text_contains, text_ends_with,
    text_starts_with, translation_domain, utcnow,
)

_, _l = translation_domain(__name__).pair()


class SegmentFilterError(ValueError):
    """Invalid filter parameters; the message is shown to the user as is."""


OPERATOR_LABELS = {
    "equals": _l("is"),
    "not_equals": _l("is not"),
    "contains": _l("contains"),
    "not_contains": _l("does not contain"),
    "contains_all": _l("contains all of"),
    "starts_with": _l("starts with"),
    "ends_with": _l("ends with"),
    "in": _l("is one of"),
    "not_in": _l("is none of"),
    "empty": _l("is empty"),
    "not_empty": _l("is not empty"),
    "before": _l("is before"),
    "after": _l("is after"),
    "within_last_days": _l("is within the last N days"),
    "within_next_days": _l("is within the next N days"),
    "anniversary_in_days": _l("has its anniversary within N days"),
    "more_than_days_ago": _l("is more than N days ago"),
    "has": _l("has"),
    "has_not": _l("has not"),
    "is": _l("is"),
    "is_not": _l("is not"),
    "is_none": _l("is nobody"),
    "is_set": _l("is somebody"),
    "gte": "≥",
    "lte": "≤",
    "eq": "=",
    "gt": ">",
    "lt": "<",
    "in_segment": _l("is in"),
    "not_in_segment": _l("is not in"),
    "had": _l("did"),
    "had_not": _l("did not"),
}
#: operators whose meaning moves with the clock (segments using them are rebuilt hourly)
RELATIVE_OPERATORS = frozenset({"within_last_days", "within_next_days", "anniversary_in_days", "more_than_days_ago"})
#: operators that take no value
VALUELESS_OPERATORS = frozenset({"empty", "not_empty", "is_none", "is_set"})
#: negative operator -> the positive one it negates
NEGATIONS = {"not_equals": "equals", "not_contains": "contains", "not_in": "in", "empty": "not_empty"}
TEXT_OPERATORS = ("equals", "not_equals", "contains", "not_contains", "starts_with", "ends_with",
                  "in", "not_in", "empty", "not_empty")
MAX_DAYS = 36500
EVENT_KIND = re.compile(r"^[a-z][a-z0-9_.:-]{0,63}$")


def label_of(operator: str) -> str:
    return OPERATOR_LABELS.get(operator, operator.replace("_", " "))


def operator_choices(operators) -> list[tuple[str, str]]:
    return [(op, label_of(op)) for op in operators]


# --- reading parameters -------------------------------------------------------


def read_operator(params: dict, allowed, default: str | None = None) -> str:
    operator = str(params.get("operator") or default or "").strip()
    if not operator:
        raise SegmentFilterError(_("Choose an operator."))
    if operator not in allowed:
        choices = ", ".join(_("“%(text)s”", text=label_of(op)) for op in allowed)
        raise SegmentFilterError(_("“%(operator)s” is not an operator here; use one of %(choices)s.",
                                   operator=operator, choices=choices))
    return operator


def read_text(params: dict, key: str = "value", what=_l("a value")) -> str:
    value = params.get(key)
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(item) for item in value if item not in (None, ""))
    text = "" if value is None else str(value).strip()
    if not text:
        raise SegmentFilterError(_("Enter %(what)s.", what=what))
    return text


def read_items(params: dict, key: str = "value", what=_l("at least one value")) -> list[str]:
    """A list given as a JSON list or as comma-separated text."""
    value = params.get(key)
    if isinstance(value, (list, tuple)):
        items = [str(item).strip() for item in value]
    else:
        items = [part.strip() for part in str(value or "").split(",")]
    items = [item for item in items if item]
    if not items:
        raise SegmentFilterError(_("Enter %(what)s (separate several values with commas).", what=what))
    return list(dict.fromkeys(items))


def read_whole_number(params: dict, key: str, what, minimum: int, maximum: int, required: bool = True):
    raw = params.get(key)
    if raw is None or str(raw).strip() == "":
        if required:
            raise SegmentFilterError(_("Enter %(what)s.", what=what))
        return None
    try:
        number = int(str(raw).strip())
    except ValueError:
        raise SegmentFilterError(_("“%(raw)s” is not a whole number; enter %(what)s.", raw=raw, what=what)) from None
    if not minimum <= number <= maximum:
        raise SegmentFilterError(_("Enter %(what)s between %(minimum)s and %(maximum)s, not %(number)s.",
                                   what=what, minimum=minimum, maximum=maximum, number=number))
    return number


def read_days(params: dict, key: str = "value", required: bool = True):
    return read_whole_number(params, key, _l("a number of days"), 0 if key == "value" else 1, MAX_DAYS, required)


def read_date(params: dict) -> dt.date:
    text = read_text(params, what=_l("a date"))
    try:
        return dt.date.fromisoformat(DateFieldType().parse(text))
    except FieldValueError as error:
        raise SegmentFilterError(str(error)) from None


# --- SQL helpers ----------------------------------------------------------------


def contact_in(subquery, negate: bool = False):
    """``Contact.id IN (subquery)`` (or ``NOT IN``); the first column of the
    subquery is a contact id."""
    return Contact.id.not_in(subquery) if negate else Contact.id.in_(subquery)


def wildcard_like(column, pattern: str):
    """Case-insensitive match of ``column`` against a pattern where ``*`` is
    any text; a pattern without ``*`` matches values containing it. ``%``, ``_``
    and ``\\`` in the pattern are literal (escaped)."""
    escaped = escape_like(pattern)
    if "*" not in escaped:
        escaped = f"*{escaped}*"
    return escaped_like(column, re.sub(r"\*+", "%", escaped))


def json_text(column, key: str):
    """The text of ``key`` in a JSON text column, on SQLite and PostgreSQL."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        raise ValueError(f"unsupported JSON key {key!r}")
    if is_sqlite():
        return fn.json_extract(column, Value(f"$.{key}", converter=False))
    return Expression(Cast(column, "json"), "->>", Value(key, converter=False))


def text_predicate(column, operator: str, value):
    """The positive predicate on a text column for ``operator``."""
    if operator == "equals":
        return column == value
    if operator == "in":
        return column.in_(value)
    if operator == "contains":
        return text_contains(column, value)
    if operator == "starts_with":
        return text_starts_with(column, value)
    if operator == "ends_with":
        return text_ends_with(column, value)
    if operator == "not_empty":
        return column.is_null(False) & (column != "")
    raise SegmentFilterError(_("Segments cannot evaluate the operator “%(operator)s”.", operator=operator))


def utc_today() -> dt.date:
    return utcnow().date()


def month_days(days: int) -> list[str]:
    """``MM-DD`` of today and the next ``days`` days (29 February is
    celebrated on the 28th in common years)."""
    start = utc_today()
    found = []
    for offset in range(min(days, 366) + 1):
        day = start + dt.timedelta(days=offset)
        found.append(day.strftime("%m-%d"))
        if day.month == 2 and day.day == 28 and not _is_leap(day.year):
            found.append("02-29")
    return list(dict.fromkeys(found))


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def start_of_day(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)
