"""The kinds of step a marketer can add, their settings forms, their words
on the diagram, and how delays and conditions are computed.

A step kind is chosen in the "add a step" menu; it is stored as the step's
``type`` plus a ``variant`` (delay mode, condition check) or ``action`` id.
Settings are declared with :class:`core.Setting`, so one form generator
serves our steps, the actions of every plugin and the triggers.
"""
from __future__ import annotations

import datetime as dt
import fnmatch
from dataclasses import dataclass
from typing import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core import (
    Contact, CustomField, Event, Setting, User, custom_fields, event_kinds, field_choices as core_field_choices,
    get_setting, get_values, interaction_kinds, tags_of, translation_domain, trigger_kinds, user_choices, utcnow,
)

UNITS = {"minutes": 60, "hours": 3600, "days": 86400, "weeks": 7 * 86400}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ANY_INTERACTION = "any_interaction"
NATIVE = ("email", "first_name", "last_name")
_, _l = translation_domain(__name__).pair()
pgettext = translation_domain(__name__).pgettext
OPERATORS = [("equals", _l("is")), ("not_equals", _l("is not")), ("contains", _l("contains")),
             ("gte", _l("is at least (number)")), ("lte", _l("is at most (number)")),
             ("empty", _l("is empty")), ("not_empty", _l("is not empty"))]
#: a field condition on the diagram, a whole question per operator
FIELD_QUESTIONS = {
    "equals": _l("%(field)s is “%(value)s”?"),
    "not_equals": _l("%(field)s is not “%(value)s”?"),
    "contains": _l("%(field)s contains “%(value)s”?"),
    "gte": _l("%(field)s is at least (number) “%(value)s”?"),
    "lte": _l("%(field)s is at most (number) “%(value)s”?"),
    "empty": _l("%(field)s is empty?"),
    "not_empty": _l("%(field)s is not empty?"),
}
UNIT_LABELS = {"minutes": _l("minutes"), "hours": _l("hours"), "days": _l("days"), "weeks": _l("weeks")}
WAIT_DURATIONS = {"minutes": _l("Wait %(amount)s minutes"), "hours": _l("Wait %(amount)s hours"),
                  "days": _l("Wait %(amount)s days"), "weeks": _l("Wait %(amount)s weeks")}


@dataclass
class StepKind:
    key: str
    type: str
    label: str
    settings: Callable[[], list[Setting]]
    describe: Callable[[dict], str]
    variant: str = ""
    help: str = ""


# --- choices built from the data -----------------------------------------------------


def field_choices(kinds: tuple[str, ...] | None = None) -> list[tuple[str, str]]:
    """Core's field choices, or only the custom fields of ``kinds`` (e.g. dates)."""
    if not kinds:
        return core_field_choices()
    return [(f.key, f.label) for f in custom_fields() if f.type_id in kinds]


#: the audience source of segment conditions and triggers (``core.audience_groups``)
AUDIENCE = "segment"


def segment_choices() -> list[tuple[str, str]]:
    """The segments, through the audience registry (none while the segments plugin is off)."""
    from core import audience_groups

    return [(str(group.id), group.name) for group in audience_groups(AUDIENCE)]




def _segment_name(raw) -> str:
    from core import audience_group

    segment = audience_group(AUDIENCE, raw) if str(raw or "").isdigit() else None
    return _("“%(name)s”", name=segment.name) if segment else _("(choose a segment)")


def _field_label(key) -> str:
    if not key:
        return _("(choose a field)")
    if key in NATIVE:
        return {"email": pgettext("workflow sentence", "email"),
                "first_name": pgettext("workflow sentence", "first name"),
                "last_name": pgettext("workflow sentence", "last name")}[key]
    row = CustomField.get_or_none(CustomField.key == key)
    return row.label if row else _("%(key)s (missing field)", key=key)


# --- delays --------------------------------------------------------------------------


