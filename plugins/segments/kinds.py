"""Event kinds of segment membership (the segments plugin)."""
from __future__ import annotations

from core import EventKind, Setting, translation_domain

_l = translation_domain(__name__).lazy_gettext

SEGMENT = {"segment_id": _l("the segment's id"), "segment_name": _l("its name"), "via": _l("what moved the contact")}
#: "@segments" is expanded by the settings forms into the list of segments
SEGMENT_CHOICE = Setting("segment_id", _l("Segment"), kind="choice", required=True, choices=[("@segments", "")])


def segment_population(settings: dict):
    """The chosen segment's members (a query of contact ids), or None when none is chosen."""
    from .models import SegmentMember

    segment_id = str(settings.get("segment_id") or "")
    if not segment_id.isdigit():
        return None
    return SegmentMember.select(SegmentMember.contact).where(SegmentMember.segment == int(segment_id))


def segment_event_kinds() -> list[EventKind]:
    return [
        EventKind("segment_joined", _l("Joined a segment"), verb=_l("join a segment"), past=_l("joined a segment"),
                  negative_past=_l("did not join a segment"),
                  properties=SEGMENT, can_trigger=True, trigger_settings=[SEGMENT_CHOICE],
                  trigger_population=segment_population),
        EventKind("segment_left", _l("Left a segment"), verb=_l("leave a segment"), past=_l("left a segment"),
                  negative_past=_l("did not leave a segment"),
                  properties=SEGMENT),
    ]
