"""Materialised membership: who is in which segment, kept in ``SegmentMember``.

- Static lists change by hand, import, API or action (:func:`add_to_segment`,
  :func:`remove_from_segment`, :func:`add_contacts_to_segment`).
- Dynamic segments are rebuilt set-based (:func:`rebuild`: the compiled query
  runs once into a temporary table, then INSERT ... SELECT of the joiners and
  DELETE of the leavers, in the database) and re-evaluated for one contact
  when it changes (:func:`refresh_contact`: each segment's condition AND
  ``contact.id = ?``, a few index lookups).

Every change emits ``segment_joined`` / ``segment_left`` with
``{"segment_id", "segment", "via"}``; ``via`` is the source of a manual change,
``filter`` for a change found by :func:`refresh_contact` and ``rebuild`` for
one found by :func:`rebuild`.
"""
from __future__ import annotations

import contextlib
import logging

from flask import current_app
from peewee import SQL, Value, fn

from core import (Contact, Event, columns_changed_by, db_proxy, dispatch_many, emit, enqueue, translation_domain, utcnow,
                  write_transaction)
from .compiler import DefinitionError, compile_segment, segment_condition
from .dependencies import conditions_of, dependents_of, evaluation_order, uses_relative_dates
from .filters import segment_filters
from .models import SOURCES, Segment, SegmentCandidate, SegmentMember

log = logging.getLogger("couvee.segments")

JOINED, LEFT = "segment_joined", "segment_left"
EVENT_SOURCE = "segments"
BATCH = 500
_ = translation_domain(__name__).gettext


class SegmentError(ValueError):
    """A membership change that cannot be made; the message is for the user."""


# --- lookups ----------------------------------------------------------------------


def get_segment(segment) -> Segment:
    """A :class:`Segment` from a segment or its id (SegmentError if unknown)."""
    if isinstance(segment, Segment):
        return segment
    found = Segment.get_or_none(Segment.id == int(segment))
    if found is None:
        raise SegmentError(_("There is no segment #%(id)s.", id=segment))
    return found


def _contact(contact) -> Contact:
    if isinstance(contact, Contact):
        return contact
    found = Contact.get_or_none(Contact.id == int(contact))
    if found is None:
        raise SegmentError(_("There is no contact #%(id)s.", id=contact))
    return found


def segments_of(contact) -> list[Segment]:
    """The segments ``contact`` (a Contact or id) belongs to, by name."""
    contact_id = contact.id if isinstance(contact, Contact) else int(contact)
    return list(
        Segment.select().join(SegmentMember)
        .where(SegmentMember.contact == contact_id).order_by(Segment.name, Segment.id)
    )


def static_segments() -> list[Segment]:
    """Static lists (what imports, actions and the contact page can add to)."""
    return list(Segment.select().where(Segment.kind == "static").order_by(Segment.name, Segment.id))


def segment_members(segment):
    """A query of the member contact ids of ``segment`` (a Segment or id)."""
    segment_id = segment.id if isinstance(segment, Segment) else int(segment)
    return SegmentMember.select(SegmentMember.contact).where(SegmentMember.segment == segment_id)


def _event_data(segment: Segment, via: str) -> dict:
    return {"segment_id": segment.id, "segment": segment.name, "via": via}


def _adjust_count(segment: Segment, delta: int) -> None:
    Segment.update(member_count=Segment.member_count + delta).where(Segment.id == segment.id).execute()


# --- one contact ------------------------------------------------------------------


def _join(contact: Contact, segment: Segment, source: str, via: str) -> bool:
    cursor = db_proxy.execute(
        SegmentMember.insert(segment=segment.id, contact=contact.id, source=source).on_conflict_ignore()
    )
    if not cursor.rowcount:
        return False
    _adjust_count(segment, +1)
    emit(contact, JOINED, _event_data(segment, via), source=EVENT_SOURCE)
    return True


def _leave(contact: Contact, segment: Segment, via: str) -> bool:
    removed = SegmentMember.delete().where(
        (SegmentMember.segment == segment.id) & (SegmentMember.contact == contact.id)
    ).execute()
    if not removed:
        return False
    _adjust_count(segment, -1)
    emit(contact, LEFT, _event_data(segment, via), source=EVENT_SOURCE)
    return True


