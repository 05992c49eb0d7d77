"""Time-based triggers and recovery, run by periodic jobs.

:func:`run_time_triggers` (daily) asks the database only for the contacts
due today, through indexes: a date field's anniversary is ``field = ? AND
value IN ('1940-03-14', ..., '2025-03-14')`` on the ``(field, value)`` index;
"N days after" is one equality; "no interaction for N days" is a range on
``contact.last_interaction_at``; "not opened for N days" a range on
``event(kind, created_at)`` with a NOT EXISTS on ``event(contact, created_at)``.
Entry keys include the day, so running the job twice the same day enters
nobody twice.

:func:`recover_runs` (every few minutes) re-queues runs whose job was lost
(Redis restarted, a worker killed mid-step): running runs untouched for
longer than a claim's lease, and waiting runs whose wake-up time passed.
"""
from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

from flask import current_app

from core import Contact, ContactValue, CustomField, Event, instance_timezone, utcnow
from . import engine
from .entry import live_definitions, try_start
from .models import WorkflowRun
from .steps import WEEKDAYS
from .triggers import TIME_TRIGGERS

log = logging.getLogger("couvee.automation")
FIRST_YEAR = 1900
LATE = dt.timedelta(minutes=5)


def _zone() -> ZoneInfo:
    return ZoneInfo(instance_timezone())


def local_today() -> dt.date:
    """Today in the instance time zone (Settings → General): a birthday in
    Paris starts at midnight in Paris, not in UTC."""
    return utcnow().astimezone(_zone()).date()


def _day_start(day: dt.date) -> dt.datetime:
    """Midnight of ``day`` in the instance time zone, as UTC."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=_zone()).astimezone(dt.timezone.utc)


def _field_id(key) -> int | None:
    row = CustomField.get_or_none(CustomField.key == (key or ""))
    return row.id if row else None


def anniversary_ids(field_key: str, today: dt.date):
    field_id = _field_id(field_key)
    if field_id is None:
        return []
    days = [(today.month, today.day)]
    if (today.month, today.day) == (2, 28) and not _leap(today.year):
        days.append((2, 29))
    values = [f"{year:04d}-{month:02d}-{day:02d}" for year in range(FIRST_YEAR, today.year)
              for month, day in days]
    return ContactValue.select(ContactValue.contact).where(
        (ContactValue.field == field_id) & ContactValue.value.in_(values))


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def days_after_ids(field_key: str, days: int, today: dt.date):
    field_id = _field_id(field_key)
    if field_id is None:
        return []
    return ContactValue.select(ContactValue.contact).where(
        (ContactValue.field == field_id) & (ContactValue.value == (today - dt.timedelta(days=days)).isoformat()))


def no_interaction_ids(days: int, today: dt.date):
    start = _day_start(today - dt.timedelta(days=days))
    end = start + dt.timedelta(days=1)
    return Contact.select(Contact.id).where(
        ((Contact.last_interaction_at >= start) & (Contact.last_interaction_at < end))
        | (Contact.last_interaction_at.is_null() & (Contact.created_at >= start) & (Contact.created_at < end)))


def no_event_ids(kind: str, days: int, today: dt.date):
    start = _day_start(today - dt.timedelta(days=days))
    end = start + dt.timedelta(days=1)
    later = Event.alias()
    newer = later.select(later.id).where((later.contact == Event.contact) & (later.kind == kind)
                                         & (later.created_at >= end))
    return Event.select(Event.contact).distinct().where(
        (Event.kind == kind) & (Event.created_at >= start) & (Event.created_at < end) & ~peewee_exists(newer))


def peewee_exists(query):
    import peewee

    return peewee.fn.EXISTS(query)


def recurring_ids(settings: dict, today: dt.date):
    from core import audience_contact_ids

    every = settings.get("every") or "week"
    if every == "week" and WEEKDAYS[today.weekday()] != (settings.get("weekday") or "mon"):
        return []
    if every == "month" and today.day != int(settings.get("day") or 1):
        return []
    return audience_contact_ids("segment", [int(settings.get("segment_id") or 0)])


def due_contacts(trigger: dict, today: dt.date):
    """A query of the contact ids the time trigger selects today (or [])."""
    settings = trigger.get("settings") or {}
    kind = trigger.get("type")
    if kind == "date_anniversary":
        return anniversary_ids(settings.get("field"), today)
    if kind == "days_after_date":
        return days_after_ids(settings.get("field"), int(settings.get("days") or 0), today)
    if kind == "no_interaction":
        return no_interaction_ids(int(settings.get("days") or 30), today)
    if kind == "no_event":
        if not settings.get("event"):  # required: the activation check refuses an empty one
            return []
        return no_event_ids(settings["event"], int(settings.get("days") or 180), today)
    if kind == "recurring_segment":
        return recurring_ids(settings, today)
    return []


def _ids(query) -> list[int]:
    if isinstance(query, list):
        return query
    return sorted({row[0] for row in query.tuples()})


def run_time_triggers(today: dt.date | None = None) -> int:
    """Daily job: enter the contacts due today in every active workflow."""
    today = today or local_today()
    registry = current_app.extensions["couvee"].registries.trigger_types
    entered = 0
    for workflow, definition in live_definitions():
        for trigger in definition.get("triggers") or []:
            if trigger.get("type") not in TIME_TRIGGERS or trigger.get("type") not in registry:
                continue
            label = registry[trigger["type"]].label
            for contact_id in _ids(due_contacts(trigger, today)):
                contact = Contact.get_or_none(Contact.id == contact_id)
                if contact is not None and try_start(contact, workflow, f"{label} ({today.isoformat()})",
                                                     key=f"time:{trigger['type']}:{today.isoformat()}"):
                    entered += 1
    log.info("time triggers: %d contact(s) entered", entered)
    return entered


def recover_runs() -> int:
    """Periodic job: re-queue runs whose job was lost."""
    now = utcnow()
    stalled = WorkflowRun.select().where(
        ((WorkflowRun.status == "running") & (WorkflowRun.updated_at < now - engine.LEASE))
        | (WorkflowRun.status.in_(("waiting", "retrying")) & (WorkflowRun.wake_at < now - LATE)))
    count = 0
    for run in stalled:
        engine.schedule(run)
        count += 1
    return count