def contact_timezone(contact: Contact, source: str = "contact") -> ZoneInfo:
    """The contact's ``timezone`` field when ``source`` is ``contact`` and it
    is set and valid, else the site's default timezone, else UTC."""
    names = []
    if source == "contact":
        names.append(get_values(contact).get("timezone"))
    names.append(get_setting("general", "timezone"))
    for name in names:
        if not name:
            continue
        try:
            return ZoneInfo(str(name))
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ZoneInfo("UTC")


def parse_weekdays(text: str) -> set[int]:
    days = set()
    for part in (text or "").replace(" ", "").lower().split(","):
        if not part:
            continue
        if "-" in part:
            start, _, end = part.partition("-")
            if start not in WEEKDAYS or end not in WEEKDAYS:
                raise ValueError(f"unknown day in {part!r}; use mon, tue, wed, thu, fri, sat, sun")
            first, last = WEEKDAYS.index(start), WEEKDAYS.index(end)
            days.update(range(first, last + 1) if first <= last else [*range(first, 7), *range(0, last + 1)])
        elif part in WEEKDAYS:
            days.add(WEEKDAYS.index(part))
        else:
            raise ValueError(f"unknown day {part!r}; use mon, tue, wed, thu, fri, sat, sun")
    return days or set(range(7))


def parse_time(text: str) -> dt.time:
    try:
        hours, _, minutes = (text or "09:00").strip().partition(":")
        return dt.time(int(hours), int(minutes or 0))
    except ValueError:
        raise ValueError(f"{text!r} is not a time like 09:30") from None


def window_start(now: dt.datetime, tz: ZoneInfo, days: set[int], start: dt.time, end: dt.time) -> dt.datetime:
    """The first moment at or after ``now`` inside the window (local time)."""
    local = now.astimezone(tz)
    for offset in range(8):
        day = (local + dt.timedelta(days=offset)).date()
        if day.weekday() not in days:
            continue
        opens = dt.datetime.combine(day, start, tzinfo=tz)
        closes = dt.datetime.combine(day, end, tzinfo=tz)
        if end <= start:
            closes += dt.timedelta(days=1)
        if local < opens:
            return opens.astimezone(dt.timezone.utc)
        if local < closes:
            return now
    return now  # unreachable with at least one day


def delay_due(step: dict, contact: Contact, started: dt.datetime) -> tuple[dt.datetime, str]:
    """When a delay step ends for this contact, and why (for the run log)."""
    settings = step.get("settings") or {}
    mode = step.get("variant") or "duration"
    if mode == "duration":
        amount = int(settings.get("amount") or 0)
        unit = settings.get("unit") or "days"
        return started + dt.timedelta(seconds=amount * UNITS[unit]), f"waits {amount} {unit}"
    tz = contact_timezone(contact, settings.get("timezone") or "contact")
    if mode == "date_field":
        key = settings.get("field")
        raw = _field_value(contact, key)
        if not raw:
            return started, f"no {_field_label(key)} on the contact: goes on at once"
        try:
            day = dt.date.fromisoformat(str(raw)[:10]) + dt.timedelta(days=int(settings.get("offset_days") or 0))
        except ValueError:
            return started, f"{_field_label(key)} is not a date ({raw}): goes on at once"
        due = dt.datetime.combine(day, parse_time(settings.get("at_time") or "09:00"), tzinfo=tz)
        return due.astimezone(dt.timezone.utc), f"waits until {due:%Y-%m-%d %H:%M} {tz.key}"
    days = parse_weekdays(settings.get("weekdays") or "mon-fri")
    due = window_start(started, tz, days, parse_time(settings.get("from_time") or "09:00"),
                       parse_time(settings.get("to_time") or "18:00"))
    return due, f"waits for the window ({settings.get('weekdays') or 'mon-fri'} " \
                f"{settings.get('from_time') or '09:00'}–{settings.get('to_time') or '18:00'} {tz.key})"


# --- conditions -----------------------------------------------------------------------


