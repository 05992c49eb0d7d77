"""The event kinds of the kernel itself (registered by ``core.builtin``):
what happens to a contact record, and the generic named event that the
tracking script and the inbound-event API both carry."""
from __future__ import annotations

from .event_kinds import EventKind
from .extension import Setting

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
        EventKind("contact_created", "Contact created", verb="be created", past="was created",
                  properties={"source": "admin, api, import, form..."}, can_trigger=True,
                  description="Every new contact: form, import, API or by hand."),
        EventKind("contact_updated", "Contact updated", verb="be updated", past="was updated",
                  properties={"changes": "field key -> [old, new]", "source": "who changed it"}),
        EventKind("tag_added", "Tag added", verb="get a tag", past="got a tag", properties=TAG,
                  can_trigger=True, trigger_settings=[Setting("tag", "Tag (empty: any tag)")],
                  trigger_population=tag_population),
        EventKind("tag_removed", "Tag removed", verb="lose a tag", past="lost a tag", properties=TAG,
                  can_trigger=True, trigger_settings=[Setting("tag", "Tag (empty: any tag)")]),
        EventKind("custom_event", "Tracked event", verb="do the tracked event", past="did a tracked event",
                  interaction=True, can_trigger=True, segment_condition=True,
                  properties={"name": "the event's name, e.g. cart_abandoned", "properties": "its details",
                              "url": "the page it happened on (tracking)"},
                  trigger_settings=[Setting("name", "Event name", required=True, help="e.g. cart_abandoned")],
                  description="Sent by the tracking script: couvee('track', name)."),
    ]
