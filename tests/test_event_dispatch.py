"""Event dispatch: one coalesced drain instead of a job per event, claims so
two workers never dispatch the same event at once, delivery per plugin with
retries of the failed plugin alone, and failures shown on the dashboard."""
from __future__ import annotations

import datetime as dt
import threading

import time_machine

from core import auth, contacts, emit, emit_many, hookimpl
from core.dispatch import deliveries, drain, outbox, signal
from core.events import dispatch_event, sweep_undispatched
from core.models import Contact, Event, EventDelivery, utcnow
from core.queue import get_queue

from .conftest import csrf_of


class Probe:
    """A plugin whose ``contact_event`` records each call in Redis and fails
    while ``probe:<name>:down`` is set."""

    def __init__(self, redis, name: str):
        self.redis, self.name = redis, name

    @hookimpl
    def contact_event(self, event):
        self.redis.rpush(f"probe:{self.name}:calls", event.id)
        if self.redis.get(f"probe:{self.name}:down"):
            raise RuntimeError(f"{self.name} <is> down")

    def calls(self) -> list[int]:
        return [int(value) for value in self.redis.lrange(f"probe:{self.name}:calls", 0, -1)]

    def down(self, down: bool = True):
        if down:
            self.redis.set(f"probe:{self.name}:down", 1)
        else:
            self.redis.delete(f"probe:{self.name}:down")


def add_probe(app, name: str) -> Probe:
    state = app.extensions["couvee"]
    probe = Probe(state.redis, name)
    state.hooks.pm.register(probe, name=name)
    return probe


def its_time_has_come() -> None:
    """Make the waiting retries due. (Rather than running a worker under
    time_machine: RQ's pubsub thread then takes a minute to stop.)"""
    EventDelivery.update(next_attempt_at=utcnow() - dt.timedelta(seconds=1)).where(
        EventDelivery.status == "retrying").execute()


def events_jobs() -> int:
    queue = get_queue("events")
    return queue.count + queue.started_job_registry.count


def test_a_burst_of_api_calls_queues_one_drain_and_every_event_is_dispatched(web, ctx, run_jobs):
    user = auth.create_user("api@example.com", "x" * 12, role="marketer")
    _, key = auth.create_api_key(user, "tests")
    web.extra_environ = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    contact = contacts.create_contact({"email": "burst@example.com"})
    run_jobs()
    for number in range(120):
        web.patch_json(f"/api/v1/contacts/{contact.id}", {"add_tags": [f"t{number}"]})
    assert get_queue("events").count == 1  # 120 requests, 120 events, one drain job
    run_jobs()
    assert Event.select().where(Event.kind == "tag_added").count() == 120
    assert Event.select().where(Event.dispatched_at.is_null()).count() == 0
    assert signal.holder() is None  # the drain released its flag


def test_two_drains_claim_disjoint_batches_and_a_dead_drains_claim_expires(ctx):
    contact = contacts.create_contact({"email": "claims@example.com"})
    emit_many([{"contact": contact, "kind": "tag_added", "data": {"tag": str(n)}} for n in range(30)])
    first = outbox.claim("first", limit=20)
    second = outbox.claim("second", limit=20)
    assert len(first) == 20 and len(second) == 11  # 30 tags + contact_created
    assert not {e.id for e in first} & {e.id for e in second}
    assert outbox.claim("third", limit=50) == []  # everything is held
    assert outbox.mark_dispatched("first", [e.id for e in first]) == 20
    with time_machine.travel(utcnow() + outbox.LEASE + dt.timedelta(seconds=1)):
        taken_over = outbox.claim("third", limit=50)  # the second drain died: its claim ran out
    assert [e.id for e in taken_over] == [e.id for e in second]
    assert outbox.mark_dispatched("second", [e.id for e in second]) == 0  # not its claim any more


def test_two_workers_dispatching_the_same_events_at_once_deliver_each_once(wsgi, ctx):
    probe = add_probe(ctx, "probe_once")
    contact = contacts.create_contact({"email": "race@example.com"})
    ids = emit_many([{"contact": contact, "kind": "tag_added", "data": {"tag": str(n)}} for n in range(300)])
    barrier = threading.Barrier(2, timeout=20)
    app, outcomes = wsgi.app, []

    def worker():
        with app.app_context(), app.extensions["couvee"].database_connection():
            barrier.wait()
            outcomes.append(drain.dispatch_now(ids))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(outcomes) == 300
    assert sorted(probe.calls()) == sorted(ids)  # each event once, whoever dispatched it
    assert Event.select().where(Event.id.in_(ids) & Event.dispatched_at.is_null()).count() == 0


