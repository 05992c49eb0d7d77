"""Consent brought in by a CSV import, and rows dropped by a column's value.

Two ways to say the people in a file agreed to be contacted (docs/imports.md):

- a **consent column**: each row's cell says yes (``yes``, ``oui``, ``true``,
  ``1``, ``x``, ``opted in``, ``subscribed``...) or gives the date they agreed
  (``2024-03-01``, ``01/03/2024``); anything else (``no``, empty) records
  nothing for that row;
- a **declaration for the whole file**: the purpose, where the consent was
  collected (source), when, and a proof note ("double opt-in on the old site,
  logs kept by Mailchimp").

Either way the importer emits one :data:`IMPORTED_CONSENT` event per contact
(a kind this plugin registers, :mod:`.kinds`), carrying the purpose, the date,
the proof note and the source file; whichever plugin keeps a consent ledger
records it from there, by the kind's name. This plugin never names that one.

**Drop rules** leave out rows by a column's value, e.g. Mailchimp's
``STATUS=unsubscribed|cleaned``; each dropped row is reported as skipped.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from core import translation_domain

from .reasons import N_, Reason

_ = translation_domain(__name__).gettext

DEFAULT_PURPOSE = "email_marketing"
_PURPOSE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
YES = frozenset({"yes", "y", "oui", "o", "true", "vrai", "1", "x", "opted in", "opt in", "opt-in", "subscribed",
                 "granted", "agreed", "consent", "consenti", "inscrit"})


class ConsentSettingError(ValueError):
    """A consent column, declaration or drop rule that cannot be used; message for the user."""


def parse_date(text: str) -> dt.date | None:
    text = (text or "").strip()
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%d/%m/%Y %H:%M"):
        try:
            return dt.datetime.strptime(text[:19] if "T" in text or ":" in text else text, pattern).date()
        except ValueError:
            continue
    return None


def cell_consent(text: str) -> tuple[bool, dt.date | None]:
    """``(granted, date)`` from a consent column's cell: ``(True, None)`` for
    a yes, ``(True, date)`` for a date, ``(False, None)`` otherwise."""
    value = " ".join((text or "").strip().casefold().split())
    if value in YES:
        return True, None
    day = parse_date(value)
    return (day is not None), day


@dataclass
class ConsentPlan:
    """What the importer records: a column, a whole-file declaration, or both
    (the column's dates win over the declaration's date)."""

    purpose: str = DEFAULT_PURPOSE
    column: int | None = None
    declared: bool = False
    source: str = ""
    date: str = ""
    proof: str = ""

    @classmethod
    def from_options(cls, options: dict | None) -> "ConsentPlan | None":
        if not options or (options.get("column") is None and not options.get("declared")):
            return None
        return cls(purpose=options.get("purpose") or DEFAULT_PURPOSE, column=options.get("column"),
                   declared=bool(options.get("declared")), source=options.get("source") or "",
                   date=options.get("date") or "", proof=options.get("proof") or "")

    def check(self) -> "ConsentPlan":
        if not _PURPOSE.match(self.purpose):
            raise ConsentSettingError(_("“%(purpose)s” is not a consent purpose (e.g. email_marketing).",
                                        purpose=self.purpose))
        if self.declared:
            if not self.proof.strip():
                raise ConsentSettingError(_("Say how the consent was collected (the proof note): it is what "
                                            "you will show if asked."))
            if self.date and parse_date(self.date) is None:
                raise ConsentSettingError(_("“%(date)s” is not a date (YYYY-MM-DD).", date=self.date))
        return self

    def as_options(self) -> dict:
        return {"purpose": self.purpose, "column": self.column, "declared": self.declared, "source": self.source,
                "date": self.date, "proof": self.proof}

    def decision(self, cells: list[str]) -> tuple[bool, dt.date | None]:
        """Whether this row's contact consented, and when (None: the import's date)."""
        if self.column is not None and self.column < len(cells):
            granted, day = cell_consent(cells[self.column])
            if granted:
                return True, day or parse_date(self.date)
            if not self.declared:
                return False, None
        return self.declared, parse_date(self.date)

    def event_data(self, day: dt.date | None, source_file: str, import_id: int | None) -> dict:
        where = f"imported from {source_file}" + (f" (import #{import_id})" if import_id else "")
        text = "; ".join(part for part in (self.proof.strip(), where) if part)
        return {"purpose": self.purpose, "source": "import", "collected_by": self.source, "text": text,
                "text_version": "import", "file": source_file, "import_id": import_id,
                "at": dt.datetime.combine(day, dt.time(0), tzinfo=dt.timezone.utc).isoformat() if day else None}


@dataclass
class DropRule:
    """Leave out the rows whose ``column`` holds one of ``values`` (any case)."""

    column: int
    values: frozenset
    header: str = ""

    @classmethod
    def parse(cls, text: str, headers: list[str], column_index) -> "DropRule":
        """``STATUS=unsubscribed|cleaned`` (``column_index(name, headers)`` finds the column)."""
        name, sep, values = (text or "").partition("=")
        wanted = frozenset(v.strip().casefold() for v in values.split("|") if v.strip())
        if not sep or not name.strip() or not wanted:
            raise ConsentSettingError(_("“%(text)s”: write COLUMN=value|other value", text=text))
        index = column_index(name.strip(), headers)
        return cls(index, wanted, headers[index] if index < len(headers) else name.strip())

    @classmethod
    def from_options(cls, items: list | None) -> list["DropRule"]:
        return [cls(item["column"], frozenset(item["values"]), item.get("header", "")) for item in items or []]

    def as_options(self) -> dict:
        return {"column": self.column, "values": sorted(self.values), "header": self.header}

    def drops(self, cells: list[str]) -> Reason | None:
        """Why this row is left out, or None."""
        if self.column < len(cells) and cells[self.column].strip().casefold() in self.values:
            if self.header:
                return Reason.of(N_("Left out: %(column)s is “%(value)s”."), column=self.header,
                                 value=cells[self.column].strip())
            return Reason.of(N_("Left out: column %(number)s is “%(value)s”."), number=self.column + 1,
                             value=cells[self.column].strip())
        return None