def _field_value(contact: Contact, key: str | None):
    if not key:
        return None
    if key in NATIVE:
        return getattr(contact, key)
    return get_values(contact).get(key)


def _number(value):
    try:
        return float(str(value).replace(",", ".").replace(" ", ""))
    except (TypeError, ValueError):
        return None


def compare(value, operator: str, expected) -> bool:
    values = value if isinstance(value, list) else ([] if value in (None, "") else [value])
    texts = [str(v).strip().lower() for v in values]
    wanted = str(expected or "").strip().lower()
    if operator == "empty":
        return not texts
    if operator == "not_empty":
        return bool(texts)
    if operator == "equals":
        return wanted in texts
    if operator == "not_equals":
        return wanted not in texts
    if operator == "contains":
        return any(wanted in text for text in texts)
    if operator in ("gte", "lte"):
        limit = _number(expected)
        numbers = [n for n in (_number(v) for v in values) if n is not None]
        if limit is None or not numbers:
            return False
        return any(n >= limit if operator == "gte" else n <= limit for n in numbers)
    raise ValueError(f"unknown operator {operator!r}")


def check_condition(step: dict, contact: Contact) -> tuple[bool, str]:
    """Evaluate a condition step: ``(yes?, the reason in words)``."""
    settings = step.get("settings") or {}
    check = step.get("variant") or "field"
    if check == "field":
        key = settings.get("field")
        value = _field_value(contact, key)
        result = compare(value, settings.get("operator") or "equals", settings.get("value"))
        shown = ", ".join(map(str, value)) if isinstance(value, list) else ("empty" if value in (None, "") else value)
        return result, f"{_field_label(key)} is {shown}"
    if check == "tag":
        has = (settings.get("tag") or "").strip().lower() in {t.lower() for t in tags_of(contact)}
        return has, f"{'has' if has else 'does not have'} the tag “{settings.get('tag')}”"
    if check == "segment":
        from core import Contact, audience_contact_ids

        inside = Contact.select(Contact.id).where((Contact.id == contact.id) & Contact.id.in_(
            audience_contact_ids(AUDIENCE, [int(settings.get("segment_id") or 0)]))).exists()
        return inside, f"{'is' if inside else 'is not'} in {_segment_name(settings.get('segment_id'))}"
    if check == "points":
        points = contact.points or 0
        return points >= int(settings.get("min_points") or 0), f"has {points} points"
    if check == "owner":
        wanted = settings.get("owner") or "any"
        if wanted == "any":
            return contact.owner_id is not None, "has an owner" if contact.owner_id else "has no owner"
        if wanted == "none":
            return contact.owner_id is None, "has no owner" if contact.owner_id is None else "has an owner"
        same = str(contact.owner_id) == str(wanted)
        return same, f"owner is {contact.owner.display_name if contact.owner else 'nobody'}"
    if check == "event":
        kind = settings.get("event") or ""
        days = int(settings.get("days") or 30)
        since = utcnow() - dt.timedelta(days=days)
        query = Event.select(Event.data).where((Event.contact == contact.id) & (Event.created_at >= since))
        if kind == ANY_INTERACTION:
            query = query.where(Event.kind.in_(interaction_kinds()))
        else:
            query = query.where(Event.kind == kind)
        pattern = settings.get("match") or ""
        found = any(event_matches_pattern(row.data, pattern) for row in query.limit(500))
        return found, f"{'did' if found else 'did not'} {event_words(kind)} in the last {days} days"
    raise ValueError(f"unknown condition {check!r}")


def event_matches_pattern(data: dict, pattern: str) -> bool:
    """``pattern`` (glob) against the event's name, URL or form id; empty matches all."""
    if not pattern:
        return True
    for key in ("name", "url", "form_id", "email_id", "purpose"):
        value = (data or {}).get(key)
        if value is not None and fnmatch.fnmatch(str(value).lower(), pattern.lower()):
            return True
    return False


