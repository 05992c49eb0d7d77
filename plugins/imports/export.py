"""CSV exports, streamed page by page (never the whole table in memory):
contacts of a search or a segment, and the report of an import.

Every cell a spreadsheet could take for a formula (starting with ``=`` ``+``
``-`` ``@``, a tab or a carriage return) is prefixed with ``'`` so opening the
file in Excel or LibreOffice never runs anything (CSV injection).
"""
from __future__ import annotations

import csv
import io
from typing import Iterable, Iterator

from flask import current_app

from core import (
    Contact, ContactTag, ContactValue, CustomField, Tag, User, csv_cell, search_contacts, translation_domain,
)
from .models import ImportJob, ImportRowError
from .reasons import Reason

_, _l = translation_domain(__name__).pair()

PAGE = 1000
NATIVE_HEADERS = [_l("Email"), _l("First name"), _l("Last name"), _l("Owner"), _l("Tags")]
TRAILING_HEADERS = [_l("Points"), _l("Created at")]
#: what a reported line of an import is, in the report
REPORT_KINDS = {"error": _l("error"), "warning": _l("warning"), "skipped": _l("skipped")}


def csv_lines(rows: Iterable[list]) -> Iterator[str]:
    """Encode rows as CSV text, one chunk per row, cells neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([csv_cell(cell) for cell in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def contacts_query(q: str = "", segment_id: int | None = None):
    """The contacts of the admin search ``q`` (same words as the contacts
    list), within a segment when ``segment_id`` is given."""
    query = search_contacts(q or "")
    if segment_id is not None:
        from .segments import member_ids

        query = query.where(Contact.id.in_(member_ids(segment_id)))
    return query


def _display(field: CustomField, field_type, values: list[str]) -> str:
    if field_type is None:
        return ", ".join(values)
    if field_type.multi_valued:
        return ", ".join(sorted(values))
    return field_type.display(values[0], field) if values else ""


def contact_rows(query) -> Iterator[list]:
    """The header, then one row per contact of ``query``: native fields,
    owner email, tags, custom fields (by label), points, creation date."""
    types = current_app.extensions["couvee"].registries.field_types
    fields = list(CustomField.select().where(~CustomField.archived).order_by(CustomField.position, CustomField.id))
    owners = dict(User.select(User.id, User.email).tuples())
    yield [str(h) for h in NATIVE_HEADERS] + [f.label for f in fields] + [str(h) for h in TRAILING_HEADERS]
    last_id = 0
    while True:
        page = list(query.where(Contact.id > last_id).order_by(Contact.id).limit(PAGE))
        if not page:
            return
        last_id = page[-1].id
        ids = [c.id for c in page]
        values: dict = {}
        for contact_id, field_id, value in ContactValue.select(
                ContactValue.contact, ContactValue.field, ContactValue.value).where(
                ContactValue.contact.in_(ids)).tuples():
            values.setdefault((contact_id, field_id), []).append(value)
        tags: dict = {}
        for contact_id, name in ContactTag.select(ContactTag.contact, Tag.name).join(Tag).where(
                ContactTag.contact.in_(ids)).order_by(Tag.name).tuples():
            tags.setdefault(contact_id, []).append(name)
        for contact in page:
            row = [contact.email or "", contact.first_name, contact.last_name,
                   owners.get(contact.owner_id, ""), ", ".join(tags.get(contact.id, []))]
            for field in fields:
                row.append(_display(field, types.get(field.type_id), values.get((contact.id, field.id), [])))
            row += [contact.points, contact.created_at.strftime("%Y-%m-%d %H:%M:%S")]
            yield row


def _shown_reason(entry: ImportRowError) -> str:
    """The reason in the reader's language (reports older than the
    ``detail`` column keep their English text)."""
    reason = Reason.from_data(entry.detail)
    return reason.translated() if reason is not None else entry.reason


def report_rows(job: ImportJob) -> Iterator[list]:
    """The import's report: line, kind, reason, then the row as it was read."""
    yield [_("line"), _("kind"), _("reason")] + job.headers
    last = (0, 0)
    while True:
        page = list(ImportRowError.select().where(
            (ImportRowError.job == job.id)
            & ((ImportRowError.line > last[0]) | ((ImportRowError.line == last[0]) & (ImportRowError.id > last[1])))
        ).order_by(ImportRowError.line, ImportRowError.id).limit(PAGE))
        if not page:
            return
        last = (page[-1].line, page[-1].id)
        for entry in page:
            kind = str(REPORT_KINDS.get(entry.kind, entry.kind))
            yield [entry.line, kind, _shown_reason(entry)] + list(entry.row or [])
