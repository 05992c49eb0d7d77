"""Scoring: the ledger (explainable score), point actions given once per
contact even under duplicate delivery and concurrent workers, the
``points.change`` action, point triggers (live and retroactive, batched),
decay, tiers in segments, export and erasure."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
import time_machine

from core import contacts, state
from core.events import emit, queue_dispatch
from core.models import Contact, Event, utcnow
from plugins.segments import add_to_segment, compile_segment, segments_of
from plugins.segments.editing import save_segment
from plugins.segments.models import Segment
from plugins.scoring import ledger, triggers
from plugins.scoring.ledger import Change, ScoringError, ledger_sum, record_change
from plugins.scoring.models import PointAction, PointAward, PointChange, PointTrigger, ScoringSettings, TriggerFiring


def points_of(contact) -> int:
    return Contact.get_by_id(contact.id).points


def assert_consistent(*people) -> None:
    """The score is the sum of the ledger, and each row's total is right."""
    for contact in people:
        assert points_of(contact) == ledger_sum(contact.id)
        running = 0
        for row in PointChange.select().where(PointChange.contact == contact.id).order_by(PointChange.id):
            running += row.delta
            assert row.total == running, (row.reason, row.total, running)


def emails_in(segment) -> set[str]:
    """Who the segment's filter selects now."""
    return {c.email for c in Contact.select(Contact.email).where(Contact.id.in_(compile_segment(segment)))}


def events_of(kind: str, contact=None) -> list[dict]:
    query = Event.select().where(Event.kind == kind)
    if contact is not None:
        query = query.where(Event.contact == contact.id)
    return [e.data for e in query.order_by(Event.id)]


# --- the ledger ----------------------------------------------------------------------


def test_every_change_is_in_the_ledger_with_its_reason_and_the_score_is_its_sum(ctx, run_jobs):
    ada = contacts.create_contact({"email": "ada@example.com"})
    record_change(Change(ada.id, 10, "Webinar", "workflow", source_id="7"))
    record_change(Change(ada.id, -3, "Unsubscribed from the newsletter", "manual", user_id=None))
    rows = list(PointChange.select().where(PointChange.contact == ada.id).order_by(PointChange.id))
    assert [(r.delta, r.total, r.reason, r.source_type) for r in rows] == [
        (10, 10, "Webinar", "workflow"), (-3, 7, "Unsubscribed from the newsletter", "manual")]
    assert points_of(ada) == 7
    assert_consistent(ada)
    changed = events_of("points_changed", ada)
    assert [(e["delta"], e["total"], e["reason"], e["source"]) for e in changed] == [
        (10, 10, "Webinar", "workflow"), (-3, 7, "Unsubscribed from the newsletter", "manual")]
    run_jobs()  # points_changed is dispatched like any event; nothing loops
    assert points_of(ada) == 7


def test_a_change_with_an_idempotency_key_applies_once(ctx):
    ada = contacts.create_contact({"email": "ada@example.com"})
    assert record_change(Change(ada.id, 5, "Form", "form", key="k1")) is not None
    assert record_change(Change(ada.id, 5, "Form", "form", key="k1")) is None
    assert points_of(ada) == 5 and PointChange.select().count() == 1


@pytest.mark.parametrize("delta, message", [(0, "cannot be 0"), (10**7, "between"), ("5", "whole number")])
def test_bad_changes_are_refused_and_write_nothing(ctx, delta, message):
    ada = contacts.create_contact({"email": "ada@example.com"})
    with pytest.raises(ScoringError, match=message):
        record_change(Change(ada.id, delta, "x", "manual"))
    with pytest.raises(ScoringError, match="Unknown source"):
        record_change(Change(ada.id, 1, "x", "nowhere"))
    assert PointChange.select().count() == 0 and points_of(ada) == 0


def test_a_change_for_a_deleted_contact_is_refused(ctx):
    ada = contacts.create_contact({"email": "ada@example.com"})
    contact_id = ada.id
    contacts.delete_contact(ada)
    with pytest.raises(ScoringError, match="does not exist"):
        record_change(Change(contact_id, 1, "x", "manual"))
    assert PointChange.select().count() == 0


