"""core.batch_memo: plugins read their definitions once per dispatched batch
(scoring's point actions, segments' dynamic segments), and drains that no
emitter asked for do not wait for late commits."""
from __future__ import annotations

import logging

from core import batch_memo, emit_many
from plugins.automation.library import with_ids
from plugins.automation.lifecycle import activate, create_workflow
from plugins.automation.models import WorkflowRun, WorkflowVersion
from core.dispatch import drain
from core.dispatch.memo import batch_scope
from core.models import Contact, Event, utcnow
from plugins.segments import Segment, SegmentMember
from plugins.scoring.models import PointAction, PointAward


def test_batch_memo_loads_once_per_batch_and_every_time_outside_one(ctx):
    loads = []

    def load():
        loads.append(1)
        return len(loads)

    assert [batch_memo("test.defs", load) for _ in range(3)] == [1, 2, 3]  # no batch: no memo
    with batch_scope():
        assert [batch_memo("test.defs", load) for _ in range(3)] == [4, 4, 4]
        with batch_scope():  # a nested dispatch (dispatch_now inside a hook) has its own
            assert batch_memo("test.defs", load) == 5
        assert batch_memo("test.defs", load) == 4
    with batch_scope():  # the next batch sees definitions saved meanwhile
        assert batch_memo("test.defs", load) == 6
    assert batch_memo("test.defs", load) == 7


def _selects_from(records, table: str) -> int:
    return sum(1 for r in records if r.getMessage().startswith("('SELECT") and f'FROM "{table}"' in r.getMessage())


def test_definitions_are_read_once_per_batch_and_every_event_still_gets_its_reaction(ctx, caplog):
    PointAction.create(name="Pricing", delta=5, kind="page_visited", url_pattern="*/pricing*")
    engaged = Segment.create(name="Engaged", kind="dynamic", filter={"match": "all", "groups": [
        {"match": "all", "conditions": [{"filter": "points", "params": {"operator": "gte", "value": "5"}}]}]})
    now = utcnow()
    Contact.insert_many([{"email": f"m{i}@example.com", "created_at": now, "updated_at": now}
                         for i in range(150)]).execute()
    ids = [c.id for c in Contact.select(Contact.id).order_by(Contact.id)]
    event_ids = emit_many([{"contact": i, "kind": "page_visited", "data": {"url": "https://ex.com/pricing"}}
                           for i in ids], dispatch=False)
    workflow = create_workflow("Pricing follow-up", {
        "triggers": [{"type": "page_visited", "settings": {"url": "*/nowhere*"}}],
        "steps": with_ids([{"type": "action", "action": "tag.add", "settings": {"tag": "x"}}])})
    assert not activate(workflow)
    with caplog.at_level(logging.DEBUG, logger="peewee"):
        assert drain.dispatch_now(event_ids) == 150  # two batches: 100 + 50
    assert _selects_from(caplog.records, "scoring_point_action") == 2
    assert _selects_from(caplog.records, Segment._meta.table_name) == 2
    assert _selects_from(caplog.records, WorkflowVersion._meta.table_name) == 2  # live workflows
    assert _selects_from(caplog.records, WorkflowRun._meta.table_name) == 2  # which kinds runs wait for
    assert PointAward.select().count() == 150
    while waiting := [e.id for e in Event.select(Event.id).where(Event.dispatched_at.is_null())]:
        drain.dispatch_now(waiting)  # the points_changed events the awards emitted
    assert SegmentMember.select().where(SegmentMember.segment == engaged.id).count() == 150
    assert Event.select().where(Event.dispatched_at.is_null()).count() == 0


def test_only_a_drain_asked_for_by_an_emitter_waits_for_a_late_commit(ctx, monkeypatch):
    contact = Contact.create(email="late@example.com")
    Event.update(dispatched_at=utcnow()).execute()
    pauses = []

    def sleep_while_the_emitter_commits(seconds):
        pauses.append(seconds)
        if len(pauses) == 2:  # the emitter's transaction commits during the second pause
            emit_many([{"contact": contact.id, "kind": "page_visited", "data": {"url": "https://ex.com/"}}],
                      dispatch=False)

    monkeypatch.setattr(drain.time, "sleep", sleep_while_the_emitter_commits)
    assert drain.drain_events(1, late_commits=False)["dispatched"] == 0  # a successor or an extra drain
    assert pauses == []
    assert drain.drain_events()["dispatched"] == 1  # asked for by the emitter: it waited
    assert pauses == list(drain.LATE_COMMIT_WAITS[:2])
