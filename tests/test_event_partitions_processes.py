"""Partitioned drains and the priority lane with real ``couvee worker``
processes (a work horse forked per job) on the test's database and Redis:

- two workers dispatch different partitions at the same time, and each
  contact's events still arrive one after the other, in order;
- a worker SIGKILLed mid-drain loses nothing: its claims run out and are
  taken again (those events, and only those, may be delivered twice), and
  its contacts' later events wait for them;
- a fresh event is dispatched within seconds while 20,000 bulk events wait.

Deliveries are seen through the ``couvee_dispatch_probe`` test plugin, which
writes a line per delivery (event, contact, process, start, end).
"""
from __future__ import annotations

import datetime as dt
import json
import time
from collections import defaultdict

import pytest
import time_machine

from core import emit, emit_many
from core.dispatch import drain, outbox, partitions, signal
from core.events import sweep_undispatched
from core.models import Contact, Event, utcnow
from core.plugins import lifecycle

from .conftest import install_fixture_plugin
from .test_email_newsletter import kill_with_work_horses
from .test_event_dispatch_processes import dispatched, expire_drains, start_worker, wait_until

#: seconds within which a fresh event must be dispatched behind the bulk backlog
FRESH_WITHIN = 5.0


@pytest.fixture
def probe(instance, wsgi, ctx):
    """The probe plugin, active; returns the path of its delivery log."""
    folder = install_fixture_plugin(instance, "couvee_dispatch_probe")
    wsgi.runtime.state.stale = True
    wsgi.runtime.refresh()
    lifecycle.activate(wsgi.app.extensions["couvee"], "couvee_dispatch_probe")
    wsgi.runtime.refresh()
    assert wsgi.app.extensions["couvee"].host.is_active("couvee_dispatch_probe")
    return folder / "deliveries.jsonl"


@pytest.fixture
def workers(wsgi):
    """``start(*options)`` runs a ``couvee worker`` until the test ends."""
    started = []

    def start(*options: str):
        process = start_worker(wsgi, *options)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            kill_with_work_horses(process.pid)
            process.wait(timeout=30)


def deliveries(log) -> list[dict]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


def bulk_backlog(contacts: int, each: int, prefix: str = "bulk") -> list[int]:
    """``contacts × each`` undispatched bulk events, each contact's interleaved
    with the others' (as an import writes them); returns their ids."""
    now = utcnow()
    Contact.insert_many([{"email": f"{prefix}{n}@example.com", "created_at": now, "updated_at": now}
                         for n in range(contacts)]).execute()
    ids = [c.id for c in Contact.select(Contact.id).where(Contact.email.startswith(prefix))]
    rows = [{"contact": cid, "kind": "page_visited", "data": {"url": f"https://ex.com/{n}"}}
            for n in range(each) for cid in ids]
    return [i for start in range(0, len(rows), 1000) for i in emit_many(rows[start:start + 1000], dispatch=False)]


def by_contact(lines: list[dict]) -> dict[int, list[dict]]:
    found = defaultdict(list)
    for line in sorted(lines, key=lambda line: line["start"]):
        found[line["contact"]].append(line)
    return found


def assert_in_order_one_at_a_time(lines: list[dict]) -> None:
    for contact, seen in by_contact(lines).items():
        ids = [line["event"] for line in seen]
        assert ids == sorted(ids), f"contact {contact}: events out of order"
        for before, after in zip(seen, seen[1:]):
            assert before["end"] <= after["start"], f"contact {contact}: two deliveries at once"


def overlapping_pairs(lines: list[dict]) -> int:
    """Deliveries made by different processes that overlapped in time."""
    ordered, count = sorted(lines, key=lambda line: line["start"]), 0
    for index, line in enumerate(ordered):
        for later in ordered[index + 1:]:
            if later["start"] >= line["end"]:
                break
            count += later["pid"] != line["pid"]
    return count


def stable(count_of, quiet: float = 3.0, timeout: float = 180.0) -> int:
    """Wait until ``count_of()`` stops changing for ``quiet`` seconds."""
    deadline, last, since = time.monotonic() + timeout, None, time.monotonic()
    while time.monotonic() < deadline:
        value = count_of()
        if value != last:
            last, since = value, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return value
        time.sleep(0.1)
    raise AssertionError(f"still changing after {timeout} s")


def test_two_workers_drain_different_partitions_at_once_keeping_each_contacts_order(ctx, probe, workers):
    ids = bulk_backlog(contacts=60, each=30)
    first, second = workers("--queue", "events"), workers("--queue", "events")
    assert signal.request_drain()
    wait_until(lambda: dispatched() == len(ids), timeout=240, step=0.2)
    lines = deliveries(probe)
    assert sorted(line["event"] for line in lines) == sorted(ids)  # each exactly once
    assert_in_order_one_at_a_time(lines)
    overlaps = overlapping_pairs(lines)
    assert overlaps > 20, overlaps  # two drains delivered at the same time
    print(f"{len(ids)} events, {overlaps} deliveries overlapped another process's, "
          f"{len({line['pid'] for line in lines})} drain jobs; workers {first.pid}, {second.pid}")


