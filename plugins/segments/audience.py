"""Segments as the ``"segment"`` audience source (see ``core.AudienceSource``):
newsletters, smart content and workflows reach segments only through it."""
from __future__ import annotations

from flask import has_request_context, url_for

from core import AudienceGroup, AudienceSource, translation_domain
from . import membership
from .models import Segment, SegmentMember

SOURCE = "segment"
_l = translation_domain(__name__).lazy_gettext


def group_of(segment: Segment) -> AudienceGroup:
    url = url_for("segments.show", segment_id=segment.id) if has_request_context() else ""
    return AudienceGroup(segment.id, segment.name, segment.member_count, tuple(segment.tags or ()),
                         open=not segment.is_dynamic, url=url)


def groups() -> list[AudienceGroup]:
    """Every segment, by name."""
    return [group_of(segment) for segment in Segment.select().order_by(Segment.name, Segment.id)]


def contact_ids(ids: list[int]):
    return SegmentMember.select(SegmentMember.contact).where(SegmentMember.segment.in_(ids))


def memberships():
    return SegmentMember.select(SegmentMember.contact, SegmentMember.segment)


def add_contacts(group_id: int, ids: list[int], origin: str) -> int:
    """Add contacts to a static list (``SegmentError``, a ``ValueError``, for
    an unknown or dynamic segment)."""
    return membership.add_contacts_to_segment(group_id, ids, source=origin)


def define(name: str, definition: dict, description: str = "", tags=()) -> AudienceGroup:
    """The dynamic segment ``name`` (created with ``definition`` the first
    time), rebuilt now."""
    segment = Segment.get_or_none((Segment.name == name) & (Segment.kind == "dynamic"))
    if segment is None:
        segment = Segment.create(name=name, kind="dynamic", filter=definition, tags=list(tags),
                                 description=description)
    membership.rebuild(segment)
    return group_of(Segment.get_by_id(segment.id))


def audience_source() -> AudienceSource:
    return AudienceSource(SOURCE, _l("Segments"), groups=groups, contact_ids=contact_ids, memberships=memberships,
                          add_contacts=add_contacts, define=define)
