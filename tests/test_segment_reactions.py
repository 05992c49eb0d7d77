"""After a contact's event, only the dynamic segments that event's kind can
change are re-evaluated (SegmentFilter.changed_by), with the segments that
filter on them; filters that declare nothing are re-evaluated after any event."""
from __future__ import annotations

from core import emit
from core.contacts import add_tag, create_contact
from plugins.segments import Segment, SegmentMember
from plugins.segments.membership import segments_changed_by


def dynamic(name: str, *conditions) -> Segment:
    return Segment.create(name=name, kind="dynamic", filter={"match": "all", "groups": [
        {"match": "all", "conditions": [{"filter": f, "params": p} for f, p in conditions]}]})


def names(segments) -> list[str]:
    return [segment.name for segment in segments]


def test_each_kind_reaches_the_segments_it_can_change_and_their_dependents(ctx):
    tagged = dynamic("Tagged", ("tag", {"operator": "has", "value": "vip"}))
    dynamic("Tagged and named", ("segment", {"operator": "in_segment", "value": str(tagged.id)}),
            ("first_name", {"operator": "equals", "value": "Ann"}))
    dynamic("Pricing visitors", ("page_visited", {"operator": "had", "url": "*/pricing*"}))
    dynamic("Webinar", ("event", {"kind": "webinar_attended", "operator": "had"}))
    dynamic("Scored", ("points", {"operator": "gte", "value": "10"}))
    dynamic("Named", ("first_name", {"operator": "equals", "value": "Ann"}))
    dynamic("Recently active", ("last_interaction_at", {"operator": "within_last_days", "value": "7"}))
    dynamic("Unknown filter", ("someplugin.gone", {}))

    # any kind may change them (any interaction moves the last activity; a gone filter is not known)
    always = ["Recently active", "Unknown filter"]
    assert sorted(names(segments_changed_by("tag_added"))) == sorted(["Tagged", "Tagged and named"] + always)
    assert names(segments_changed_by("tag_added")).index("Tagged") < \
        names(segments_changed_by("tag_added")).index("Tagged and named")  # dependencies first
    assert sorted(names(segments_changed_by("page_visited"))) == sorted(["Pricing visitors"] + always)
    assert sorted(names(segments_changed_by("webinar_attended"))) == sorted(["Webinar"] + always)
    assert sorted(names(segments_changed_by("points_changed"))) == sorted(["Scored"] + always)  # changes=points
    assert sorted(names(segments_changed_by("email_sent"))) == sorted(always)


def test_a_filter_reading_a_column_follows_the_kinds_that_change_it(ctx):
    """Core's Owner filter names no kind: it reads ``owner_id``, and the owners
    plugin's ``owner_assigned`` declares it changes that column."""
    dynamic("Owned by 1", ("owner", {"operator": "is", "value": "1"}))
    dynamic("Tagged", ("tag", {"operator": "has", "value": "vip"}))

    assert names(segments_changed_by("owner_assigned")) == ["Owned by 1"]
    assert names(segments_changed_by("tag_added")) == ["Tagged"]
    assert names(segments_changed_by("email_sent")) == []
    assert names(segments_changed_by("no_such_kind")) == []


def test_a_contact_joins_an_owner_segment_when_the_owners_plugin_assigns_it(ctx, run_jobs):
    from core import auth
    from plugins.owners import assign_owner

    rep = auth.create_user("rep@example.com", "x" * 12, role="marketer")
    owned = dynamic("Owned by the rep", ("owner", {"operator": "is", "value": str(rep.id)}))
    ann = create_contact({"email": "ann@example.com"})
    run_jobs()  # no sales rep: Ann stays without owner
    assert not SegmentMember.select().where(SegmentMember.segment == owned.id).exists()
    assert assign_owner(ann, mode="user", user=rep.id).assigned
    run_jobs()
    assert [m.contact_id for m in SegmentMember.select().where(SegmentMember.segment == owned.id)] == [ann.id]


def test_a_contact_joins_a_points_segment_when_the_scoring_plugin_awards_points(ctx, run_jobs):
    """Core's Points filter reads ``points``; scoring's ``points_changed``
    says it changes that column: the award alone moves the contact in."""
    from plugins.scoring.ledger import Change, record_change

    scored = dynamic("Scored", ("points", {"operator": "gte", "value": "10"}))
    ann = create_contact({"email": "ann@example.com"})
    run_jobs()
    assert not SegmentMember.select().where(SegmentMember.segment == scored.id).exists()
    record_change(Change(contact_id=ann.id, delta=12, reason="webinar", source_type="manual"))
    run_jobs()
    assert [m.contact_id for m in SegmentMember.select().where(SegmentMember.segment == scored.id)] == [ann.id]


def test_a_contact_moves_through_dependent_segments_in_real_time(ctx, run_jobs):
    tagged = dynamic("Tagged", ("tag", {"operator": "has", "value": "vip"}))
    chain = dynamic("Tagged and named", ("segment", {"operator": "in_segment", "value": str(tagged.id)}),
                    ("first_name", {"operator": "equals", "value": "Ann"}))
    visitors = dynamic("Pricing visitors", ("page_visited", {"operator": "had", "url": "*/pricing*"}))
    ann = create_contact({"email": "ann@example.com", "first_name": "Ann"})
    run_jobs()

    def members(segment):
        return {m.contact_id for m in SegmentMember.select().where(SegmentMember.segment == segment.id)}

    assert (members(tagged), members(chain), members(visitors)) == (set(), set(), set())
    add_tag(ann, "vip")
    emit(ann, "email_sent", {"newsletter_id": 1})
    run_jobs()
    assert members(tagged) == members(chain) == {ann.id} and members(visitors) == set()
    emit(ann, "page_visited", {"url": "https://ex.com/pricing"})
    run_jobs()
    assert members(visitors) == {ann.id}
