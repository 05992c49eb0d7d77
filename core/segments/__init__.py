"""Segments (lists): static lists filled by hand, import, API or actions, and
dynamic segments defined by a filter and kept current as contacts change.

Public API::

    from core.segments import add_to_segment, rebuild, refresh_contact

    add_to_segment(contact, segment, source="manual")   # static lists
    remove_from_segment(contact, segment, source="manual")
    add_contacts_to_segment(segment, contact_ids, source="import")
    segments_of(contact)            # [Segment]
    rebuild(segment)                # set-based, emits segment_joined/left
    refresh_contact(contact)        # re-evaluate one contact, no scan
    compile_segment(segment)        # peewee query of the member contact ids

See docs/segments.md.
"""
from .compiler import DefinitionError, compile_definition, compile_segment, normalize_definition, validate_definition
from .operators import SegmentFilterError
from .membership import (
    SegmentError,
    add_contacts_to_segment,
    add_to_segment,
    get_segment,
    rebuild,
    refresh_contact,
    remove_from_segment,
    request_rebuild,
    segment_members,
    segments_of,
    static_segments,
)
from .models import Segment, SegmentMember
from .words import describe_definition

__all__ = [
    "DefinitionError", "Segment", "SegmentError", "SegmentFilterError", "SegmentMember",
    "add_contacts_to_segment", "add_to_segment", "compile_definition", "compile_segment",
    "describe_definition", "get_segment", "normalize_definition", "rebuild", "refresh_contact",
    "remove_from_segment", "request_rebuild", "segment_members", "segments_of", "static_segments",
    "validate_definition",
]
