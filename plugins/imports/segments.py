"""The imports' only contact with static segments (lists), reached through
core's audience registry (the ``"segment"`` source the segments plugin
registers, see ``core.AudienceSource``). When no active plugin provides it,
imports still work: the segment id is kept on the job and the summary says it
was not applied (running the same import again applies it, since re-running
is idempotent).

- :func:`add_members` — add contacts to a static list (current members
  skipped, ``segment_joined`` emitted for the new ones by the segments plugin);
- :func:`static_segments` — the lists contacts can be added to;
- :func:`check` — a segment id checked before the import starts;
- :func:`member_ids` — a query of member contact ids (export).
"""
from __future__ import annotations

from core import AudienceUnavailable, add_to_audience, audience_contact_ids, audience_group, audience_groups
from core import audience_source, translation_domain

_ = translation_domain(__name__).gettext
#: the audience source of the lists imports add contacts to
AUDIENCE = "segment"


class SegmentsUnavailable(RuntimeError):
    """No active plugin provides segments (or this segment does not exist)."""


def can_add() -> bool:
    source = audience_source(AUDIENCE)
    return source is not None and source.add_contacts is not None


def static_segments() -> list[tuple[int, str]]:
    """``[(id, name)]`` of the lists an import can add contacts to."""
    return [(group.id, group.name) for group in audience_groups(AUDIENCE) if group.open]


def check(segment_id: int) -> str | None:
    """Why contacts cannot be added to this segment, or None when they can."""
    if not can_add():
        return _("Segments are not available on this site.")
    segment = audience_group(AUDIENCE, segment_id)
    if segment is None:
        return _("There is no segment #%(id)s.", id=segment_id)
    if not segment.open:
        return _("“%(name)s” is a dynamic segment: its members come from its filter.", name=segment.name)
    return None


def add_members(segment_id: int, contact_ids: list[int]) -> bool:
    """Add contacts to a static segment; False when segments are unavailable."""
    try:
        add_to_audience(AUDIENCE, segment_id, contact_ids, "import")
    except AudienceUnavailable:
        return False
    return True


def member_ids(segment_id: int):
    """A query of the contact ids in a segment; :class:`SegmentsUnavailable`
    when segments are not active or the segment does not exist."""
    if audience_source(AUDIENCE) is None:
        raise SegmentsUnavailable(_("Segments are not available on this site."))
    if audience_group(AUDIENCE, segment_id) is None:
        raise SegmentsUnavailable(_("There is no segment #%(id)s.", id=segment_id))
    return audience_contact_ids(AUDIENCE, [segment_id])
