"""Event kinds of segment membership (``core_segments``)."""
from __future__ import annotations

from ..event_kinds import EventKind
from ..extension import Setting

SEGMENT = {"segment_id": "the segment's id", "segment_name": "its name", "via": "what moved the contact"}
#: "@segments" is expanded by the settings forms into the list of segments
SEGMENT_CHOICE = Setting("segment_id", "Segment", kind="choice", required=True, choices=[("@segments", "")])


def segment_population(settings: dict):
    """The chosen segment's members (a query of contact ids), or None when none is chosen."""
    from .models import SegmentMember

    segment_id = str(settings.get("segment_id") or "")
    if not segment_id.isdigit():
        return None
    return SegmentMember.select(SegmentMember.contact).where(SegmentMember.segment == int(segment_id))


def segment_event_kinds() -> list[EventKind]:
    return [
        EventKind("segment_joined", "Joined a segment", verb="join a segment", past="joined a segment",
                  properties=SEGMENT, can_trigger=True, trigger_settings=[SEGMENT_CHOICE],
                  trigger_population=segment_population),
        EventKind("segment_left", "Left a segment", verb="leave a segment", past="left a segment",
                  properties=SEGMENT),
    ]
