"""Access and portability: everything about a contact, as one JSON document
or a zip of one CSV per section.

Core data (identity and custom fields, tags, the events timeline) is read
here; every plugin adds its own sections through ``contact_export`` (the
consent ledger and opposition flags come from this plugin's own hook).
"""
from __future__ import annotations

import csv
import io
import json
import re
import zipfile

from core import Contact, Event, get_values, state, tags_of, utcnow

CSV_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _iso(value):
    return value.isoformat() if value is not None else None


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


def build(contact: Contact) -> dict:
    """``{"generated_at", "contact_id", "sections": {title: [rows]}}``; a
    plugin section whose title is already taken is prefixed by the plugin."""
    sections = core_sections(contact)
    for plugin, answer in state().hooks.call("contact_export", contact=contact):
        for title, rows in dict(answer or {}).items():
            name = str(title) if str(title) not in sections else f"{plugin}: {title}"
            sections[name] = [_flat(row) for row in (rows or [])]
    return {"generated_at": utcnow().isoformat(), "contact_id": contact.id, "sections": sections}


def to_json(document: dict) -> bytes:
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=False).encode()


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(CSV_FORMULA) else text


def _filename(title: str, taken: set) -> str:
    base = re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_") or "section"
    name, n = f"{base}.csv", 2
    while name in taken:
        name, n = f"{base}_{n}.csv", n + 1
    taken.add(name)
    return name


def to_csv_zip(document: dict) -> bytes:
    """One CSV per section (UTF-8 with BOM for spreadsheet apps; cells that a
    spreadsheet would run as a formula are prefixed with ')."""
    buffer = io.BytesIO()
    taken: set = set()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for title, rows in document["sections"].items():
            columns: list[str] = []
            for row in rows:
                columns.extend(key for key in row if key not in columns)
            text = io.StringIO()
            writer = csv.writer(text)
            writer.writerow(columns or ["(empty)"])
            for row in rows:
                writer.writerow([_cell(row.get(column)) for column in columns])
            archive.writestr(_filename(title, taken), "\ufeff" + text.getvalue())
    return buffer.getvalue()