def test_a_worker_killed_mid_drain_loses_nothing_and_its_contacts_wait_for_its_claims(ctx, probe, workers,
                                                                                    run_jobs):
    ids = bulk_backlog(contacts=60, each=50)
    victim = workers("--queue", "events")
    assert signal.request_drain()
    wait_until(lambda: dispatched() >= len(ids) * 3 // 10, timeout=240, step=0.02)
    wait_until(lambda: Event.select().where(Event.claimed_by.is_null(False)).exists(), timeout=60, step=0.002)
    kill_with_work_horses(victim.pid)  # mid-batch: its drain holds claims and a partition
    victim.wait(timeout=30)
    survivor = workers("--queue", "events")  # takes the drains the victim had queued
    stable(dispatched)  # the survivor did what it could, the victim's partition still locked
    expire_drains(ctx.extensions["couvee"].redis)  # a minute later: the dead drain's flag and lock ran out
    sweep_undispatched()
    left = len(ids) - stable(dispatched)
    dead_claims = {e.id: e.contact_id for e in Event.select(Event.id, Event.contact).where(
        Event.dispatched_at.is_null() & Event.claimed_by.is_null(False))}
    waiting = Event.select(Event.contact).where(Event.dispatched_at.is_null())
    assert 0 < len(dead_claims) <= drain.BATCH  # the one batch the killed drain held
    assert {e.contact_id for e in waiting} == set(dead_claims.values())  # only its contacts wait for it
    assert signal.holders() == {}  # the survivor let go: nothing it could do (no drain spinning)
    kill_with_work_horses(survivor.pid)
    survivor.wait(timeout=30)

    with time_machine.travel(utcnow() + outbox.LEASE + dt.timedelta(seconds=5)):  # the claims run out
        time.sleep(0.01)
        assert sweep_undispatched() <= 1
        run_jobs(queues=("events",))
    assert dispatched() == len(ids)
    lines = deliveries(probe)
    counts = defaultdict(int)
    for line in lines:
        counts[line["event"]] += 1
    assert set(counts) == set(ids)  # nothing lost
    twice = {event for event, seen in counts.items() if seen > 1}
    assert twice <= set(dead_claims) and max(counts.values()) <= 2  # at least once: only the dead batch again
    for contact, seen in by_contact(lines).items():
        delivered = [line["event"] for line in seen]
        first_times = list(dict.fromkeys(delivered))
        assert first_times == sorted(first_times), f"contact {contact}: out of order"
        last_times = list(dict.fromkeys(reversed(delivered)))[::-1]
        assert last_times == sorted(last_times), f"contact {contact}: out of order after the takeover"
    assert signal.holders() == {} and partitions.locked() == set()
    print(f"{left} events waited for the dead drain's {len(dead_claims)} claims; {len(twice)} delivered twice")


def test_a_fresh_event_jumps_a_backlog_of_20000_bulk_events(ctx, workers):
    total = 20_000  # dispatch got faster: at 10,000 a quick machine drained two thirds meanwhile
    bulk_backlog(contacts=500, each=total // 500)
    behind = Contact.select().where(Contact.email.startswith("bulk")).order_by(Contact.id).first()
    assert signal.request_drain()
    workers()  # one worker, every queue, as `couvee worker` runs by default
    wait_until(dispatched, timeout=120)  # the drain is under way
    waits = []
    for number in range(3):
        contact = Contact.create(email=f"fresh{number}@example.com")
        asked = time.monotonic()
        event = emit(contact, "custom_event", {"name": "signup"})  # as a form post or an API call does
        wait_until(lambda: Event.get_by_id(event.id).dispatched_at, timeout=60, step=0.02)
        waits.append(time.monotonic() - asked)
        time.sleep(0.3)
    late = emit(behind, "custom_event", {"name": "signup"})  # a contact with bulk events still waiting
    wait_until(lambda: Event.get_by_id(late.id).dispatched_at, timeout=60, step=0.02)
    still_waiting = total - dispatched()
    assert max(waits) < FRESH_WITHIN, waits
    assert still_waiting > total // 3, still_waiting  # the backlog was still there
    late_at = Event.get_by_id(late.id).dispatched_at
    earlier = Event.select().where((Event.contact == behind.id) & (Event.id < late.id))
    assert all(e.dispatched_at is not None and e.dispatched_at <= late_at for e in earlier)  # its order kept
    print("fresh events dispatched after (s):", [round(wait, 2) for wait in waits],
          "bulk events still waiting:", still_waiting)
