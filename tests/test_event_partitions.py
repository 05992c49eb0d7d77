"""Partitioned drains and the priority lane, in one process: which partition
an event is in, what a drain claims from a partition (each contact's oldest
events first, interactive contacts first, a fair share for the backlog,
contacts held by another claim skipped), which events are interactive, and
drains that fan out over the partitions then let go of every slot and lock."""
from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from core import emit, emit_many, hookimpl
from core.bulk import insert_rows
from core.config import load_config
from core.db import ConfigError
from core.dispatch import drain, outbox, partitions, signal
from core.events import sweep_undispatched
from core.models import Contact, Event, utcnow
from core.queue import get_queue, make_worker


def new_contacts(count: int, prefix: str = "p") -> list[int]:
    now = utcnow()
    Contact.insert_many([{"email": f"{prefix}{n}@example.com", "created_at": now, "updated_at": now}
                         for n in range(count)]).execute()
    return [c.id for c in Contact.select(Contact.id).where(Contact.email.startswith(prefix)).order_by(Contact.id)]


def visits(contact_ids, each: int = 1, bulk: bool = True) -> list[int]:
    return emit_many([{"contact": cid, "kind": "page_visited", "data": {"url": f"https://ex.com/{n}"}}
                      for n in range(each) for cid in contact_ids], dispatch=False, bulk=bulk)


def in_partition(contact_ids, partition: int) -> list[int]:
    return [cid for cid in contact_ids if cid % partitions.count() == partition]


def test_an_events_partition_is_its_contact_id_modulo_the_partition_count(ctx):
    ids = new_contacts(23)
    visits(ids)
    assert partitions.count() == 4
    for partition in range(4):
        found = {e.contact_id for e in Event.select(Event.contact).where(partitions.where(partition))}
        assert found == {cid for cid in ids if cid % 4 == partition}, partition


def test_the_partition_count_is_configured(tmp_path):
    environ = {"COUVEE_INSTANCE": str(tmp_path), "COUVEE_SECRET_KEY": "s" * 20}
    assert load_config(environ=environ).event_partitions == 4
    assert load_config(environ={**environ, "COUVEE_EVENT_PARTITIONS": "8"}).event_partitions == 8
    for wrong in ("0", "many", "65"):
        with pytest.raises(ConfigError, match="COUVEE_EVENT_PARTITIONS"):
            load_config(environ={**environ, "COUVEE_EVENT_PARTITIONS": wrong})


def test_where_an_event_was_emitted_decides_its_lane(ctx):
    [one, two] = new_contacts(2)
    contact = Contact.get_by_id(one)
    assert emit(contact, "custom_event", {"name": "signup"}).interactive  # a request, an API call
    few = emit_many([{"contact": one, "kind": "page_visited"}] * 3)
    many = emit_many([{"contact": two, "kind": "page_visited"}] * 11)
    forced = emit_many([{"contact": two, "kind": "page_visited"}], bulk=True)
    [raw] = insert_rows(Event, ["contact", "kind", "data", "source", "created_at"],
                        [(two, "page_visited", "{}", "import", utcnow().isoformat(" "))], returning=("id",))
    lane = {e.id: e.interactive for e in Event.select(Event.id, Event.interactive)}
    assert all(lane[i] for i in few)
    assert not any(lane[i] for i in many + forced)
    assert lane[raw[0]] is False  # written in bulk without naming the lane: the column's default


class Echo:
    """Reacts to every page visit with a tracked event, as a plugin would."""

    @hookimpl
    def contact_event(self, event):
        if event.kind == "page_visited":
            emit(event.contact, "custom_event", {"name": f"echo {event.id}"})


def test_a_plugins_reaction_takes_the_lane_of_the_event_it_reacts_to(ctx, run_jobs):
    ctx.extensions["couvee"].hooks.pm.register(Echo(), name="echo")
    [contact] = new_contacts(1)
    bulk, interactive = visits([contact], bulk=True), visits([contact], bulk=False)
    signal.request_drain()
    run_jobs(queues=("events",))
    echoes = {e.data["name"]: e.interactive for e in Event.select().where(Event.kind == "custom_event")}
    assert echoes == {f"echo {bulk[0]}": False, f"echo {interactive[0]}": True}


class NestedEcho:
    """Reacts to a page visit by dispatching another event at once (a nested
    delivery), then emitting a tracked event, as a plugin might."""

    def __init__(self, nested: list[int]):
        self.nested = nested

    @hookimpl
    def contact_event(self, event):
        if event.kind == "page_visited" and self.nested:
            drain.dispatch_now([self.nested.pop()])
            emit(event.contact, "custom_event", {"name": f"after {event.id}"})