def event_words(kind: str) -> str:
    """``submit a form``: the registered kind's verb phrase."""
    if kind == ANY_INTERACTION:
        return _("interact with you")
    registered = event_kinds().get(kind)
    return str(registered.verb) if registered else _("get “%(kind)s” (unavailable: is its plugin active?)", kind=kind)


# --- the menu of step kinds -------------------------------------------------------------


def _event_choices() -> list[tuple[str, str]]:
    """What a wait step or an "event" condition can look for: any interaction,
    or one of the kinds registered with ``can_trigger`` by the active plugins."""
    return [(ANY_INTERACTION, _("Any interaction (visit, open, click, form…)")),
            *sorted(((kind.id, str(kind.label)) for kind in trigger_kinds()), key=lambda choice: choice[1])]


def _delay_duration():
    return [Setting("amount", _("Wait"), kind="int", default=1, required=True),
            Setting("unit", _("Unit"), kind="choice", default="days", choices=[(u, UNIT_LABELS[u]) for u in UNITS])]


def _delay_date():
    return [Setting("field", _("Date field"), kind="choice", required=True, choices=field_choices(("date",))),
            Setting("offset_days", _("Days after (negative: before)"), kind="int", default=0),
            Setting("at_time", _("At (local time)"), default="09:00"), _timezone_setting()]


def _timezone_setting() -> Setting:
    return Setting("timezone", _("Timezone"), kind="choice", default="contact",
                   choices=[("contact", _("The contact's (field “timezone”)")), ("site", _("The site's"))])


def _delay_window():
    return [Setting("weekdays", _("Days"), default="mon-fri", help=_("e.g. mon-fri or tue,thu")),
            Setting("from_time", _("From"), default="09:00"), Setting("to_time", _("To"), default="18:00"),
            _timezone_setting()]


def _cond_field():
    return [Setting("field", _("Field"), kind="choice", required=True, choices=field_choices()),
            Setting("operator", _("Test"), kind="choice", default="equals", choices=OPERATORS),
            Setting("value", _("Value"))]


def _cond_tag():
    return [Setting("tag", _("Tag"), required=True)]


def _cond_segment():
    return [Setting("segment_id", _("Segment"), kind="choice", required=True, choices=segment_choices())]


def _cond_points():
    return [Setting("min_points", _("At least (points)"), kind="int", required=True, default=50)]


def _cond_owner():
    return [Setting("owner", _("Owner"), kind="choice", default="any",
                    choices=[("any", _("Has an owner")), ("none", _("Has no owner"))] + user_choices())]


def _cond_event():
    return [Setting("event", _("Did"), kind="choice", required=True, choices=_event_choices()),
            Setting("match", _("Matching (optional)"), help=_("e.g. */pricing* for a URL, or an event name")),
            Setting("days", _("In the last (days)"), kind="int", default=30, required=True)]


def _wait_event():
    return [Setting("event", _("Wait for"), kind="choice", required=True, choices=_event_choices()),
            Setting("match", _("Matching (optional)"), help=_("e.g. */confirm* for a click, or an event name")),
            Setting("days", _("At most (days)"), kind="int", default=30, required=True)]


def _describe_condition(step: dict) -> str:
    s = step.get("settings") or {}
    check = step.get("variant")
    if check == "field":
        question = FIELD_QUESTIONS.get(s.get("operator") or "equals", FIELD_QUESTIONS["equals"])
        return str(question) % {"field": _field_label(s.get("field")), "value": s.get("value") or ""}
    if check == "tag":
        return _("Has the tag “%(tag)s”?", tag=s.get("tag") or "?")
    if check == "segment":
        return _("In %(segment)s?", segment=_segment_name(s.get("segment_id")))
    if check == "points":
        return _("At least %(points)s points?", points=s.get("min_points"))
    if check == "owner":
        owner = s.get("owner") or "any"
        if owner in ("any", "none"):
            return _("Has an owner?") if owner == "any" else _("Has no owner?")
        user = User.get_or_none(User.id == int(owner)) if str(owner).isdigit() else None
        return _("Owner is %(user)s?", user=user.display_name if user else "?")
    action, days = event_words(s.get("event") or ""), s.get("days") or 30
    if s.get("match"):
        return _("Did %(action)s matching “%(match)s” in the last %(days)s days?", action=action, match=s["match"],
                 days=days)
    return _("Did %(action)s in the last %(days)s days?", action=action, days=days)