def _static(segment) -> Segment:
    segment = get_segment(segment)
    if segment.is_dynamic:
        raise SegmentError(
            _("“%(name)s” is a dynamic segment: its members come from its filter, not from manual changes.",
              name=segment.name)
        )
    return segment


def _source(source: str) -> str:
    if source not in SOURCES:
        raise SegmentError(f"Unknown source {source!r}; use one of {', '.join(SOURCES)}.")
    return source


def add_to_segment(contact, segment, source: str = "manual") -> bool:
    """Add ``contact`` to the static list ``segment`` (objects or ids).

    Returns False when it was already a member. Emits ``segment_joined``.
    """
    segment, source = _static(segment), _source(source)
    contact = _contact(contact)
    with write_transaction():
        return _join(contact, segment, source, via=source)


def remove_from_segment(contact, segment, source: str = "manual") -> bool:
    """Remove ``contact`` from the static list ``segment``; False if it was
    not a member. Emits ``segment_left``."""
    segment, source = _static(segment), _source(source)
    contact = _contact(contact)
    with write_transaction():
        return _leave(contact, segment, via=source)


def add_contacts_to_segment(segment, contact_ids, source: str = "import") -> int:
    """Add many contacts (ids) to a static list in batches; unknown ids and
    current members are skipped. Returns how many joined; one
    ``segment_joined`` each, dispatched in batches."""
    segment, source = _static(segment), _source(source)
    ids = list(dict.fromkeys(int(i) for i in contact_ids))
    added = 0
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        stamp = utcnow()
        with write_transaction():  # the evaluation reads under the write lock
            known = {c.id for c in Contact.select(Contact.id).where(Contact.id.in_(chunk))}
            present = {m.contact_id for m in segment_members(segment).where(SegmentMember.contact.in_(chunk))}
            new = [i for i in chunk if i in known and i not in present]
            if not new:
                continue
            before = Event.select(fn.MAX(Event.id)).scalar() or 0
            SegmentMember.insert_many(
                [{"segment": segment.id, "contact": i, "source": source, "added_at": stamp} for i in new]
            ).on_conflict_ignore().returning().execute()
            Event.insert_many(
                [{"contact": i, "kind": JOINED, "data": _event_data(segment, source), "source": EVENT_SOURCE,
                  "created_at": stamp} for i in new]
            ).returning().execute()
            _adjust_count(segment, len(new))
        added += len(new)
        _queue_dispatch(before, stamp)
    return added


# --- rebuilding ---------------------------------------------------------------------


def _queue_dispatch(after_id: int, stamp) -> int:
    """Queue the dispatch of the membership events written at ``stamp`` (ids
    above ``after_id``), one job per batch. Returns the number of events."""
    last, total = after_id, 0
    while True:
        ids = [row.id for row in Event.select(Event.id).where(
            (Event.id > last) & (Event.created_at == stamp) & (Event.source == EVENT_SOURCE)
            & Event.kind.in_((JOINED, LEFT))
        ).order_by(Event.id).limit(BATCH)]
        if not ids:
            return total
        try:
            dispatch_many(ids)  # one drain signal for them all
        except Exception:  # Redis away: the periodic sweep dispatches them later
            log.exception("could not queue the dispatch of %d segment events", len(ids))
        last, total = ids[-1], total + len(ids)



@contextlib.contextmanager
def _rebuild_lock(segment_id: int):
    redis = current_app.extensions["couvee"].redis
    with redis.lock(f"couvee:segments:rebuild:{segment_id}", timeout=3600, blocking_timeout=3600):
        yield