def test_a_nested_delivery_gives_the_outer_event_its_lane_back(ctx, run_jobs):
    [contact, other] = new_contacts(2)
    [inner] = emit_many([{"contact": other, "kind": "custom_event", "data": {"name": "inner"}}],
                        dispatch=False, bulk=False)
    ctx.extensions["couvee"].hooks.pm.register(NestedEcho([inner]), name="nested-echo")
    [bulk] = visits([contact], bulk=True)
    drain.dispatch_now([bulk])
    [after] = [e for e in Event.select().where(Event.kind == "custom_event") if e.data["name"] == f"after {bulk}"]
    assert after.interactive is False  # still the bulk visit's lane, after the interactive inner event


def test_a_partition_batch_puts_interactive_contacts_first_with_their_earlier_events(ctx):
    ids = in_partition(new_contacts(40), 1)[:6]
    backlog = visits(ids[:4], each=10)  # 40 bulk events, oldest first
    late = visits([ids[2]], bulk=False)  # a form post of a contact with a backlog
    fresh = visits([ids[5]], bulk=False)  # a contact with nothing waiting
    batch = [e.id for e in outbox.claim("d1", limit=20, partition=1)]
    assert batch == sorted(batch)
    mine = {e.id for e in Event.select(Event.id).where(Event.contact == ids[2])}
    # the interactive contacts' events, each contact's earlier ones included, then the oldest
    assert set(fresh) <= set(batch) and mine <= set(batch)
    fair = [i for i in batch if i not in mine | set(fresh)]
    assert fair == sorted(set(backlog) - mine)[:len(fair)] and len(fair) >= 20 * outbox.FAIR_SHARE
    assert late[0] == max(mine) and set(late) <= set(batch)
    assert outbox.claim("d2", limit=20, partition=2) == []  # other partitions are apart


def test_a_stream_of_interactive_events_leaves_the_backlog_its_share(ctx):
    ids = in_partition(new_contacts(200), 3)[:40]
    backlog = visits(ids[:1], each=30)
    visits(ids[1:], bulk=False)  # 39 contacts with a fresh event each
    batch = [e.id for e in outbox.claim("d", limit=20, partition=3)]
    assert set(backlog[:5]) <= set(batch)  # a quarter of the batch: the oldest events


def test_a_contact_with_an_event_under_another_live_claim_waits_for_it(ctx):
    [held, other] = in_partition(new_contacts(20), 0)[:2]
    first = visits([held], each=3)
    assert [e.id for e in outbox.claim("dead drain", ids=first[:1])] == first[:1]
    later = visits([held, other], bulk=False)
    batch = {e.id for e in outbox.claim("d", limit=50, partition=0)}
    assert batch == {later[1]}  # nothing of `held` goes past its claimed event
    assert outbox.held_contacts("d") == [held] and outbox.held_contacts("dead drain") == [other]
    outbox.mark_dispatched("d", [later[1]])
    with time_machine.travel(utcnow() + outbox.LEASE + dt.timedelta(seconds=1)):
        retaken = [e.id for e in outbox.claim("d", limit=50, partition=0)]
    assert retaken == sorted(first + later[:1])  # the lease ran out: in order again


def test_a_drain_fans_out_over_a_backlog_then_every_slot_and_lock_is_free(wsgi, ctx, run_jobs, monkeypatch):
    monkeypatch.setattr(drain, "SLICE_SECONDS", 0)
    ids = new_contacts(40)
    visits(ids, each=10)  # 400 events, 100 per partition
    assert signal.request_drain() and not signal.request_drain()
    make_worker(wsgi.runtime, ["events"], simple=True).work(burst=True, max_jobs=1)
    held = signal.holders()
    assert len(held) == 2 and 0 in held  # its successor, and one more drain for the partitions nobody held
    assert get_queue("events").count == 2
    run_jobs(queues=("events",))
    assert not Event.select().where(Event.dispatched_at.is_null()).exists()
    assert signal.holders() == {} and partitions.locked() == set()


def test_the_sweep_frees_the_slots_of_drains_that_are_gone(ctx, run_jobs):
    visits(new_contacts(8))
    redis = ctx.extensions["couvee"].redis
    redis.set(signal.flag(2), "couvee-drain-gone")
    assert sweep_undispatched() == 1  # slot 2's job does not exist: freed, and one drain queued
    assert set(signal.holders()) == {0}
    assert sweep_undispatched() == 0  # idempotent
    run_jobs(queues=("events",))
    assert not Event.select().where(Event.dispatched_at.is_null()).exists()
