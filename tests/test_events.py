"""Events survive lost jobs: the periodic sweep signals a drain for what was never dispatched."""
from __future__ import annotations

from core import contacts
from core.events import sweep_undispatched
from core.models import Event
from core.queue import get_queue


def test_an_event_whose_job_was_lost_is_dispatched_by_the_sweep(ctx, run_jobs):
    contact = contacts.create_contact({"email": "lost@example.com"})
    assert sweep_undispatched() == 0  # its drain is queued: nothing to add
    assert get_queue("events").count == 1
    get_queue("events").empty()  # the job is lost (Redis restarted, worker killed...)
    assert sweep_undispatched() == 1
    assert sweep_undispatched() == 0  # idempotent: the new drain is queued
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


def test_emit_many_records_in_one_go_and_dispatches_once(ctx, run_jobs):
    from core import dispatch_many, emit_many
    from core.models import Contact

    first = contacts.create_contact({"email": "many1@example.com"})
    second = contacts.create_contact({"email": "many2@example.com"})
    run_jobs()
    queue = get_queue("events")
    ids = emit_many([{"contact": first, "kind": "custom_event", "data": {"name": "a"}, "source": "test"},
                     {"contact": second.id, "kind": "email_sent", "data": {"email_id": 7}}])
    assert len(ids) == 2 and queue.count == 1  # one job for the whole set
    events = {event.contact_id: event for event in Event.select().where(Event.id.in_(ids))}
    assert events[first.id].kind == "custom_event" and events[first.id].data == {"name": "a"}
    assert events[first.id].source == "test" and events[second.id].data == {"email_id": 7}
    assert Contact.get_by_id(first.id).last_interaction_at is not None  # an active kind
    assert Contact.get_by_id(second.id).last_interaction_at is None  # email_sent is passive
    later = emit_many([{"contact": first, "kind": "custom_event"}], dispatch=False)
    assert queue.count == 1  # recorded, not signalled
    assert dispatch_many(later)
    assert queue.count == 1  # the drain already waiting takes them too
    run_jobs()
    assert Event.select().where(Event.id.in_(ids + later) & Event.dispatched_at.is_null()).count() == 0
    assert emit_many([]) == [] and dispatch_many([]) is None


def emit_three(contact_id):
    """A job emitting several events (like a workflow step or a send batch)."""
    from core import emit
    from core.models import Contact

    contact = Contact.get_by_id(contact_id)
    for name in ("first", "second", "third"):
        emit(contact, "custom_event", {"name": name})


def test_events_emitted_by_a_job_are_dispatched_together_after_it(ctx, run_jobs):
    from core import enqueue

    contact = contacts.create_contact({"email": "batch@example.com"})
    run_jobs()
    enqueue(emit_three, contact.id)
    events_queue = get_queue("events")
    worker = run_jobs(queues=["default"])  # only the job itself
    assert worker is not None
    assert events_queue.count == 1  # one drain job for the three events
    [job] = events_queue.jobs
    assert job.args[0] == "core.dispatch.drain:drain_events"
    assert Event.select().where((Event.kind == "custom_event") & Event.dispatched_at.is_null()).count() == 3
    run_jobs()
    assert Event.select().where(Event.dispatched_at.is_null()).count() == 0
