"""Events survive lost jobs: the periodic sweep re-queues what was never dispatched."""
from __future__ import annotations

import datetime as dt

import time_machine

from core import contacts
from core.events import sweep_undispatched
from core.models import Event
from core.queue import get_queue


def test_an_event_whose_job_was_lost_is_dispatched_by_the_sweep(ctx, run_jobs):
    contact = contacts.create_contact({"email": "lost@example.com"})
    get_queue("events").empty()  # the job is lost (Redis restarted, worker killed...)
    assert sweep_undispatched() == 0  # too recent: its job may still be on its way
    with time_machine.travel(dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=2)):
        assert sweep_undispatched() == 1
    run_jobs()
    event = Event.get(Event.contact == contact.id)
    assert event.dispatched_at is not None
    assert sweep_undispatched() == 0


def test_a_duplicate_dispatch_runs_the_hooks_once(ctx, run_jobs):
    from core.events import dispatch_event, queue_dispatch

    contacts.create_contact({"email": "twice@example.com"})
    event = Event.get()
    queue_dispatch(event.id)  # a second job for the same event
    run_jobs()
    assert dispatch_event(event.id) == "already dispatched"
