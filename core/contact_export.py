"""Everything stored about a contact, whatever plugins are active (right of
access and portability): core's data (identity, custom fields, tags, the
timeline) and every active plugin's sections from ``contact_export``.

The GDPR plugin serves it as JSON or a zip of CSVs, to the admin, the API and
the person themself.
"""
from __future__ import annotations

import json

from .contacts import get_values, tags_of
from .models import Contact, Event, utcnow
from .state import state


def export_contact(contact: Contact) -> dict:
    """``{"generated_at", "contact_id", "sections": {title: [flat rows]}}``; a
    plugin section whose title is already taken is prefixed by the plugin."""
    sections = core_sections(contact)
    for plugin, answer in state().hooks.call("contact_export", contact=contact):
        for title, rows in dict(answer or {}).items():
            name = str(title) if str(title) not in sections else f"{plugin}: {title}"
            sections[name] = [_flat(row) for row in (rows or [])]
    return {"generated_at": utcnow().isoformat(), "contact_id": contact.id, "sections": sections}


def core_sections(contact: Contact) -> dict[str, list[dict]]:
    identity = {
        "id": contact.id, "email": contact.email, "first_name": contact.first_name, "last_name": contact.last_name,
        "points": contact.points, "created_at": _iso(contact.created_at), "updated_at": _iso(contact.updated_at),
        "last_interaction_at": _iso(contact.last_interaction_at),
        "owner": contact.owner.display_name if contact.owner_id else None,
    }
    fields = [{"field": key, "value": ", ".join(map(str, value)) if isinstance(value, list) else value}
              for key, value in sorted(get_values(contact).items())]
    timeline = [{"at": _iso(e.created_at), "kind": e.kind, "source": e.source,
                 "data": json.dumps(e.data or {}, ensure_ascii=False, sort_keys=True)}
                for e in Event.select().where(Event.contact == contact.id).order_by(Event.created_at, Event.id)]
    return {"Contact": [identity], "Custom fields": fields, "Tags": [{"tag": t} for t in tags_of(contact)],
            "Events": timeline}


def _iso(value):
    return value.isoformat() if value is not None else None


def _flat(row) -> dict:
    if not isinstance(row, dict):
        return {"value": _jsonable(row)}
    return {str(key): _jsonable(value) for key, value in row.items()}


def _jsonable(value):
    if isinstance(value, (str, int, float, bool, type(None))):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
