"""The import pipeline: CSV rows in, contacts out, one batch per transaction.

Per batch (see docs/imports.md):

1. parse and validate every row (:mod:`.parse`); bad rows are
   reported with their line number and left out, the others go on;
2. merge rows with the same email: a first pass over the file (:func:`scan`)
   finds the repeated emails, whose rows are merged in memory and written
   once at the end (:meth:`Importer.flush`), wherever they are in the file;
   drop suppressed addresses and cold leads when asked;
3. look the emails up in **one** query, with the current custom values and
   tags of the contacts found;
4. compute what really changes under the duplicate policy (``update``,
   ``skip`` or ``fill``): a row that changes nothing writes nothing, which is
   what makes re-running a file idempotent;
5. write with set-based statements (``insert_many`` for contacts, values, tag
   links and timeline events, one ``UPDATE`` per changed contact), then queue
   **one** RQ job that dispatches the batch's events.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field

from flask import current_app

from core import (
    Contact, ContactTag, ContactValue, CustomField, Event, FieldValueError, Tag, User, db_value, dispatch_many,
    insert_rows, normalize_email, normalize_tag, opposition_kinds, select_in, suppressed_emails, utcnow,
    write_transaction,
)

from . import segments
from .consent import ConsentPlan
from .kinds import IMPORTED_CONSENT
from .parse import Record, RowParser, RowProblem
from .reader import Row
from .reasons import N_, Reason

log = logging.getLogger("couvee.imports")

BATCH_SIZE = 2000
_IN_CHUNK = 5000
POLICIES = ("update", "skip", "fill")


@dataclass
class Settings:
    """What to import and how; built from an ImportJob or the CLI options."""

    mapping: list[dict]
    policy: str = "update"
    tags: list[str] = field(default_factory=list)
    segment_id: int | None = None
    skip_suppressed: bool = True
    cold_column: int | None = None
    cold_months: int | None = None
    import_id: int | None = None
    #: extra suppressed addresses (the "imports" setting), normalised
    suppressed: frozenset = frozenset()
    #: folder where file-field columns' file names are found (``--files``)
    files_dir: str | None = None
    #: consent to record (a column and/or a whole-file declaration), see consent.py
    consent: ConsentPlan | None = None
    #: rows left out by a column's value (``STATUS=unsubscribed|cleaned``)
    drop_rules: list = field(default_factory=list)
    #: the imported file's name, recorded with the consent
    source_file: str = ""


@dataclass
class Counts:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    duplicates: int = 0
    errors: int = 0
    warnings: int = 0

    def add(self, other: "Counts") -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass
class Report:
    """A reported line: ``kind`` is ``error``, ``warning`` or ``skipped``."""

    line: int
    kind: str
    reason: Reason
    cells: list[str]


@dataclass
class BatchResult:
    counts: Counts = field(default_factory=Counts)
    reports: list[Report] = field(default_factory=list)
    event_ids: list[int] = field(default_factory=list)
    #: contacts created, updated or confirmed by the batch (they get the segment)
    contact_ids: list[int] = field(default_factory=list)


def months_ago(today: dt.date, months: int) -> dt.date:
    """The same day ``months`` months earlier (clamped to the month's end)."""
    index = today.year * 12 + today.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    for day in range(today.day, 0, -1):
        try:
            return dt.date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def parse_suppression_list(text: str | None) -> frozenset:
    """Normalised addresses of a one-per-line (or comma separated) list;
    lines that are not addresses are ignored."""
    found = set()
    for piece in (text or "").replace(",", "\n").replace(";", "\n").splitlines():
        try:
            email = normalize_email(piece)
        except FieldValueError:
            continue
        if email:
            found.add(email)
    return frozenset(found)


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


@dataclass
class _Plan:
    """The writes of one batch, gathered before they are made."""

    #: (record, contact id, outcome) of every row that ends up in the database
    kept: list = field(default_factory=list)
    updates: list = field(default_factory=list)
    value_rows: list = field(default_factory=list)
    #: field id -> contacts whose values of that field are replaced
    cleared: dict = field(default_factory=dict)
    events: list = field(default_factory=list)


def scan(rows, mapping: list[dict]) -> tuple[int, frozenset]:
    """One pass over the rows: how many there are, and the emails (lower
    case) found on more than one row, whose rows the importer merges before
    writing them so that re-running the file finds nothing to change."""
    email_index = next(i for i, column in enumerate(mapping) if column["target"] == "email")
    seen, repeated, total = set(), set(), 0
    for row in rows:
        total += 1
        if email_index < len(row.cells):
            email = row.cells[email_index].strip().lower()
            if email in seen:
                repeated.add(email)
            elif email:
                seen.add(email)
    return total, frozenset(repeated)


def _file_folder(folder: str | None):
    """Where file-field columns find their files (see attachments.py)."""
    if not folder:
        return None
    from .attachments import FileFolder

    config = current_app.extensions["couvee"].config
    return FileFolder(folder, config.uploads_path, config.max_upload_bytes)


class Importer:
    """Imports batches of rows; keeps what it needs across batches (the
    merged rows of repeated emails, tag ids, parse memos)."""

    def __init__(self, settings: Settings, database=None, now: dt.datetime | None = None,
                 repeated: set[str] | frozenset = frozenset()):
        if settings.policy not in POLICIES:
            raise ValueError(f"unknown duplicate policy {settings.policy!r}; use {', '.join(POLICIES)}")
        self.settings = settings
        self.database = database or current_app.extensions["couvee"].database
        self.now = now
        fields_by_key = {f.key: f for f in CustomField.select()}
        self.fields_by_id = {f.id: f for f in fields_by_key.values()}
        types = current_app.extensions["couvee"].registries.field_types
        self.multi = {f.id for f in fields_by_key.values() if getattr(types.get(f.type_id), "multi_valued", False)}
        users = {u.email.lower(): u.id for u in User.select(User.id, User.email).where(User.is_active == True)}  # noqa: E712
        self.parser = RowParser(settings.mapping, fields_by_key, types, users, settings.cold_column,
                                files=_file_folder(settings.files_dir))
        self.mapped_fields = [column.field.id for column in self.parser.customs]
        self.cutoff = None
        if settings.cold_column is not None and settings.cold_months:
            self.cutoff = months_ago(dt.date.today(), settings.cold_months).isoformat()
        self.job_tags = {normalize_tag(tag) for tag in settings.tags if tag and tag.strip()}
        self.tag_ids: dict[str, int] = {}
        #: emails found on several rows of the file (see :func:`scan`): their
        #: rows are merged in memory and written once, by :meth:`flush`
        self.repeated = repeated
        self.pending: dict[str, Record] = {}
        #: set when a segment was asked for but no active plugin provides segments
        self.segment_missing = False
        #: email -> the date its row says the person consented (None: the import's date)
        self.consents: dict = {}

    # -- the batch ---------------------------------------------------------

    def process(self, rows: list[Row], in_transaction=None) -> BatchResult:
        """Import one batch in one transaction. ``in_transaction(result)`` runs
        inside it, after the writes (the runner stores progress there)."""
        result = BatchResult()
        result.counts.rows = len(rows)
        return self._import(self._parse(rows, result), result, in_transaction)

    def flush(self, in_transaction=None):
        """Import the merged rows of repeated emails, a batch at a time
        (call once every row went through :meth:`process`); yields results."""
        pending, self.pending = list(self.pending.items()), {}
        for start in range(0, len(pending), BATCH_SIZE):
            yield self._import(dict(pending[start:start + BATCH_SIZE]), BatchResult(), in_transaction)

    def _import(self, records: dict[str, Record], result: BatchResult, in_transaction) -> BatchResult:
        with write_transaction(self.database):
            existing = self._existing(list(records))
            records = self._clean(records, existing, result)
            event_ids = self._write(records, existing, result)
            if in_transaction is not None:
                in_transaction(result)
        result.event_ids = event_ids
        self._queue_dispatch(event_ids)
        if self.settings.segment_id is not None and result.contact_ids:
            # after the commit: the segments plugin queues the dispatch of its own
            # segment_joined events, which must find them committed
            if not segments.add_members(self.settings.segment_id, result.contact_ids):
                self.segment_missing = True
        return result

    def _report(self, result: BatchResult, record_or_row, kind: str, reason: Reason) -> None:
        result.reports.append(Report(record_or_row.line, kind, reason, list(record_or_row.cells)))
        if kind == "error":
            result.counts.errors += 1
        elif kind == "warning":
            result.counts.warnings += 1
        else:
            result.counts.skipped += 1

    def _parse(self, rows: list[Row], result: BatchResult) -> dict[str, Record]:
        records: dict[str, Record] = {}
        override = self.settings.policy == "update"
        drop_rules, consent, cutoff = self.settings.drop_rules, self.settings.consent, self.cutoff
        parse, repeated, pending = self.parser.parse, self.repeated, self.pending
        for row in rows:
            if drop_rules:
                dropped = next((reason for rule in drop_rules if (reason := rule.drops(row.cells))), None)
                if dropped:
                    self._report(result, row, "skipped", dropped)
                    continue
            try:
                record, warnings = parse(row)
            except RowProblem as problem:
                self._report(result, row, "error", problem.reason)
                continue
            for warning in warnings:
                self._report(result, record, "warning", warning)
            if cutoff and record.last_activity and record.last_activity < cutoff:
                self._report(result, record, "skipped", Reason.of(
                    N_("Cold lead: last activity on %(date)s is more than %(months)s months old."),
                    date=record.last_activity, months=self.settings.cold_months))
                continue
            if consent is not None:
                granted, day = consent.decision(row.cells)
                if granted:
                    self.consents[record.email] = day
            email = record.email
            into = pending if email in repeated else records
            earlier = into.get(email)
            if earlier is None:
                into[email] = record
            else:
                earlier.merge(record, override)
                result.counts.duplicates += 1
        return records

    def _clean(self, records: dict[str, Record], existing: dict[str, tuple], result: BatchResult) -> dict[str, Record]:
        """Leave out suppressed addresses: the configured list, and contacts
        whose timeline has an event of a kind registered as an ``opposition``
        (an unsubscription, a bounce...: whatever the active plugins declare)."""
        if not records:
            return records
        new_emails = [email for email in records if email not in existing]
        for email, reason in suppressed_emails(new_emails).items():
            self._report(result, records.pop(email), "skipped", Reason.verbatim(str(reason)))
        if not self.settings.skip_suppressed or not records:
            return records
        reasons = {email: Reason.of(N_("This address is on the suppression list.")) for email in records
                   if email in self.settings.suppressed}
        emails_by_id = {row[0]: email for email, row in existing.items()}
        opposition = {kind.id: kind for kind in opposition_kinds()}
        for chunk in _chunks(list(emails_by_id) if opposition else [], _IN_CHUNK):
            rows = select_in(Event, ["contact", "kind"], {"contact": chunk, "kind": sorted(opposition)},
                             distinct=True)
            for contact_id, kind in sorted(rows, key=lambda r: r[1]):
                reasons.setdefault(emails_by_id[contact_id], Reason.of(
                    N_("This address %(what)s before: not imported again."), what=str(opposition[kind].past)))
        for email, reason in reasons.items():
            self._report(result, records.pop(email), "skipped", reason)
        return records

    # -- reading the current state ---------------------------------------------

    def _existing(self, emails: list[str]) -> dict[str, tuple]:
        found = {}
        for chunk in _chunks(emails, _IN_CHUNK):
            for row in select_in(Contact, ["id", "email", "first_name", "last_name", "owner", "language"],
                                 {"email": chunk}):
                found[row[1]] = row
        return found

    def _current_values(self, contact_ids: list[int]) -> dict[tuple[int, int], object]:
        values: dict = {}
        if not contact_ids or not self.mapped_fields:
            return values
        for chunk in _chunks(contact_ids, _IN_CHUNK):
            rows = select_in(ContactValue, ["contact", "field", "value"],
                             {"contact": chunk, "field": self.mapped_fields})
            for contact_id, field_id, value in rows:
                if field_id in self.multi:
                    values.setdefault((contact_id, field_id), []).append(value)
                else:
                    values[(contact_id, field_id)] = value
        for key, value in values.items():
            if isinstance(value, list):
                value.sort()
        return values

    def _current_links(self, contact_ids: list[int], tag_ids: list[int]) -> set[tuple[int, int]]:
        links = set()
        if not contact_ids or not tag_ids:
            return links
        for chunk in _chunks(contact_ids, _IN_CHUNK):
            links.update(select_in(ContactTag, ["contact", "tag"], {"contact": chunk, "tag": tag_ids}))
        return links

    def _ensure_tags(self, names: set[str]) -> None:
        missing = sorted(name for name in names if name not in self.tag_ids)
        if not missing:
            return
        insert_rows(Tag, ["name"], [(name,) for name in missing], ignore_conflicts=True)
        for chunk in _chunks(missing, _IN_CHUNK):
            for tag_id, name in Tag.select(Tag.id, Tag.name).where(Tag.name.in_(chunk)).tuples():
                self.tag_ids[name] = tag_id

    # -- deciding and writing ----------------------------------------------------

    #: where each native field is in the rows :meth:`_existing` reads
    _NATIVE_COLUMN = {"first_name": 2, "last_name": 3, "language": 5}

    def _changes(self, record: Record, row: tuple, current: dict, mode: str):
        """What ``record`` changes on an existing contact: (native changes,
        value changes by field id, owner change) as ``{key: (old, new)}``."""
        contact_id = row[0]
        natives, values = {}, {}
        for key, new in record.natives.items():
            old = row[self._NATIVE_COLUMN[key]]
            if new != old and (mode == "update" or not old):
                natives[key] = (old, new)
        for field_id, new in record.values.items():
            old = current.get((contact_id, field_id))
            if new != old and (mode == "update" or old in (None, [])):
                values[field_id] = (old, new)
        owner = None
        if record.owner_id is not None and record.owner_id != row[4] and (mode == "update" or row[4] is None):
            owner = (row[4], record.owner_id)
        return natives, values, owner

    def _write(self, records: dict[str, Record], existing: dict[str, tuple], result: BatchResult) -> list[int]:
        """Create, update and tag; return the ids of the events written."""
        now = self.now or utcnow()
        now_db = db_value(Contact, "created_at", now)
        tag_names = set(self.job_tags)
        for record in records.values():
            if record.tags:
                tag_names |= record.tags
        self._ensure_tags(tag_names)
        known_ids = [row[0] for row in existing.values()]
        links = self._current_links(known_ids, [self.tag_ids[name] for name in tag_names])
        plan = _Plan()
        self._plan_existing(records, existing, self._current_values(known_ids), plan, result.counts)
        new_records = [record for email, record in records.items() if email not in existing]
        created = self._create(new_records, now_db, result)
        value_rows = plan.value_rows
        for record, contact_id in created:
            for field_id, value in record.values.items():
                if value.__class__ is list:
                    value_rows.extend((contact_id, field_id, item) for item in value)
                else:
                    value_rows.append((contact_id, field_id, value))

        for contact_id, fields in plan.updates:
            Contact.update(updated_at=now, **fields).where(Contact.id == contact_id).execute()
        for field_id, contact_ids in plan.cleared.items():
            for chunk in _chunks(contact_ids, _IN_CHUNK):
                ContactValue.delete().where((ContactValue.field == field_id) & ContactValue.contact.in_(chunk)).execute()
        insert_rows(ContactValue, ["contact", "field", "value"], value_rows, ignore_conflicts=True)
        # every kept row, the created ones last (built only when tags or consent need them)
        kept = (plan.kept + [(record, contact_id, "created") for record, contact_id in created]
                if tag_names or self.settings.consent is not None else None)
        tag_events = self._link_tags(kept, links, now_db) if tag_names else {}
        outcomes = Counter(outcome if outcome != "unchanged" or contact_id not in tag_events else "updated"
                           for _, contact_id, outcome in plan.kept)
        outcomes["created"] += len(created)
        for outcome, count in outcomes.items():
            setattr(result.counts, outcome, getattr(result.counts, outcome) + count)
        result.contact_ids = [contact_id for _, contact_id, _ in plan.kept]
        result.contact_ids += [contact_id for _, contact_id in created]
        # the timeline, in this order: updates, creations, tags, consents
        created_data = self._data()
        events = [(contact_id, kind, data, "import", now_db) for contact_id, kind, data in plan.events]
        events += [(contact_id, "contact_created", created_data, "import", now_db) for _, contact_id in created]
        later = [(contact_id, "tag_added", self._data(tag=name)) for contact_id, names in tag_events.items()
                 for name in names]
        later += self._consent_events(kept or ())
        events += [(contact_id, kind, data, "import", now_db) for contact_id, kind, data in later]
        return self._insert_events(events)

    def _consent_events(self, kept) -> list[tuple]:
        """One :data:`IMPORTED_CONSENT` event per imported contact who consented."""
        consent, events = self.settings.consent, []
        for record, contact_id, _ in kept if consent is not None else ():
            if record.email in self.consents:
                day = self.consents.pop(record.email)
                data = consent.event_data(day, self.settings.source_file, self.settings.import_id)
                events.append((contact_id, IMPORTED_CONSENT, db_value(Event, "data", data)))
        return events

    def _plan_existing(self, records, existing, current, plan: "_Plan", counts: Counts) -> None:
        """Decide what happens to the rows whose contact exists."""
        for email, record in records.items():
            row = existing.get(email)
            if row is None:
                continue
            if self.settings.policy == "skip":
                counts.skipped += 1
                continue
            mode = "update" if self.settings.policy == "update" else "fill"
            natives, values, owner = self._changes(record, row, current, mode)
            contact_id = row[0]
            for field_id, (old, new) in values.items():
                if old not in (None, []):
                    plan.cleared.setdefault(field_id, []).append(contact_id)
                plan.value_rows.extend(self._value_rows(contact_id, field_id, new))
            changed = bool(natives or values or owner)
            if changed:
                fields = {key: new for key, (old, new) in natives.items()}
                changes = {key: [old, new] for key, (old, new) in natives.items()}
                changes.update({self.fields_by_id[f].key: [old, new] for f, (old, new) in values.items()})
                if owner:
                    fields["owner"] = owner[1]
                    changes["owner_id"] = list(owner)
                plan.updates.append((contact_id, fields))
                plan.events.append((contact_id, "contact_updated", self._data(changes=changes)))
            plan.kept.append((record, contact_id, "updated" if changed else "unchanged"))

    def _data(self, **extra) -> str:
        """An event's data as stored (JSON text)."""
        return db_value(Event, "data", {"source": "import", "import_id": self.settings.import_id, **extra})

    @staticmethod
    def _insert_events(rows: list[tuple]) -> list[int]:
        """Insert (contact, kind, data, source, created_at) rows; their ids."""
        inserted = insert_rows(Event, ["contact", "kind", "data", "source", "created_at"], rows, returning=("id",))
        return [row[0] for row in inserted]

    @staticmethod
    def _value_rows(contact_id: int, field_id: int, value) -> list[tuple]:
        """Stored rows of one value (field types return text, or lists of text)."""
        if isinstance(value, list):
            return [(contact_id, field_id, str(v)) for v in value]
        return [(contact_id, field_id, str(value))]

    def _create(self, records: list[Record], now_db, result: BatchResult) -> list[tuple[Record, int]]:
        if not records:
            return []
        rows = [(r.email, r.natives.get("first_name", ""), r.natives.get("last_name", ""),
                 r.natives.get("language", ""), r.owner_id, 0, now_db, now_db) for r in records]
        inserted = insert_rows(Contact, ["email", "first_name", "last_name", "language", "owner", "points",
                                         "created_at", "updated_at"], rows, returning=("id", "email"),
                               ignore_conflicts=True)
        if len(inserted) == len(records):
            # the usual case: every row inserted, returned in the order given (checked: the
            # databases do not promise that order)
            paired = [(record, contact_id) for record, (contact_id, email) in zip(records, inserted)
                      if record.email == email]
            if len(paired) == len(records):
                return paired
        ids = {email: contact_id for contact_id, email in inserted}
        created = []
        for record in records:
            contact_id = ids.get(record.email)
            if contact_id is None:  # created by someone else since we looked
                self._report(result, record, "skipped", Reason.of(N_(
                    "This contact was created by someone else during the import; run the import again to update it.")))
            else:
                created.append((record, contact_id))
        return created

    def _link_tags(self, kept, links: set, now_db) -> dict[int, list[str]]:
        """Insert the missing tag links; return the new tag names per contact."""
        new_links, added = [], {}
        for record, contact_id, _ in kept:
            for name in sorted(self.job_tags | record.tags):
                tag_id = self.tag_ids[name]
                if (contact_id, tag_id) in links:
                    continue
                links.add((contact_id, tag_id))
                new_links.append((contact_id, tag_id, now_db))
                added.setdefault(contact_id, []).append(name)
        insert_rows(ContactTag, ["contact", "tag", "created_at"], new_links, ignore_conflicts=True)
        return added

    def _queue_dispatch(self, event_ids: list[int]) -> None:
        if not event_ids:
            return
        try:
            dispatch_many(event_ids)  # one drain signal, not a job per batch
        except Exception:  # Redis away: core's sweep re-queues undispatched events
            log.exception("could not queue the dispatch of %s imported events", len(event_ids))
