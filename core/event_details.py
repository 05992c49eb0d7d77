"""How the contact's history shows what an event carried: ``(label, text)``
pairs in the reader's language instead of the raw data, e.g. a
``contact_updated`` event as ``Last name: — → Leclerc`` rather than
``changes: {'last_name': ['', 'Leclerc']}``.

A kind registered with ``details`` words its own data (a plugin turns a
``form_id`` into the form's name); the others get each key humanised with its
value written out plainly (lists joined, nested values as ``key: value``).
"""
from __future__ import annotations

import logging

from .event_kinds import event_kinds
from .contacts import native_fields
from .i18n import core_domain
from .state import state

_, _l = core_domain().pair()
log = logging.getLogger("couvee.events")

#: the contact's own fields, as the admin names them
NATIVE_FIELD_LABELS = {**native_fields(), "language": _l("Language")}

#: where a change came from, for the sources core itself records (plugins
#: word theirs with ``contact_change_sources``)
SOURCE_LABELS = {"admin": _l("by hand in the admin"), "api": _l("REST API"), "merge": _l("merge")}

EMPTY = "—"


def event_details(kind: str, data) -> list[tuple[str, str]]:
    """What the history shows of an event of ``kind`` with ``data``."""
    data = data if isinstance(data, dict) else {}
    registered = event_kinds().get(kind)
    if registered is not None and registered.details is not None:
        try:
            return [(str(label), str(text)) for label, text in registered.details(data)]
        except Exception:  # a plugin's wording must not take the contact page down
            log.exception("details of a %s event could not be worded; showing its raw data", kind)
    return generic_details(data)


def generic_details(data: dict) -> list[tuple[str, str]]:
    """Each non-empty key of ``data``, humanised, with its value in plain text."""
    return [(humanise(key), plain_text(value)) for key, value in data.items() if not _blank(value)]


def humanise(key: str) -> str:
    text = str(key).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def plain_text(value) -> str:
    """A value as a reader wants it: lists joined, nested data as ``key: value``."""
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, dict):
        return "; ".join(f"{humanise(k)}: {plain_text(v)}" for k, v in value.items() if not _blank(v))
    if isinstance(value, (list, tuple)):
        return ", ".join(plain_text(item) for item in value if not _blank(item))
    return EMPTY if _blank(value) else str(value)


def _blank(value) -> bool:
    return value is None or value == "" or value == [] or value == {}


def source_label(source) -> str:
    """``admin`` → ``by hand in the admin``, a plugin's source in its words
    (``contact_change_sources``); a source nobody words is shown as recorded."""
    key = str(source or "")
    label = SOURCE_LABELS.get(key)
    if label is None:
        for _plugin, labels in state().hooks.call("contact_change_sources"):
            if isinstance(labels, dict) and key in labels:
                label = labels[key]
                break
    return str(label) if label is not None else key


def field_label(key: str) -> str:
    """The label of a contact field (native or custom, archived included)."""
    from .models import CustomField

    if key in NATIVE_FIELD_LABELS:
        return str(NATIVE_FIELD_LABELS[key])
    field = CustomField.get_or_none(CustomField.key == key)
    return field.label if field is not None else humanise(key)


def change_text(old, new) -> str:
    """``Dupont → Leclerc`` (``—`` for an empty side)."""
    return f"{plain_text(old)} → {plain_text(new)}"


def contact_update_details(data: dict) -> list[tuple[str, str]]:
    """``contact_updated``: one line per changed field, then who changed it."""
    lines = []
    changes = data.get("changes") if isinstance(data.get("changes"), dict) else {}
    for key, change in changes.items():
        old, new = change if isinstance(change, (list, tuple)) and len(change) == 2 else (None, change)
        lines.append((field_label(key), change_text(old, new)))
    if not _blank(data.get("source")):
        lines.append((str(_("Source")), source_label(data["source"])))
    return lines


def contact_creation_details(data: dict) -> list[tuple[str, str]]:
    """``contact_created``: where the contact came from."""
    return [(str(_("Source")), source_label(data["source"]))] if not _blank(data.get("source")) else []


def tag_details(data: dict) -> list[tuple[str, str]]:
    return [(str(_("Tag")), plain_text(data.get("tag")))] if not _blank(data.get("tag")) else []


def tracked_event_details(data: dict) -> list[tuple[str, str]]:
    """``custom_event``: its name, its page and its properties."""
    lines = []
    for key, label in (("name", _("Event")), ("url", _("Page"))):
        if not _blank(data.get(key)):
            lines.append((str(label), plain_text(data[key])))
    if isinstance(data.get("properties"), dict):
        lines.extend(generic_details(data["properties"]))
    return lines
