"""The imports' only contact with static segments (lists), which live in
``core.segments``. That package is imported lazily and treated as optional:
when it is missing (or lacks a function), imports still work, the segment id
is kept on the job and the summary says it was not applied (running the same
import again applies it, since re-running is idempotent).

This is the one place the plugin reads past core's public surface: segments
were core's own package when imports moved out (issue 18). When segments
become a plugin, lists will be reached through a core registry instead; until
then the lazy, optional import keeps imports working with or without them.

Functions used from ``core.segments``:

- ``add_contacts_to_segment(segment, contact_ids, source="import")`` — add
  contacts to a static list (current members skipped, ``segment_joined``
  emitted for the new ones);
- ``static_segments()`` — the lists contacts can be added to;
- ``get_segment(id)`` — to check a segment id before the import starts;
- ``segment_members(segment)`` — a query of member contact ids (export).
"""
from __future__ import annotations

import importlib

from core import translation_domain

_ = translation_domain(__name__).gettext


class SegmentsUnavailable(RuntimeError):
    """``core.segments`` (or the function needed) is not there."""


def _function(name: str):
    try:
        module = importlib.import_module("core.segments")
    except ImportError:
        return None
    return getattr(module, name, None)


def can_add() -> bool:
    return _function("add_contacts_to_segment") is not None


def static_segments() -> list[tuple[int, str]]:
    """``[(id, name)]`` of the lists an import can add contacts to."""
    function = _function("static_segments")
    return [(segment.id, segment.name) for segment in function()] if function else []


def check(segment_id: int) -> str | None:
    """Why contacts cannot be added to this segment, or None when they can."""
    if not can_add():
        return _("Segments are not available on this site.")
    get_segment = _function("get_segment")
    try:
        segment = get_segment(segment_id) if get_segment else None
    except Exception as error:  # core.segments.SegmentError: unknown id
        return str(error)
    if segment is not None and getattr(segment, "is_dynamic", False):
        return _("“%(name)s” is a dynamic segment: its members come from its filter.", name=segment.name)
    return None


def add_members(segment_id: int, contact_ids: list[int]) -> bool:
    """Add contacts to a static segment; False when segments are unavailable."""
    function = _function("add_contacts_to_segment")
    if function is None:
        return False
    function(segment_id, contact_ids, source="import")
    return True


def member_ids(segment_id: int):
    """A query of the contact ids in a segment; :class:`SegmentsUnavailable`
    when segments are not installed or the segment does not exist."""
    function = _function("segment_members")
    if function is None:
        raise SegmentsUnavailable(_("Segments are not available on this site."))
    get_segment = _function("get_segment")
    if get_segment is not None:
        try:
            get_segment(segment_id)
        except Exception as error:
            raise SegmentsUnavailable(str(error)) from None
    return function(segment_id)