# --- point actions --------------------------------------------------------------------


def make_actions():
    return {
        "pricing": PointAction.create(name="Visited pricing", delta=10, kind="page_visited", url_pattern="*/pricing*"),
        "docs": PointAction.create(name="Read the docs", delta=3, kind="page_visited",
                                   url_pattern=r"^https://ex\.com/docs/\d+$", url_mode="regex"),
        "paper": PointAction.create(name="White paper", delta=15, kind="asset_downloaded", target_id="9"),
        "open": PointAction.create(name="Opened an email", delta=1, kind="email_opened"),
        "click": PointAction.create(name="Clicked", delta=2, kind="email_clicked", url_pattern="*/offer*"),
        "form": PointAction.create(name="Demo form", delta=20, kind="form_submitted", target_id="4"),
        "anyform": PointAction.create(name="Any form", delta=5, kind="form_submitted"),
        "webinar": PointAction.create(name="Webinar", delta=30, kind="custom_event"),
        "bounce": PointAction.create(name="Bounced", delta=-8, kind="email_bounced"),
        "paused": PointAction.create(name="Paused", delta=100, kind="page_visited", active=False),
    }


def test_point_actions_match_their_events_and_fire_once_per_contact(ctx, run_jobs):
    make_actions()
    ada = contacts.create_contact({"email": "ada@example.com"})
    bob = contacts.create_contact({"email": "bob@example.com"})
    for url in ("https://ex.com/blog", "https://ex.com/PRICING/team", "https://ex.com/pricing", "https://ex.com/docs/12",
                "https://ex.com/docs/12/x"):
        emit(ada, "page_visited", {"url": url})
    emit(ada, "asset_downloaded", {"asset_id": 8, "title": "Other"})
    emit(ada, "asset_downloaded", {"asset_id": 9, "title": "Paper"})
    emit(ada, "email_opened", {"email_id": 1, "machine": True})
    emit(ada, "email_clicked", {"email_id": 1, "url": "https://ex.com/blog"})
    emit(ada, "form_submitted", {"form_id": 4, "form_name": "Demo"})
    emit(ada, "form_submitted", {"form_id": 5, "form_name": "Newsletter"})
    emit(ada, "custom_event", {"name": "webinar_attended"})
    emit(ada, "email_bounced", {"type": "soft"})
    emit(bob, "email_opened", {"email_id": 1, "machine": False})
    emit(bob, "email_clicked", {"email_id": 1, "url": "https://ex.com/offer?x=1"})
    run_jobs()
    reasons = sorted(r.reason for r in PointChange.select().where(PointChange.contact == ada.id))
    assert reasons == ["Any form", "Bounced", "Demo form", "Read the docs", "Visited pricing", "Webinar", "White paper"]
    assert points_of(ada) == 10 + 3 + 15 + 20 + 5 + 30 - 8
    assert points_of(bob) == 1 + 2
    row = PointChange.get((PointChange.contact == ada.id) & (PointChange.reason == "White paper"))
    assert row.source_type == "point_action" and row.event_id is not None
    assert Event.get_by_id(row.event_id).data["asset_id"] == 9
    assert_consistent(ada, bob)


def test_the_same_event_delivered_twice_counts_once(ctx, run_jobs):
    make_actions()
    ada = contacts.create_contact({"email": "ada@example.com"})
    event = emit(ada, "page_visited", {"url": "https://ex.com/pricing"})
    queue_dispatch(event.id)  # a duplicate job
    run_jobs()
    Event.update(dispatched_at=None).where(Event.id == event.id).execute()  # the sweep re-sends it
    queue_dispatch(event.id)
    run_jobs()
    state().hooks.call("contact_event", event=Event.get_by_id(event.id))  # and once more, by hand
    assert points_of(ada) == 10
    assert PointAward.select().count() == 1 and PointChange.select().count() == 1