def _describe_delay(step: dict) -> str:
    s = step.get("settings") or {}
    mode = step.get("variant")
    if mode == "duration":
        sentence = WAIT_DURATIONS.get(s.get("unit") or "days")
        if sentence is None:
            return f"{_('Wait')} {s.get('amount')} {s.get('unit')}"
        return str(sentence) % {"amount": s.get("amount")}
    if mode == "date_field":
        offset = int(s.get("offset_days") or 0)
        field, time = _field_label(s.get("field")), s.get("at_time") or "09:00"
        if offset > 0:
            return _("Wait until %(days)s days after %(field)s at %(time)s", days=offset, field=field, time=time)
        if offset < 0:
            return _("Wait until %(days)s days before %(field)s at %(time)s", days=-offset, field=field, time=time)
        return _("Wait until %(field)s at %(time)s", field=field, time=time)
    window = {"days": s.get("weekdays") or "mon-fri", "start": s.get("from_time") or "09:00",
              "end": s.get("to_time") or "18:00"}
    if (s.get("timezone") or "contact") == "contact":
        return _("Wait for %(days)s %(start)s–%(end)s (contact time)", **window)
    return _("Wait for %(days)s %(start)s–%(end)s (site time)", **window)


def _describe_wait(step: dict) -> str:
    s = step.get("settings") or {}
    action, days = event_words(s.get("event") or ""), s.get("days") or 30
    if s.get("match"):
        return _("Wait up to %(days)s days: did they %(action)s matching “%(match)s”?", days=days, action=action,
                 match=s["match"])
    return _("Wait up to %(days)s days: did they %(action)s?", days=days, action=action)


STEP_KINDS = [
    StepKind("delay:duration", "delay", _l("Wait a duration"), _delay_duration, _describe_delay, "duration"),
    StepKind("delay:date_field", "delay", _l("Wait until a date field"), _delay_date, _describe_delay, "date_field",
             _l("e.g. the day before a renewal date, at 9:00 in the contact's timezone")),
    StepKind("delay:window", "delay", _l("Wait for a day/time window"), _delay_window, _describe_delay, "window",
             _l("e.g. send only Monday to Friday between 9:00 and 18:00 in the contact's timezone")),
    StepKind("condition:field", "condition", _l("If a field has a value"), _cond_field, _describe_condition, "field"),
    StepKind("condition:tag", "condition", _l("If the contact has a tag"), _cond_tag, _describe_condition, "tag"),
    StepKind("condition:segment", "condition", _l("If the contact is in a segment"), _cond_segment,
             _describe_condition, "segment"),
    StepKind("condition:points", "condition", _l("If the contact has enough points"), _cond_points,
             _describe_condition, "points"),
    StepKind("condition:owner", "condition", _l("If the contact's owner is…"), _cond_owner, _describe_condition, "owner"),
    StepKind("condition:event", "condition", _l("If the contact did something recently"), _cond_event,
             _describe_condition, "event"),
    StepKind("wait:event", "wait", _l("Wait for something, with a time limit"), _wait_event, _describe_wait, "event",
             _l("e.g. did they click the confirmation link within 30 days? Two branches: yes, and time ran out")),
]


def step_kinds() -> dict[str, StepKind]:
    return {kind.key: kind for kind in STEP_KINDS}


def kind_of(step: dict) -> str:
    if step.get("type") == "action":
        return f"action:{step.get('action')}"
    return f"{step.get('type')}:{step.get('variant')}"