def rebuild(segment, cascade: bool = True) -> dict:
    """Recompute the members of a dynamic segment from its filter, set-based.

    Emits ``segment_joined`` / ``segment_left`` for the changes, stores the
    count and ``last_rebuilt_at``, then rebuilds the segments that filter on
    this one (``cascade``). A static list is only recounted. Returns
    ``{"joined", "left", "members"}``; raises :class:`DefinitionError` when the
    filter cannot be compiled (the message is kept in ``rebuild_error``).
    """
    segment = get_segment(segment)
    if not segment.is_dynamic:
        members = segment_members(segment).count()
        Segment.update(member_count=members, last_rebuilt_at=utcnow(), rebuild_error="").where(
            Segment.id == segment.id).execute()
        return {"joined": 0, "left": 0, "members": members}
    try:
        query = compile_segment(segment)
    except DefinitionError as error:
        Segment.update(rebuild_error=str(error)).where(Segment.id == segment.id).execute()
        raise
    with _rebuild_lock(segment.id):
        result = _apply(segment, query)
    if cascade:
        for dependent in dependents_of([segment.id]):
            try:
                rebuild(dependent, cascade=False)
            except DefinitionError as error:
                log.warning("segment %s could not be rebuilt: %s", dependent.id, error)
    return result


def _apply(segment: Segment, query) -> dict:
    stamp = utcnow()
    when = Value(stamp, converter=Event.created_at.db_value)
    kind_fields = [Event.contact, Event.kind, Event.data, Event.source, Event.created_at]
    data = Value(_event_data(segment, "rebuild"), converter=Event.data.db_value)
    candidates = SegmentCandidate.select(SQL("1")).where(SegmentCandidate.contact_id == SegmentMember.contact)
    is_member = SegmentMember.select(SQL("1")).where(
        (SegmentMember.segment == segment.id) & (SegmentMember.contact == SegmentCandidate.contact_id))
    mine = SegmentMember.segment == segment.id
    with write_transaction():  # the evaluation reads under the write lock
        SegmentCandidate.create_table(safe=True)
        SegmentCandidate.delete().execute()
        SegmentCandidate.insert_from(query, [SegmentCandidate.contact_id]).returning().execute()
        before = Event.select(fn.MAX(Event.id)).scalar() or 0
        leaving = SegmentMember.select(SegmentMember.contact, Value(LEFT), data, Value(EVENT_SOURCE), when) \
            .where(mine & ~fn.EXISTS(candidates))
        Event.insert_from(leaving, kind_fields).returning().execute()
        left = SegmentMember.delete().where(mine & ~fn.EXISTS(candidates)).execute()
        joining = SegmentCandidate.select(SegmentCandidate.contact_id).where(~fn.EXISTS(is_member))
        joined = joining.count()
        Event.insert_from(
            joining.select(SegmentCandidate.contact_id, Value(JOINED), data, Value(EVENT_SOURCE), when), kind_fields
        ).returning().execute()
        SegmentMember.insert_from(
            joining.select(SegmentCandidate.contact_id, Value(segment.id), when, Value("filter")),
            [SegmentMember.contact, SegmentMember.segment, SegmentMember.added_at, SegmentMember.source],
        ).returning().execute()
        members = SegmentCandidate.select().count()
        SegmentCandidate.drop_table(safe=True)
        Segment.update(member_count=members, last_rebuilt_at=stamp, rebuild_error="").where(
            Segment.id == segment.id).execute()
    _queue_dispatch(before, stamp)
    return {"joined": joined, "left": left, "members": members}


def request_rebuild(segment) -> bool:
    """Queue a rebuild (the admin's "Rebuild now"); False when one is already
    waiting for this segment."""
    segment = get_segment(segment)
    redis = current_app.extensions["couvee"].redis
    if not redis.set(f"couvee:segments:rebuild-queued:{segment.id}", "1", nx=True, ex=3600):
        return False
    enqueue(rebuild_job, segment.id, queue="default", timeout=3600)
    return True


def rebuild_job(segment_id: int) -> dict | str:
    """Job: rebuild one segment (and those filtering on it)."""
    current_app.extensions["couvee"].redis.delete(f"couvee:segments:rebuild-queued:{segment_id}")
    segment = Segment.get_or_none(Segment.id == segment_id)
    if segment is None:
        return "deleted"
    try:
        return rebuild(segment)
    except DefinitionError as error:
        log.warning("segment %s could not be rebuilt: %s", segment_id, error)
        return f"failed: {error}"


