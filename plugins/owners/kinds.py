"""The event kind of the owners plugin: ``owner_assigned``, emitted when a
contact gets an owner (a rule, round robin, a workflow, or another plugin such
as the Koban sync when the CRM names the owner)."""
from __future__ import annotations

from core import EventKind, translation_domain

_l = translation_domain(__name__).lazy_gettext


def owner_event_kinds() -> list[EventKind]:
    return [
        EventKind("owner_assigned", _l("Owner assigned"), verb=_l("get an owner"), past=_l("got an owner"),
                  negative_past=_l("did not get an owner"),
                  properties={"owner_id": "the user's id", "owner_email": "the user's email",
                              "rule": "why this owner (rule, round robin, CRM...)"},
                  changes=("owner_id",)),
    ]
