"""Event kinds of contact ownership (``core_owners``)."""
from __future__ import annotations

from ..event_kinds import EventKind


def owner_event_kinds() -> list[EventKind]:
    return [
        EventKind("owner_assigned", "Owner assigned", verb="get an owner", past="got an owner",
                  properties={"owner_id": "the user's id", "owner_email": "the user's email",
                              "rule": "why this owner (rule, round robin, CRM...)"}),
    ]