def test_two_workers_handling_two_matching_events_at_once_give_the_points_once(wsgi, ctx, monkeypatch):
    """Two threads, each with its own database connection, dispatch two
    different matching events of one contact. Both pass every early check,
    then enter their transactions together: the unique claim lets one win."""
    from core.events import dispatch_event

    PointAction.create(name="Visited pricing", delta=10, kind="page_visited", url_pattern="*/pricing*")
    ada = contacts.create_contact({"email": "ada@example.com"})
    first = emit(ada, "page_visited", {"url": "https://ex.com/pricing"})
    second = emit(ada, "page_visited", {"url": "https://ex.com/pricing/teams"})
    barrier = threading.Barrier(2, timeout=20)
    original = ledger.write_transaction

    def together():
        barrier.wait()  # both workers are past their checks: race for real
        return original()

    monkeypatch.setattr(ledger, "write_transaction", together)
    app = wsgi.app
    connections, outcomes = [], []

    def worker(event_id):
        with app.app_context(), app.extensions["couvee"].database_connection() as database:
            connections.append(id(database.connection()))
            outcomes.append(dispatch_event(event_id))

    threads = [threading.Thread(target=worker, args=(event.id,)) for event in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert outcomes == ["dispatched", "dispatched"]
    assert len(set(connections)) == 2
    assert points_of(ada) == 10
    assert PointChange.select().count() == 1 and PointAward.select().count() == 1
    assert len(events_of("points_changed", ada)) == 1
    assert_consistent(ada)


def test_a_pathological_regex_does_not_block_the_worker(ctx, run_jobs):
    PointAction.create(name="Evil", delta=1, kind="page_visited", url_pattern=r"^(a|aa)+$", url_mode="regex")
    ada = contacts.create_contact({"email": "ada@example.com"})
    emit(ada, "page_visited", {"url": "a" * 40 + "!"})
    run_jobs()
    assert points_of(ada) == 0


# --- the points.change action ---------------------------------------------------------------


def test_points_change_action_applies_on_every_run_once_per_key(ctx):
    action = state().registries.actions["points.change"]
    ada = contacts.create_contact({"email": "ada@example.com"})
    context = {"key": "automation:1:1:s2", "workflow_id": 1, "run_id": 1, "source": "workflow"}
    assert action.run(ada, {"delta": "5", "reason": "Marketing director"}, context) == "+5 points (total 5)"
    assert action.run(ada, {"delta": "5", "reason": "Marketing director"}, context) == "already applied"
    action.run(ada, {"delta": 7}, {"key": "forms:1:3", "source": "form", "form_id": 4, "submission_id": 1})
    action.run(ada, {"delta": 7}, {"key": "forms:2:3", "source": "form", "form_id": 4, "submission_id": 2})
    rows = [(r.delta, r.reason, r.source_type, r.source_id) for r in PointChange.select().order_by(PointChange.id)]
    assert rows == [(5, "Marketing director", "workflow", "1"), (7, "Form submitted", "form", "4"),
                    (7, "Form submitted", "form", "4")]
    assert points_of(ada) == 19
    with pytest.raises(ScoringError, match="Change points: The number of points must be a whole number"):
        action.run(ada, {"delta": "lots"}, {"key": "x"})
    assert points_of(ada) == 19


# --- triggers ---------------------------------------------------------------------------------


def hot_list() -> Segment:
    return save_segment(None, name="Hot leads", kind="static", definition={"match": "all", "groups": []})


def test_a_trigger_fires_once_when_the_threshold_is_crossed_and_runs_its_actions(ctx, run_jobs):
    segment = hot_list()
    trigger = PointTrigger.create(name="Hot lead", threshold=20, actions=[
        {"action": "segment.add", "settings": {"segment_id": segment.id}},
        {"action": "points.change", "settings": {"delta": 1, "reason": "Bonus for becoming hot"}}])
    ada = contacts.create_contact({"email": "ada@example.com"})
    record_change(Change(ada.id, 15, "a", "manual"))
    run_jobs()
    assert TriggerFiring.select().count() == 0
    record_change(Change(ada.id, 10, "b", "manual"))  # 25: crosses 20
    record_change(Change(ada.id, -10, "c", "manual"))  # 15
    record_change(Change(ada.id, 10, "d", "manual"))  # 25 again: already fired
    run_jobs()
    firing = TriggerFiring.get()
    assert (firing.trigger_id, firing.total) == (trigger.id, 25) and firing.done_at is not None
    assert [s.name for s in segments_of(ada)] == ["Hot leads"]
    assert points_of(ada) == 26  # the bonus, once
    crossed = events_of("points_threshold_crossed", ada)
    assert crossed == [{"trigger_id": trigger.id, "threshold": 20, "total": 25, "name": "Hot lead"}]
    bonus = PointChange.get(PointChange.reason == "Bonus for becoming hot")
    assert (bonus.source_type, bonus.source_id) == ("trigger", str(trigger.id))
    # the job retried: nothing is repeated
    triggers.run_firings([firing.id])
    TriggerFiring.update(done_at=None).where(TriggerFiring.id == firing.id).execute()
    triggers.run_firings([firing.id])
    assert points_of(ada) == 26 and len(events_of("points_threshold_crossed", ada)) == 1
    assert_consistent(ada)


def test_a_new_trigger_from_now_on_ignores_contacts_already_above(ctx, run_jobs):
    ada = contacts.create_contact({"email": "ada@example.com"})
    record_change(Change(ada.id, 50, "a", "manual"))
    PointTrigger.create(name="From now on", threshold=20, actions=[
        {"action": "points.change", "settings": {"delta": 1}}])
    record_change(Change(ada.id, 5, "b", "manual"))
    run_jobs()
    assert TriggerFiring.select().count() == 0
    bob = contacts.create_contact({"email": "bob@example.com"})
    record_change(Change(bob.id, 30, "a", "manual"))
    run_jobs()
    assert [f.contact_id for f in TriggerFiring.select()] == [bob.id]


def test_a_failing_action_is_retried_without_repeating_the_others(ctx, run_jobs):
    trigger = PointTrigger.create(name="Hot", threshold=10, actions=[
        {"action": "points.change", "settings": {"delta": 2, "reason": "bonus"}},
        {"action": "segment.add", "settings": {"segment_id": 999}}])
    ada = contacts.create_contact({"email": "ada@example.com"})
    record_change(Change(ada.id, 10, "a", "manual"))
    run_jobs()
    firing = TriggerFiring.get()
    assert firing.done_at is None and "segment" in firing.error.lower()
    with pytest.raises(triggers.TriggerActionError):
        triggers.run_firings([firing.id])
    segment = hot_list()
    trigger.actions = [trigger.actions[0], {"action": "segment.add", "settings": {"segment_id": segment.id}}]
    trigger.save()
    with time_machine.travel(utcnow() + dt.timedelta(minutes=10), tick=False):
        assert triggers.sweep_firings() == 1
    run_jobs()
    firing = TriggerFiring.get()
    assert firing.done_at is not None and firing.error == ""
    assert points_of(ada) == 12 and [s.name for s in segments_of(ada)] == ["Hot leads"]


def test_a_retroactive_trigger_is_applied_in_batches_by_background_jobs(wsgi, ctx, run_jobs):
    from core.queue import make_worker

    segment = hot_list()
    people = [contacts.create_contact({"email": f"p{i}@example.com"}) for i in range(23)]
    for index, person in enumerate(people):
        if index % 4 != 3:  # 18 of them above the threshold
            record_change(Change(person.id, 40 + index, "earlier", "manual"))
    run_jobs()
    trigger = PointTrigger.create(name="Hot", threshold=40, retroactive=True, actions=[
        {"action": "segment.add", "settings": {"segment_id": segment.id}}])
    triggers.start_retroactive(trigger, batch_size=5)
    queued = PointTrigger.get_by_id(trigger.id)
    assert (queued.retro_status, queued.retro_total, queued.retro_done) == ("queued", 18, 0)
    assert TriggerFiring.select().count() == 0  # nothing done in the request
    progress = []
    for _ in range(10):  # one batch job at a time, as a worker takes them
        make_worker(wsgi.runtime, ("low",), simple=True).work(burst=True, max_jobs=1, with_scheduler=False)
        row = PointTrigger.get_by_id(trigger.id)
        progress.append((row.retro_status, row.retro_done, TriggerFiring.select().count()))
        if row.retro_status == "done":
            break
    assert progress == [("running", 5, 5), ("running", 10, 10), ("running", 15, 15), ("running", 18, 18),
                        ("done", 18, 18)]
    assert Segment.get_by_id(segment.id).member_count == 0  # actions run by their own jobs
    run_jobs()
    done = PointTrigger.get_by_id(trigger.id)
    assert (done.retro_status, done.retro_batches, triggers.progress(done)) == ("done", 4, 100)
    assert TriggerFiring.select().where(TriggerFiring.done_at.is_null(False)).count() == 18
    assert Segment.get_by_id(segment.id).member_count == 18
    assert len(events_of("points_threshold_crossed")) == 18
    triggers.start_retroactive(trigger, batch_size=5)  # applied again: no one twice
    run_jobs()
    assert TriggerFiring.select().count() == 18 and len(events_of("points_threshold_crossed")) == 18


# --- decay -----------------------------------------------------------------------------------


def test_no_decay_by_default(ctx):
    from plugins.scoring.decay import run_decay

    ada = contacts.create_contact({"email": "ada@example.com"})
    record_change(Change(ada.id, 50, "a", "manual"))
    with time_machine.travel(utcnow() + dt.timedelta(days=400), tick=False):
        assert run_decay() == 0
    assert points_of(ada) == 50
    job = state().registries.periodic_jobs["scoring.decay"]
    assert (job.func, job.cron) == (run_decay, "20 3 * * *")


def test_percent_decay_after_a_month_without_interaction(ctx):
    from plugins.scoring.decay import run_decay

    ScoringSettings.create(id=1, decay_mode="percent", decay_percent=10, decay_period_days=30)
    start = utcnow()
    ada = contacts.create_contact({"email": "ada@example.com"})
    bob = contacts.create_contact({"email": "bob@example.com"})
    cyd = contacts.create_contact({"email": "cyd@example.com"})
    for person, points in ((ada, 55), (bob, 55), (cyd, 5)):
        record_change(Change(person.id, points, "engaged", "manual"))
    with time_machine.travel(start + dt.timedelta(days=20), tick=False):
        emit(bob, "page_visited", {"url": "https://ex.com"})
        assert run_decay() == 0
    with time_machine.travel(start + dt.timedelta(days=31), tick=False):
        assert run_decay(batch_size=2) == 1  # ada only: bob was active 11 days ago, cyd's 10% is < 1
        assert run_decay() == 0  # the same day again: nothing
    assert (points_of(ada), points_of(bob), points_of(cyd)) == (50, 55, 5)
    with time_machine.travel(start + dt.timedelta(days=62), tick=False):
        assert run_decay() == 2  # ada again after another month, bob now
    assert (points_of(ada), points_of(bob)) == (45, 50)
    decay = PointChange.select().where((PointChange.contact == ada.id) & (PointChange.source_type == "decay"))
    assert [(r.delta, r.total) for r in decay.order_by(PointChange.id)] == [(-5, 50), (-5, 45)]
    assert "10% after 30 days without interaction" in decay.first().reason
    assert_consistent(ada, bob, cyd)
    assert events_of("points_changed", ada)[-1]["source"] == "decay"


def test_points_expire_after_n_days(ctx):
    from plugins.scoring.decay import run_decay

    ScoringSettings.create(id=1, decay_mode="expire", expire_days=90)
    start = utcnow()
    ada = contacts.create_contact({"email": "ada@example.com"})
    record_change(Change(ada.id, 10, "old visit", "manual"))
    record_change(Change(ada.id, -3, "old bounce", "manual"))
    with time_machine.travel(start + dt.timedelta(days=60), tick=False):
        record_change(Change(ada.id, 20, "recent form", "manual"))
    with time_machine.travel(start + dt.timedelta(days=91), tick=False):
        assert run_decay() == 1
        assert run_decay() == 0
    assert points_of(ada) == 20
    row = PointChange.get(PointChange.source_type == "decay")
    assert (row.delta, row.total) == (-7, 20) and "older than 90 days" in row.reason
    with time_machine.travel(start + dt.timedelta(days=151), tick=False):
        assert run_decay() == 1
    assert points_of(ada) == 0
    assert_consistent(ada)


# --- tiers in segments -----------------------------------------------------------------------


def test_score_tiers_filter_dynamic_segments_and_follow_the_thresholds(ctx, run_jobs):
    from plugins.segments import rebuild

    people = {}
    for name, points in (("cold", 5), ("warm", 30), ("hot", 90)):
        people[name] = contacts.create_contact({"email": f"{name}@example.com"})
        record_change(Change(people[name].id, points, "x", "manual"))
    definition = {"match": "all", "groups": [{"match": "all", "conditions": [
        {"filter": "points_tier", "params": {"operator": "is", "value": "warm"}}]}]}
    segment = save_segment(None, name="Warm", kind="dynamic", definition=definition)
    run_jobs()
    assert emails_in(segment) == {"warm@example.com"}
    assert Segment.get_by_id(segment.id).member_count == 1
    ScoringSettings.create(id=1, warm_from=1, hot_from=95)
    rebuild(Segment.get_by_id(segment.id))
    assert emails_in(segment) == {"cold@example.com", "warm@example.com", "hot@example.com"}
    record_change(Change(people["hot"].id, 10, "x", "manual"))  # 100: hot now, the segment follows
    run_jobs()
    assert "hot@example.com" not in emails_in(segment)
    assert [s.name for s in segments_of(people["hot"])] == []
    not_hot = {"match": "all", "groups": [{"match": "all", "conditions": [
        {"filter": "points_tier", "params": {"operator": "is_not", "value": "hot"}}]}]}
    assert emails_in(save_segment(None, name="Not hot", kind="dynamic",
                                           definition=not_hot)) == {"cold@example.com",
                                                                                    "warm@example.com"}


def test_a_bad_tier_is_refused_by_the_segment_editor(ctx):
    from plugins.segments.editing import SegmentFormError

    with pytest.raises(SegmentFormError) as refused:
        save_segment(None, name="Lukewarm", kind="dynamic", definition={"match": "all", "groups": [
            {"match": "all", "conditions": [{"filter": "points_tier", "params": {"operator": "is", "value": "lukewarm"}}]}]})
    assert "Choose a score tier" in str(refused.value.args[0])
    assert Segment.select().count() == 0


# --- export and erasure ------------------------------------------------------------------------


def test_export_and_erasure_of_the_points_history(ctx):
    from plugins.scoring.privacy import erase, export_rows

    ada = contacts.create_contact({"email": "ada@example.com"})
    PointAction.create(name="Visited", delta=2, kind="page_visited")
    record_change(Change(ada.id, 4, "Called: says his wife is ill", "manual"))
    record_change(Change(ada.id, 6, "Webinar", "workflow"))
    exported = dict(pair for _, result in state().hooks.call("contact_export", contact=ada)
                    for pair in result.items())
    assert [(r["delta"], r["total"], r["reason"], r["source"]) for r in exported["Points history"]] == [
        (4, 4, "Called: says his wife is ill", "Manual edit"), (6, 10, "Webinar", "Workflow")]
    erase(ada, "pseudonymise")
    assert "wife" not in " ".join(r.reason for r in PointChange.select())
    assert points_of(ada) == 10 and ledger_sum(ada.id) == 10
    state().hooks.call("contact_erase", contact=Contact.get_by_id(ada.id), mode="delete")
    assert PointChange.select().count() == 0 and points_of(ada) == 0
    assert export_rows(ada) == {"Points history": []}
