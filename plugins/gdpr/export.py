"""Access and portability: everything about a contact, as one JSON document
or a zip of one CSV per section.

Core builds the document (:func:`core.export_contact`: identity, custom
fields, tags, the timeline, and every plugin's ``contact_export`` sections, the
consent ledger and opposition flags among them); this module serves it.
"""
from __future__ import annotations

import csv
import io
import json
import re
import zipfile

from core import Contact, csv_cell, export_contact


def build(contact: Contact) -> dict:
    """The document core builds (:func:`core.export_contact`): core's data and every plugin's sections."""
    return export_contact(contact)


def to_json(document: dict) -> bytes:
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=False).encode()


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
                writer.writerow([csv_cell(row.get(column)) for column in columns])
            archive.writestr(_filename(title, taken), "\ufeff" + text.getvalue())
    return buffer.getvalue()