def rebuild_time_relative() -> int:
    """Periodic job (hourly): rebuild the dynamic segments whose conditions
    move with the clock (``in the last 30 days``...) and those filtering on
    them. Returns how many were rebuilt."""
    dynamic = list(Segment.select().where(Segment.kind == "dynamic"))
    relative = {s.id for s in dynamic if uses_relative_dates(s.filter)}
    wanted = relative | {s.id for s in dependents_of(relative)}
    done = 0
    for segment in evaluation_order([s for s in dynamic if s.id in wanted]):
        try:
            rebuild(segment, cascade=False)
            done += 1
        except DefinitionError as error:
            log.warning("segment %s could not be rebuilt: %s", segment.id, error)
    return done


def recount_all() -> None:
    """Exact member counts for every segment (after contacts were deleted)."""
    count = SegmentMember.select(fn.COUNT(SQL("*"))).where(SegmentMember.segment == Segment.id)
    Segment.update(member_count=count).execute()


# --- re-evaluating one contact --------------------------------------------------------


def matches(segment: Segment, contact_id: int) -> bool:
    """Is the contact in ``segment`` by its condition? One query restricted to
    that contact's id (no scan of the contacts)."""
    return Contact.select(Contact.id).where((Contact.id == contact_id) & segment_condition(segment)).exists()


def dynamic_segments() -> list[Segment]:
    """Every dynamic segment (what a contact's refresh re-evaluates)."""
    return list(Segment.select().where(Segment.kind == "dynamic"))


def segments_changed_by(kind: str) -> list[Segment]:
    """The dynamic segments an event of ``kind`` may move a contact in or out
    of: those with a condition whose filter declares ``kind`` in its
    ``changed_by`` (or declares nothing: any kind) or ``reads`` a contact
    column the kind ``changes``, those whose filter is not
    registered (its plugin is off; the refresh skips them, as a rebuild does),
    then every segment filtering on those, in evaluation order."""
    registered = segment_filters()
    columns = columns_changed_by(kind)
    dynamic = dynamic_segments()
    changed = {segment.id for segment in dynamic if _changed_by(segment, kind, columns, registered)}
    if not changed:
        return []
    wanted = changed | {segment.id for segment in dependents_of(changed, dynamic)}
    return evaluation_order([segment for segment in dynamic if segment.id in wanted])


def _changed_by(segment: Segment, kind: str, columns: frozenset[str], registered) -> bool:
    for _, condition in conditions_of(segment.filter):
        segment_filter = registered.get(condition.get("filter") or "")
        if segment_filter is None:
            return True
        if segment_filter.changed_by_event(kind, columns, condition.get("params") or {}):
            return True
    return False


def refresh_contact(contact, segments: list[Segment] | None = None) -> dict:
    """Re-evaluate the dynamic segments (all, or ``segments``) for one contact
    and add or remove its membership, emitting ``segment_joined`` /
    ``segment_left``. Segments filtering on other segments are evaluated after
    them. A segment whose filter cannot be compiled is skipped (its members are
    kept). Returns ``{"joined": [ids], "left": [ids]}``.
    """
    result = {"joined": [], "left": []}
    if segments is None:
        segments = dynamic_segments()
    segments = [s for s in segments if s.is_dynamic]
    if not segments:
        return result
    contact = Contact.get_or_none(Contact.id == (contact.id if isinstance(contact, Contact) else int(contact)))
    if contact is None:
        return result
    current = {m.segment_id for m in SegmentMember.select(SegmentMember.segment).where(
        (SegmentMember.contact == contact.id) & SegmentMember.segment.in_([s.id for s in segments]))}
    for segment in evaluation_order(segments):
        try:
            inside = matches(segment, contact.id)
        except DefinitionError as error:
            log.warning("segment %s skipped for contact %s: %s", segment.id, contact.id, error)
            continue
        with write_transaction():
            if inside and segment.id not in current and _join(contact, segment, "filter", via="filter"):
                result["joined"].append(segment.id)
            elif not inside and segment.id in current and _leave(contact, segment, via="filter"):
                result["left"].append(segment.id)
    return result
