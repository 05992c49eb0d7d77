"""Accounts in and out as CSV. The export has one row per account; the import
reads the same columns, checks every row with the account form's checks,
imports the good rows (an account with the same domain, or else the same
name, is updated) and reports each bad one with its line number."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Iterator

import peewee

from core import User, csv_cell, translation_domain

from .editing import AccountError, clean_account, create_account, update_account
from .fields import account_fields, values_of_many
from .models import Account, AccountContact

_ = translation_domain(__name__).gettext

COLUMNS = ("name", "domain", "size_band", "revenue", "industry", "status", "owner_email")
MAX_ROWS = 50_000
#: accounts read per query by the export
PAGE = 1000


def export_rows() -> Iterator[list]:
    """The header, then one row per account (by name, a page at a time; the
    contact counts, owners and custom values read with the page, not per
    account). The custom fields come last, one column per key."""
    custom = account_fields()
    yield list(COLUMNS) + ["contacts", "created_at", "last_interaction_at"] + [f.key for f in custom]
    last_id = 0
    while True:
        page = list(Account.select(Account, User).join(User, peewee.JOIN.LEFT_OUTER)
                    .where(Account.id > last_id).order_by(Account.id).limit(PAGE))
        if not page:
            return
        counts = dict(AccountContact.select(AccountContact.account, peewee.fn.COUNT(AccountContact.contact))
                      .where(AccountContact.account.in_([a.id for a in page]))
                      .group_by(AccountContact.account).tuples())
        values = values_of_many([a.id for a in page]) if custom else {}
        for account in page:
            own = values.get(account.id, {})
            yield [account.name, account.domain or "", account.size_band,
                   "" if account.revenue is None else account.revenue, account.industry, account.status,
                   account.owner.email if account.owner_id else "", counts.get(account.id, 0),
                   account.created_at.isoformat(),
                   account.last_interaction_at.isoformat() if account.last_interaction_at else ""] + [
                   _cell(own.get(f.key)) for f in custom]
        last_id = page[-1].id


def _cell(value) -> str:
    if value is None:
        return ""
    return ", ".join(value) if isinstance(value, list) else str(value)


def export_csv() -> Iterator[str]:
    """The export as CSV text, a row at a time, cells safe for spreadsheets."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in export_rows():
        writer.writerow([csv_cell(cell) for cell in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    #: (line number in the file, message)
    errors: list[tuple[int, str]] = field(default_factory=list)


class ImportFileError(ValueError):
    """The file as a whole cannot be read (nothing imported)."""


def _rows(text: str):
    reader = csv.DictReader(io.StringIO(text), dialect=_dialect(text))
    headers = [h.strip().lower() for h in (reader.fieldnames or [])]
    if "name" not in headers:
        raise ImportFileError(_("The file has no “name” column. Expected columns: %(columns)s.",
                                columns=", ".join(COLUMNS)))
    reader.fieldnames = headers
    return reader


def _dialect(text: str):
    try:
        return csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        return csv.excel


def import_csv(data: bytes) -> ImportReport:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError(_("The file is not UTF-8 text: save it as “CSV UTF-8” and try again.")) from None
    report = ImportReport()
    seen_domains: dict[str, int] = {}
    reader = _rows(text)
    for index, row in enumerate(reader):
        line = reader.line_num
        if index >= MAX_ROWS:
            report.errors.append((line, _("Too many rows: at most %(max)s per file.", max=MAX_ROWS)))
            break
        if row.get(None):
            report.errors.append((line, _("This row has more values than the header has columns.")))
            continue
        form = {key: (value or "") for key, value in row.items() if key}
        form["owner_id"] = form.pop("owner_email", "")
        existing = _existing(form)
        try:
            values = clean_account(form, existing, field_prefix="")
        except AccountError as error:
            report.errors.append((line, "; ".join(error.errors.values())))
            continue
        if values["domain"] and values["domain"] in seen_domains:
            report.errors.append((line, _("The domain %(domain)s is already on line %(line)s.",
                                          domain=values["domain"], line=seen_domains[values["domain"]])))
            continue
        if values["domain"]:
            seen_domains[values["domain"]] = line
        if existing is None:
            create_account(values)
            report.created += 1
        elif update_account(existing, values, source="import"):
            report.updated += 1
        else:
            report.unchanged += 1
    return report


def _existing(form: dict) -> Account | None:
    from .linking import normalize_domain

    try:
        domain = normalize_domain(form.get("domain"))
    except ValueError:
        domain = ""
    if domain:
        found = Account.get_or_none(Account.domain == domain)
        if found is not None:
            return found
    name = str(form.get("name") or "").strip()
    return Account.select().where(Account.name == name).first() if name else None