def test_a_failing_plugin_is_retried_alone_with_backoff_then_given_up(ctx, run_jobs):
    steady, flaky = add_probe(ctx, "probe_steady"), add_probe(ctx, "probe_flaky")
    flaky.down()
    contact = contacts.create_contact({"email": "flaky@example.com"})
    run_jobs()
    event = Event.get(Event.contact == contact.id)
    assert event.dispatched_at is not None  # the others got it; the failure is recorded apart
    delivery = EventDelivery.get()
    assert (delivery.plugin, delivery.hook, delivery.attempts, delivery.status) == (
        "probe_flaky", "contact_event", 1, "retrying")
    assert "probe_flaky <is> down" in delivery.last_error
    assert delivery.next_attempt_at - delivery.last_failed_at == deliveries.BACKOFF[0]

    for attempt in range(2, len(deliveries.BACKOFF) + 2):
        due = EventDelivery.get().next_attempt_at
        with time_machine.travel(due - dt.timedelta(seconds=5)):
            assert sweep_undispatched() == 0  # not due yet: nothing queued
        its_time_has_come()
        assert sweep_undispatched() == 1
        assert sweep_undispatched() == 0  # idempotent
        run_jobs()
        delivery = EventDelivery.get()
        assert delivery.attempts == attempt
        if delivery.status == "retrying":
            assert delivery.next_attempt_at - delivery.last_failed_at == deliveries.BACKOFF[attempt - 1]
    assert delivery.status == "failed" and delivery.next_attempt_at is None
    assert steady.calls() == [event.id]  # never called again for the other's failure
    assert len(flaky.calls()) == 1 + len(deliveries.BACKOFF)

    flaky.down(False)
    assert deliveries.retry_now(delivery.id)
    run_jobs()
    assert EventDelivery.select().count() == 0
    assert steady.calls() == [event.id] and len(flaky.calls()) == 2 + len(deliveries.BACKOFF)


def test_failed_deliveries_are_shown_on_the_dashboard_with_a_protected_retry(admin, ctx, run_jobs):
    flaky = add_probe(ctx, "probe_dash")
    flaky.down()
    contact = contacts.create_contact({"email": "x@example.com", "first_name": "<b>Eve</b>"})
    run_jobs()
    EventDelivery.update(status="failed", next_attempt_at=None, attempts=5).execute()
    page = admin.get("/admin/")
    table = page.html.find(id="failed-deliveries")
    assert table is not None
    text = table.get_text(" ")
    assert "probe_dash" in text and "Contact created" in text and "<b>Eve</b>" in text  # escaped, shown as text
    assert "probe_dash <is> down" in text
    assert table.find("b") is None
    delivery = EventDelivery.get()
    url = f"/admin/deliveries/{delivery.id}/retry"
    assert admin.post(url, expect_errors=True).status_int == 400  # no CSRF token
    assert EventDelivery.get().status == "failed"
    flaky.down(False)
    admin.post(url, {"csrf_token": csrf_of(page)}).follow()
    assert EventDelivery.get().status == "retrying"
    run_jobs()
    assert EventDelivery.select().count() == 0
    assert "failed-deliveries" not in admin.get("/admin/").text
    assert admin.post("/admin/deliveries/999999/retry", {"csrf_token": csrf_of(page)},
                      expect_errors=True).status_int == 404
    assert Contact.get_by_id(contact.id)


def test_a_contact_deleted_before_its_event_is_dispatched_is_skipped_cleanly(ctx, run_jobs):
    """Issue 15 item 15: dispatch raised IndexError when the contact was gone."""
    probe = add_probe(ctx, "probe_deleted")
    contact = contacts.create_contact({"email": "gone@example.com"}, tags=["soon-gone"])
    emit(contact, "tag_added", {"tag": "later"})
    contacts.delete_contact(contact)
    worker = run_jobs()
    assert get_queue("events").failed_job_registry.count == 0
    assert worker is not None and probe.calls() == []
    assert EventDelivery.select().count() == 0
    assert ctx.extensions["couvee"].plugin_errors() == {}


class Eraser:
    """A plugin that deletes the contact while reacting (another worker's
    deletion landing mid-dispatch)."""

    @hookimpl
    def contact_event(self, event):
        Contact.delete().where(Contact.id == event.contact_id).execute()


class Reader:
    """A plugin that reads the contact afresh: IndexError once it is gone."""

    @hookimpl
    def contact_event(self, event):
        Contact.select().where(Contact.id == event.contact_id)[0]


def test_a_contact_deleted_during_dispatch_leaves_nothing_to_retry(ctx, run_jobs):
    pm = ctx.extensions["couvee"].hooks.pm
    pm.register(Reader(), name="reader")
    pm.register(Eraser(), name="eraser")  # registered last: called first
    contacts.create_contact({"email": "eraser@example.com"})
    run_jobs()
    assert get_queue("events").failed_job_registry.count == 0
    assert EventDelivery.select().count() == 0 and Event.select().count() == 0
    assert ctx.extensions["couvee"].plugin_errors() == {}  # not a plugin's fault: nothing to show


