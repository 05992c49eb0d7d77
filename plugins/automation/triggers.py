"""The automation plugin's trigger types (``register_trigger_types``) and how an event is
matched against a workflow's triggers.

Event triggers list the ``event_kinds`` they listen to and an optional
``matches(event, settings) -> bool``. Time triggers (``kind="time"``) have no
event: the daily job in :mod:`.timebased` finds the contacts
that are due with indexed queries.
"""
from __future__ import annotations

import fnmatch

from core import EventKind, Setting, TriggerType, audience_contact_ids, translation_domain
from .forms import DATE_FIELDS, FIELDS, SEGMENTS

_l = translation_domain(__name__).lazy_gettext


def _text(value) -> str:
    return str(value if value is not None else "").strip().lower()


def _glob(pattern: str, value) -> bool:
    pattern = _text(pattern)
    return not pattern or fnmatch.fnmatch(_text(value), pattern)


def _data(event) -> dict:
    return event.data or {}


def segment_population(settings: dict):
    """The chosen segment's members (through the audience registry), or None when none is chosen."""
    segment_id = str(settings.get("segment_id") or "")
    return audience_contact_ids("segment", [int(segment_id)]) if segment_id.isdigit() else None


def match_custom(event, settings):
    return _glob(settings.get("name"), _data(event).get("name"))


def match_inbound(event, settings):
    return event.source in ("api", "webhook") and match_custom(event, settings)


def match_field_changed(event, settings):
    changes = _data(event).get("changes") or {}
    key = settings.get("field")
    if key not in changes:
        return False
    old, new = changes[key]
    for expected, actual in ((settings.get("from_value"), old), (settings.get("to_value"), new)):
        if _text(expected) and _text(expected) not in _values(actual):
            return False
    return True


def _values(value) -> set[str]:
    return {_text(v) for v in value} if isinstance(value, list) else {_text(value)}


def match_status(event, settings):
    return bool(settings.get("field")) and match_field_changed(event, settings)


def event_trigger(kind: EventKind) -> TriggerType:
    """The trigger of an event kind registered with ``can_trigger``: same id,
    its label, its filters and its matching."""
    return TriggerType(kind.id, kind.label, "action" if kind.interaction else "behaviour",
                       description=kind.description, event_kinds=(kind.id,),
                       settings=list(kind.trigger_settings), matches=kind.event_matches,
                       population=kind.trigger_population)


def automation_trigger_types(event_kinds) -> list[TriggerType]:
    """The triggers core provides: one per event kind registered with
    ``can_trigger`` (by any active plugin), then those that are not one kind
    (inbound events, field changes, schedules). Plugins add theirs with the same hook."""
    field = lambda required=True: Setting("field", _l("Field"), kind="choice", required=required,  # noqa: E731
                                           choices=FIELDS)
    return [event_trigger(kind) for kind in event_kinds if kind.can_trigger] + [
        TriggerType("inbound_event", _l("An event arrives from another tool"), "behaviour",
                    event_kinds=("custom_event",),
                    settings=[Setting("name", _l("Event name"), required=True, help=_l("e.g. project_finished"))],
                    matches=match_inbound,
                    description=_l("POST /api/v1/automation/events with an API key (webhook of another tool).")),
        TriggerType("field_changed", _l("A field value changes"), "behaviour", event_kinds=("contact_updated",),
                    settings=[field(), Setting("from_value", _l("From (empty: any value)")),
                              Setting("to_value", _l("To (empty: any value)"))], matches=match_field_changed),
        TriggerType("status_changed", _l("A status or stage is changed"), "action",
                    event_kinds=("contact_updated",),
                    settings=[Setting("field", _l("Status field"), kind="choice", required=True, choices=FIELDS),
                              Setting("to_value", _l("New status"), required=True, help=_l("e.g. customer"))],
                    matches=match_status),
        TriggerType("date_anniversary", _l("Anniversary of a date field"), "time",
                    settings=[Setting("field", _l("Date field"), kind="choice", required=True,
                                      choices=DATE_FIELDS)],
                    description=_l("Every year on the day (birthday, first purchase). 29 February: 28 February "
                                   "in other years.")),
        TriggerType("days_after_date", _l("N days after a date field"), "time",
                    settings=[Setting("field", _l("Date field"), kind="choice", required=True,
                                      choices=DATE_FIELDS),
                              Setting("days", _l("Days after"), kind="int", required=True, default=365)],
                    description=_l("e.g. one year after the first purchase.")),
        TriggerType("recurring_segment", _l("On a schedule, everyone in a segment"), "time",
                    settings=[Setting("segment_id", _l("Segment"), kind="choice", required=True,
                                      choices=SEGMENTS),
                              Setting("every", _l("Every"), kind="choice", default="week",
                                      choices=[("day", _l("day")), ("week", _l("week")), ("month", _l("month"))]),
                              Setting("weekday", _l("On (weekly)"), kind="choice", default="mon",
                                      choices=[(d, d) for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")]),
                              Setting("day", _l("Day of the month (monthly)"), kind="int", default=1)],
                    population=segment_population),
        TriggerType("no_interaction", _l("No interaction for N days"), "time",
                    settings=[Setting("days", _l("Days without interaction"), kind="int", required=True, default=30)],
                    description=_l("No visit, open, click, form or tracked event for that many days.")),
        TriggerType("no_event", _l("Something has not happened for N days"), "time",
                    settings=[Setting("event", _l("Event"), kind="choice", required=True,
                                      choices=sorted(((kind.id, kind.label) for kind in event_kinds
                                                      if kind.segment_condition), key=lambda c: c[1])),
                              Setting("days", _l("Days"), kind="int", required=True, default=180)],
                    description=_l("e.g. no email opened for 6 months (contacts who did it at least once).")),
    ]


TIME_TRIGGERS = ("date_anniversary", "days_after_date", "recurring_segment", "no_interaction", "no_event")
