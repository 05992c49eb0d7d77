"""Core trigger types (``register_trigger_types``) and how an event is
matched against a workflow's triggers.

Event triggers list the ``event_kinds`` they listen to and an optional
``matches(event, settings) -> bool``. Time triggers (``kind="time"``) have no
event: the daily job in :mod:`core.automation.timebased` finds the contacts
that are due with indexed queries.
"""
from __future__ import annotations

import fnmatch

from ..extension import Setting, TriggerType
from .forms import DATE_FIELDS, FIELDS, SEGMENTS


def _text(value) -> str:
    return str(value if value is not None else "").strip().lower()


def _glob(pattern: str, value) -> bool:
    pattern = _text(pattern)
    return not pattern or fnmatch.fnmatch(_text(value), pattern)


def _same(expected, actual) -> bool:
    """An empty expectation matches anything."""
    return _text(expected) == "" or _text(expected) == _text(actual)


def _data(event) -> dict:
    return event.data or {}


def match_form(event, settings):
    return _same(settings.get("form_id"), _data(event).get("form_id"))


def match_page(event, settings):
    data = _data(event)
    return _glob(settings.get("url"), data.get("url") or data.get("path"))


def match_email_opened(event, settings):
    data = _data(event)
    return not data.get("machine") and _same(settings.get("email_id"), data.get("email_id"))


def match_email_clicked(event, settings):
    data = _data(event)
    return _same(settings.get("email_id"), data.get("email_id")) and _glob(settings.get("url"), data.get("url"))


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
    if event.kind == "crm_status_changed":
        return not settings.get("field") and _same(settings.get("to_value"), _data(event).get("to"))
    return bool(settings.get("field")) and match_field_changed(event, settings)


def match_tag(event, settings):
    return _same(settings.get("tag"), _data(event).get("tag"))


def match_threshold(event, settings):
    return _same(settings.get("threshold"), _data(event).get("threshold"))


def match_segment(event, settings):
    return _same(settings.get("segment_id"), _data(event).get("segment_id"))


def match_consent(event, settings):
    return _same(settings.get("purpose"), _data(event).get("purpose"))