def test_a_drain_stops_after_its_time_slice_and_hands_over(wsgi, ctx, run_jobs, monkeypatch):
    from core.queue import make_worker

    monkeypatch.setattr(drain, "SLICE_SECONDS", 0)
    monkeypatch.setattr(drain, "BATCH", 10)
    contact = contacts.create_contact({"email": "slice@example.com"})
    emit_many([{"contact": contact, "kind": "tag_added", "data": {"tag": str(n)}} for n in range(24)])
    queue = get_queue("events")
    [first] = queue.jobs
    make_worker(wsgi.runtime, ["events"], simple=True).work(burst=True, max_jobs=1)
    assert Event.select().where(Event.dispatched_at.is_null()).count() == 15  # one batch of 10
    [second] = queue.jobs
    assert second.id != first.id and signal.holder() == second.id  # handed over: no gap, no second drain
    run_jobs()
    assert Event.select().where(Event.dispatched_at.is_null()).count() == 0
    assert signal.holder() is None and queue.count == 0


def test_old_queued_dispatch_jobs_still_work(ctx, run_jobs):
    from core.events import dispatch_events

    contact = contacts.create_contact({"email": "old@example.com"})
    event = emit(contact, "tag_added", {"tag": "x"})
    assert dispatch_events([event.id]) == 1
    assert dispatch_event(event.id) == "already dispatched"
    assert dispatch_event(10**9) == "missing"
    held = emit(contact, "tag_added", {"tag": "y"})
    assert len(outbox.claim("a drain", ids=[held.id])) == 1
    assert dispatch_event(held.id) == "claimed elsewhere"


def test_an_instance_created_before_the_outbox_is_migrated(config, app):
    """Migrations 2 and 3 of core add the claim columns, the delivery table,
    the lane flag and the outbox indexes to a database whose event table
    predates them; events already there are bulk."""
    from core.app import create_app
    from core.models import MigrationRecord

    state = app.extensions["couvee"]
    with app.app_context(), state.database_connection() as database:
        older = contacts.create_contact({"email": "before@example.com"})
        for index in ("event_outbox", "event_outbox_lane", "event_outbox_claims"):
            database.execute_sql(f"DROP INDEX {index}")
        database.execute_sql("DROP TABLE event_delivery")
        for column in ("claimed_by", "claimed_until", "interactive"):
            database.execute_sql(f"ALTER TABLE event DROP COLUMN {column}")
        MigrationRecord.delete().where((MigrationRecord.plugin == "core") & (MigrationRecord.version >= 2)).execute()
    upgraded = create_app(config)
    with upgraded.app_context(), upgraded.extensions["couvee"].database_connection() as database:
        assert {"claimed_by", "claimed_until", "interactive"} <= {c.name for c in database.get_columns("event")}
        assert "event_delivery" in database.get_tables()
        assert {"event_outbox", "event_outbox_lane", "event_outbox_claims"} <= {
            index.name for index in database.get_indexes("event")}
        assert not Event.get(Event.contact == older.id).interactive
        contact = contacts.create_contact({"email": "upgraded@example.com"})
        assert drain.dispatch_now([e.id for e in Event.select().where(Event.contact == contact.id)]) == 1


def test_scoring_relies_on_core_to_retry_its_failed_reaction(ctx, run_jobs, monkeypatch):
    """Scoring's own retry job is gone: its failure is a delivery core retries."""
    from plugins.scoring import point_actions
    from plugins.scoring.models import PointAction

    PointAction.create(name="Visited pricing", delta=10, kind="page_visited", url_pattern="*/pricing*")
    ada = contacts.create_contact({"email": "ada@example.com"})
    run_jobs()
    working = point_actions.evaluate_event

    def broken(event):
        raise RuntimeError("the ledger is unavailable")

    monkeypatch.setattr(point_actions, "evaluate_event", broken)
    emit(ada, "page_visited", {"url": "https://ex.com/pricing"})
    run_jobs()
    delivery = EventDelivery.get()
    assert (delivery.plugin, delivery.status) == ("scoring", "retrying")
    assert Contact.get_by_id(ada.id).points == 0 and get_queue("events").count == 0  # no job of its own
    monkeypatch.setattr(point_actions, "evaluate_event", working)
    its_time_has_come()
    assert sweep_undispatched() == 1
    run_jobs()
    assert EventDelivery.select().count() == 0
    assert Contact.get_by_id(ada.id).points == 10
