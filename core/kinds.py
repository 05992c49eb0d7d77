"""The event kinds of the kernel itself (registered by ``core.builtin``):
what happens to a contact record, and the generic named event that the
tracking script and the inbound-event API both carry."""
from __future__ import annotations

from .event_details import contact_creation_details, contact_update_details, tag_details, tracked_event_details
from .event_kinds import EventKind
from .extension import Setting
from .i18n import core_domain

_l = core_domain().lazy_gettext

TAG = {"tag": "the tag's name"}


def tag_population(settings: dict):
    """The contacts that have the trigger's tag now, or None for "any tag" or a pattern."""
    from peewee import fn

    from .models import ContactTag, Tag

    tag = str(settings.get("tag") or "").strip().lower()
    if not tag or any(c in tag for c in "*?["):
        return None
    return ContactTag.select(ContactTag.contact).join(Tag).where(fn.LOWER(Tag.name) == tag)


def core_event_kinds() -> list[EventKind]:
    return [
        EventKind("contact_created", _l("Contact created"), verb=_l("be created"), past=_l("was created"),
                  negative_past=_l("was not created"),
                  properties={"source": "admin, api, import, form..."}, can_trigger=True,
                  description=_l("Every new contact: form, import, API or by hand."),
                  details=contact_creation_details),
        EventKind("contact_updated", _l("Contact updated"), verb=_l("be updated"), past=_l("was updated"),
                  negative_past=_l("was not updated"),
                  properties={"changes": "field key -> [old, new]", "source": "who changed it"},
                  details=contact_update_details),
        EventKind("tag_added", _l("Tag added"), verb=_l("get a tag"), past=_l("got a tag"),
                  negative_past=_l("did not get a tag"), properties=TAG,
                  can_trigger=True, trigger_settings=[Setting("tag", _l("Tag (empty: any tag)"))],
                  trigger_population=tag_population, details=tag_details),
        EventKind("tag_removed", _l("Tag removed"), verb=_l("lose a tag"), past=_l("lost a tag"),
                  negative_past=_l("did not lose a tag"), properties=TAG,
                  can_trigger=True, trigger_settings=[Setting("tag", _l("Tag (empty: any tag)"))],
                  details=tag_details),
        EventKind("custom_event", _l("Tracked event"), verb=_l("do the tracked event"),
                  past=_l("did a tracked event"), negative_past=_l("did not do the tracked event"),
                  interaction=True, can_trigger=True, segment_condition=True,
                  properties={"name": "the event's name, e.g. cart_abandoned", "properties": "its details",
                              "url": "the page it happened on (tracking)"},
                  trigger_settings=[Setting("name", _l("Event name"), required=True, help=_l("e.g. cart_abandoned"))],
                  description=_l("Sent by the tracking script: couvee('track', name)."),
                  details=tracked_event_details),
    ]