def core_trigger_types() -> list[TriggerType]:
    """The triggers core provides (plugins add theirs with the same hook)."""
    field = lambda required=True: Setting("field", "Field", kind="choice", required=required,  # noqa: E731
                                           choices=FIELDS)
    return [
        TriggerType("contact_created", "A contact is created", "action", event_kinds=("contact_created",),
                    description="Every new contact: form, import, API or by hand."),
        TriggerType("form_submitted", "A form is submitted", "action", event_kinds=("form_submitted",),
                    settings=[Setting("form_id", "Form id (empty: any form)")], matches=match_form),
        TriggerType("page_visited", "A page is visited", "action", event_kinds=("page_visited",),
                    settings=[Setting("url", "URL pattern", required=True, help="e.g. */pricing*")],
                    matches=match_page),
        TriggerType("email_opened", "An email is opened", "action", event_kinds=("email_opened",),
                    settings=[Setting("email_id", "Email id (empty: any email)")], matches=match_email_opened,
                    description="Opens by mail-scanning machines are ignored."),
        TriggerType("email_clicked", "A link in an email is clicked", "action", event_kinds=("email_clicked",),
                    settings=[Setting("email_id", "Email id (empty: any email)"),
                              Setting("url", "Link pattern (empty: any link)")], matches=match_email_clicked),
        TriggerType("custom_event", "A tracked event happens", "action", event_kinds=("custom_event",),
                    settings=[Setting("name", "Event name", required=True, help="e.g. cart_abandoned")],
                    matches=match_custom, description="Sent by the tracking script: couvee('track', name)."),
        TriggerType("inbound_event", "An event arrives from another tool", "behaviour",
                    event_kinds=("custom_event",),
                    settings=[Setting("name", "Event name", required=True, help="e.g. project_finished")],
                    matches=match_inbound,
                    description="POST /api/v1/automation/events with an API key (webhook of another tool)."),
        TriggerType("field_changed", "A field value changes", "behaviour", event_kinds=("contact_updated",),
                    settings=[field(), Setting("from_value", "From (empty: any value)"),
                              Setting("to_value", "To (empty: any value)")], matches=match_field_changed),
        TriggerType("status_changed", "A status or stage is changed", "action",
                    event_kinds=("contact_updated", "crm_status_changed"),
                    settings=[Setting("field", "Status field (empty: the CRM status)", kind="choice",
                                      choices=[("", "CRM status"), *FIELDS]),
                              Setting("to_value", "New status", required=True, help="e.g. customer")],
                    matches=match_status),
        TriggerType("tag_added", "A tag is added", "behaviour", event_kinds=("tag_added",),
                    settings=[Setting("tag", "Tag (empty: any tag)")], matches=match_tag),
        TriggerType("tag_removed", "A tag is removed", "behaviour", event_kinds=("tag_removed",),
                    settings=[Setting("tag", "Tag (empty: any tag)")], matches=match_tag),
        TriggerType("points_threshold_crossed", "Points cross a threshold", "behaviour",
                    event_kinds=("points_threshold_crossed",),
                    settings=[Setting("threshold", "Threshold (empty: any)", kind="int")], matches=match_threshold,
                    description="Thresholds are defined by the scoring plugin's point triggers."),
        TriggerType("segment_joined", "The contact joins a segment", "action", event_kinds=("segment_joined",),
                    settings=[Setting("segment_id", "Segment", kind="choice", required=True,
                                      choices=SEGMENTS)], matches=match_segment),
        TriggerType("consent_given", "Consent is given", "action", event_kinds=("consent_given",),
                    settings=[Setting("purpose", "Purpose (empty: any)", kind="choice", choices=[
                        ("", "Any"), ("email_marketing", "Email marketing"), ("sms_marketing", "SMS marketing"),
                        ("profiling", "Profiling"), ("partners", "Partners")])], matches=match_consent,
                    description="e.g. a newsletter sign-up."),
        TriggerType("crm_opportunity_lost", "An opportunity is lost in the CRM", "action",
                    event_kinds=("crm_opportunity_lost",)),
        TriggerType("date_anniversary", "Anniversary of a date field", "time",
                    settings=[Setting("field", "Date field", kind="choice", required=True,
                                      choices=DATE_FIELDS)],
                    description="Every year on the day (birthday, first purchase). 29 February: 28 February "
                                "in other years."),
        TriggerType("days_after_date", "N days after a date field", "time",
                    settings=[Setting("field", "Date field", kind="choice", required=True,
                                      choices=DATE_FIELDS),
                              Setting("days", "Days after", kind="int", required=True, default=365)],
                    description="e.g. one year after the first purchase."),
        TriggerType("recurring_segment", "On a schedule, everyone in a segment", "time",
                    settings=[Setting("segment_id", "Segment", kind="choice", required=True,
                                      choices=SEGMENTS),
                              Setting("every", "Every", kind="choice", default="week",
                                      choices=[("day", "day"), ("week", "week"), ("month", "month")]),
                              Setting("weekday", "On (weekly)", kind="choice", default="mon",
                                      choices=[(d, d) for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")]),
                              Setting("day", "Day of the month (monthly)", kind="int", default=1)]),
        TriggerType("no_interaction", "No interaction for N days", "time",
                    settings=[Setting("days", "Days without interaction", kind="int", required=True, default=30)],
                    description="No visit, open, click, form or tracked event for that many days."),
        TriggerType("no_event", "Something has not happened for N days", "time",
                    settings=[Setting("event", "Event", kind="choice", required=True, default="email_opened",
                                      choices=[("email_opened", "Email opened"), ("email_clicked", "Email clicked"),
                                               ("page_visited", "Page visited"),
                                               ("form_submitted", "Form submitted")]),
                              Setting("days", "Days", kind="int", required=True, default=180)],
                    description="e.g. no email opened for 6 months (contacts who did it at least once)."),
    ]


TIME_TRIGGERS = ("date_anniversary", "days_after_date", "recurring_segment", "no_interaction", "no_event")
