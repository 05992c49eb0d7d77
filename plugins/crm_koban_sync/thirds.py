"""Accounts ↔ Koban's ``ncThird``, for the record type another plugin offers
through the ``crm_sync_record_types`` hook (the accounts plugin's
``account``).

Every 5 minutes (and on “Sync accounts now”):

1. **pull**: ``ncThird/GetUpdated`` since the last cursor, paged; each Koban
   account is matched by Guid, then by our ``Extcode``, then by domain (so
   an account already in both is joined, not duplicated), and merged field
   by field like the contacts (a side that alone changed wins; both changed:
   the later writer wins and the conflict is recorded);
2. **push**: the accounts changed since the last account push, those the
   pull created and those where Couvée won, when their values differ from
   what both sides last agreed on, go to ``ncThird/PostMany``, 100 at a time,
   our id as ``Extcode`` (``uniqueproperty=Extcode``; an account known by its
   Koban ``Guid`` but without our ``Extcode`` yet is matched on the Guid).

Fields: the rows of the account mapping (``record_mapping``; by default
``name`` ↔ ``Label`` and ``domain`` ↔ ``WebSite``), compared in the form the
provider's ``canonical`` gives, and ``status`` ↔ ``Status`` through the
status codes setting (``prospect=PROS, customer=CLI, former=ANC``).
"""
from __future__ import annotations

import datetime as dt
import logging

from core import state, utcnow

from . import config, record_mapping
from .client import MAX_BATCH, KobanError
from .merge import decide
from .models import KobanRecordLink, RecordConflict, SyncRun
from .runs import finish_run, last_cursor, record_error, start_run

log = logging.getLogger(__name__)

TYPE = "account"
OVERLAP = 120
LOCK = "crm_koban:accounts_lock"
MAX_PAGES = 10_000


def provider() -> dict | None:
    """The ``account`` record type a plugin offers, or ``None`` (accounts plugin off)."""
    found = [spec for answer in state().hooks.results("crm_sync_record_types") for spec in (answer or [])
             if isinstance(spec, dict) and spec.get("type") == TYPE]
    if len(found) > 1:
        log.warning("crm_sync_record_types: %d providers of %r, the first is used", len(found), TYPE)
    return found[0] if found else None


# --- status codes ---------------------------------------------------------------------


def status_codes() -> dict[str, str]:
    """Our status -> Koban status code, from the setting (``customer=CLI, …``)."""
    codes = {}
    for part in str(config.setting("account_status_codes") or "").split(","):
        ours, _eq, theirs = part.partition("=")
        if ours.strip() and theirs.strip():
            codes[ours.strip().lower()] = theirs.strip().upper()
    return codes


def koban_status(remote: dict) -> str:
    status = remote.get("Status")
    if isinstance(status, dict):
        status = status.get("ExternalCode") or status.get("Code") or status.get("Label")
    return str(status or "").strip().upper()


# --- links ----------------------------------------------------------------------------


def link_of(record_id: int) -> KobanRecordLink:
    return (KobanRecordLink.get_or_none((KobanRecordLink.record_type == TYPE) & (KobanRecordLink.record_id == record_id))
            or KobanRecordLink(record_type=TYPE, record_id=record_id, synced={}))


def third_references(contact_ids: list[int]) -> dict[int, dict]:
    """``{contact_id: {"Extcode": …}}`` for the contacts whose account is in
    Koban with our Extcode (what the contact push sends as ``Third``)."""
    spec = provider()
    if spec is None or not contact_ids:
        return {}
    membership = spec["record_of_contacts"](list(contact_ids)) or {}
    if not membership:
        return {}
    known = {link.record_id for link in KobanRecordLink.select().where(
        (KobanRecordLink.record_type == TYPE) & KobanRecordLink.record_id.in_(list(set(membership.values())))
        & KobanRecordLink.guid.is_null(False) & (KobanRecordLink.extcode_sent == True))}  # noqa: E712
    return {cid: {"Extcode": str(rid)} for cid, rid in membership.items() if rid in known}


# --- the job --------------------------------------------------------------------------


def sync_accounts() -> str:
    """Job: pull then push the accounts (nothing while the sync or the accounts plugin is off)."""
    if not config.is_enabled() or not config.is_configured():
        return "off"
    spec = provider()
    if spec is None:
        return "no accounts"
    redis = state().redis
    if not redis.set(LOCK, "1", nx=True, ex=1800):
        return "already running"
    try:
        pulled, again = pull_accounts(spec)
        if pulled == "failed":
            return "failed"
        return push_accounts(spec, again)
    finally:
        redis.delete(LOCK)


def _values(spec, ids) -> dict[int, dict]:
    return {int(k): v for k, v in (spec["read"](list(ids)) or {}).items()}


class Mapping:
    """The account mapping rows flowing one way, with the provider's fields."""

    def __init__(self, spec: dict, direction: str):
        self.fields = record_mapping.fields_of(spec)
        self.rows = [row for row in record_mapping.rows(TYPE, direction) if row.record_field in self.fields]

    def keys(self) -> list[str]:
        return [row.record_field for row in self.rows] + ["status"]

    def canonical(self, key: str, value) -> str:
        """``value`` of field ``key`` in the comparable form (raises ValueError)."""
        if key == "status":
            return str(value or "")
        return self.fields[key]["canonical"](value)

    def plain(self, values: dict) -> dict:
        """Our account's mapped values, comparable (a value we hold is kept as text if odd)."""
        out = {}
        for key in self.keys():
            try:
                out[key] = self.canonical(key, values.get(key))
            except ValueError:
                out[key] = str(values.get(key) or "")
        return out


def _agreed(synced: dict, keys) -> dict:
    return {key: (synced or {}).get(key) or "" for key in keys}


def _payload(record_id: int, values: dict, codes: dict, mapping: Mapping) -> dict:
    payload = {"Extcode": str(record_id)}
    for row in mapping.rows:
        value = values.get(row.record_field)
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        payload[row.koban_field] = None if value in (None, "") else value
    if codes.get(values.get("status") or ""):
        payload["Status"] = codes[values["status"]]
    return payload


def push_accounts(spec: dict, extra: set[int] = frozenset()) -> str:
    """Send the accounts changed since the last push, and ``extra``. Returns the run status."""
    started = utcnow()
    cursor = last_cursor("account_push")
    since = dt.datetime.fromtimestamp(cursor - OVERLAP, dt.timezone.utc) if cursor else None
    ids = set(spec["changed_since"](since) or []) | set(extra)
    values = _values(spec, ids)
    mapping = Mapping(spec, "push")
    links = {link.record_id: link for link in KobanRecordLink.select().where(
        (KobanRecordLink.record_type == TYPE) & KobanRecordLink.record_id.in_(list(values) or [0]))}
    due = [rid for rid in sorted(values) if rid not in links or not links[rid].extcode_sent
           or mapping.plain(values[rid]) != _agreed(links[rid].synced, mapping.keys())]
    run = start_run("account_push")
    if not due:
        run.cursor = int(started.timestamp())
        finish_run(run)
        return run.status
    codes = status_codes()
    client = None
    try:
        client = config.make_client()
        by_guid = [rid for rid in due if rid in links and links[rid].guid and not links[rid].extcode_sent]
        by_extcode = [rid for rid in due if rid not in by_guid]
        for unique, group in (("Guid", by_guid), ("Extcode", by_extcode)):
            for start in range(0, len(group), MAX_BATCH):
                _post(client, group[start:start + MAX_BATCH], unique, values, links, codes, mapping, run)
    except KobanError as error:
        finish_run(run, "failed", f"{error} The accounts are sent again on the next run.",
                   requests=client.requests if client else 0)
        return "failed"
    run.cursor = int(started.timestamp())
    finish_run(run, requests=client.requests)
    return run.status


def _post(client, chunk, unique, values, links, codes, mapping, run) -> None:
    payloads = []
    for rid in chunk:
        payload = _payload(rid, values[rid], codes, mapping)
        if unique == "Guid":
            payload["Guid"] = links[rid].guid
        payloads.append(payload)
    result = client.post_thirds(payloads, unique=unique)
    run.sent += len(chunk)
    for index, rid in enumerate(chunk):
        link = links.get(rid) or link_of(rid)
        if index in result.errors or not result.guids[index]:
            message = f"Koban refused account #{rid}: {result.errors.get(index) or result.message or 'no Guid'}"
            record_error(run, message, guid=link.guid or "")
            link.last_error = message[:1000]
            link.save()
            continue
        if link.guid is None:
            run.created += 1
        else:
            run.updated += 1
        KobanRecordLink.delete().where((KobanRecordLink.guid == result.guids[index])
                                       & (KobanRecordLink.record_id != rid)).execute()
        link.guid, link.extcode_sent = result.guids[index], True
        link.synced = {**(link.synced or {}), **mapping.plain(values[rid])}
        link.last_pushed_at, link.last_error = utcnow(), ""
        link.save()


# --- pull -----------------------------------------------------------------------------


def pull_accounts(spec: dict) -> tuple[str, set[int]]:
    """Apply the Koban accounts changed since the last cursor. Returns the run
    status and the ids to push back (created here, or Couvée won a conflict)."""
    run = start_run("account_pull")
    started = int(utcnow().timestamp())
    cursor = last_cursor("account_pull")
    since = max(0, cursor - OVERLAP) if cursor else 0
    again: set[int] = set()
    client = None
    try:
        client = config.make_client()
        mapping = Mapping(spec, "pull")
        start, size = 0, config.page_size()
        for _page in range(MAX_PAGES):
            total, page = client.thirds_updated(since, start, size)
            for remote in page:
                try:
                    apply_third(spec, remote, run, again, mapping)
                except ValueError as error:
                    record_error(run, f"Koban account {remote.get('Guid')}: {error}", guid=str(remote.get("Guid") or ""))
            start += len(page)
            if not page or start >= total:
                break
    except KobanError as error:
        finish_run(run, "failed", f"{error} The next pull starts again from the same point.",
                   requests=client.requests if client else 0)
        return "failed", set()
    run.cursor = started
    finish_run(run, requests=client.requests)
    return run.status, again


def _remote_values(remote: dict, mapping: Mapping) -> tuple[dict, list[str]]:
    """Koban's account in our fields (comparable), and the problems with the
    values left out (a value an account cannot hold, an unknown status code)."""
    values, problems = {}, []
    for row in mapping.rows:
        try:
            values[row.record_field] = mapping.canonical(row.record_field, remote.get(row.koban_field))
        except ValueError as error:
            problems.append(f"{row.koban_field}: {error}; {row.record_field} left unchanged")
    code = koban_status(remote)
    if not code:
        return values, problems
    ours = {theirs: mine for mine, theirs in status_codes().items()}.get(code)
    if ours is None:
        problems.append(f"the status code {code} is not in the account status codes setting; status left unchanged")
    else:
        values["status"] = ours
    return values, problems


def _find(spec, remote: dict, domain: str) -> tuple[int | None, KobanRecordLink | None]:
    guid = str(remote.get("Guid") or "")
    link = KobanRecordLink.get_or_none((KobanRecordLink.record_type == TYPE) & (KobanRecordLink.guid == guid))
    if link is not None and _values(spec, [link.record_id]):
        return link.record_id, link
    extcode = str(remote.get("Extcode") or "")
    if extcode.isdigit() and _values(spec, [int(extcode)]):
        return int(extcode), link_of(int(extcode))
    found = spec["find"](domain) if domain else None
    return (int(found), link_of(int(found))) if found is not None else (None, None)


def apply_third(spec: dict, remote: dict, run: SyncRun, again: set[int], mapping: Mapping) -> str:
    """Create or update our account for one Koban account (``mapping``: the rows flowing ``pull``)."""
    guid = str(remote.get("Guid") or "")
    if not guid:
        run.skipped += 1
        return "skipped"
    from .pull import koban_seconds  # pull imports push, which imports this module

    remote_at = koban_seconds(remote.get("DUpdated"))
    theirs, problems = _remote_values(remote, mapping)
    record_id, link = _find(spec, remote, theirs.get("domain") or "")
    for problem in problems:
        record_error(run, f"Koban account {guid} ({theirs.get('name') or remote.get('Label') or ''}): {problem}",
                     guid=guid)
    if link is not None and link.koban_updated and remote_at and remote_at < link.koban_updated:
        run.unchanged += 1
        return "unchanged"
    if record_id is None:
        if not theirs.get("name"):
            run.skipped += 1
            return "skipped"
        record_id = spec["write"](None, theirs, config.SOURCE)
        link = link_of(record_id)
        base = dict(theirs)
        outcome = "created"
        again.add(record_id)
    else:
        base, take = _merge(spec, record_id, link, theirs, remote_at, run, again, mapping)
        if take:
            spec["write"](record_id, take, config.SOURCE)
        outcome = "updated" if take else "unchanged"
    KobanRecordLink.delete().where((KobanRecordLink.guid == guid) & (KobanRecordLink.record_id != record_id)).execute()
    link.guid = guid
    link.extcode_sent = link.extcode_sent or str(remote.get("Extcode") or "") == str(record_id)
    if not link.extcode_sent:
        again.add(record_id)
    link.synced = {**(link.synced or {}), **base}
    link.koban_updated = remote_at
    link.last_pulled_at, link.last_error = utcnow(), ""
    link.save()
    setattr(run, outcome, getattr(run, outcome) + 1)
    return outcome


def _merge(spec, record_id, link, theirs, remote_at, run, again, mapping) -> tuple[dict, dict]:
    """Three-way merge like the contacts': returns the agreed values and those to write here."""
    current = _values(spec, [record_id]).get(record_id) or {}
    ours, local_at = mapping.plain(current), current.get("updated_at")
    agreed = dict(link.synced or {})
    remote_time = dt.datetime.fromtimestamp(remote_at, dt.timezone.utc) if remote_at else None
    base, take = {}, {}
    for field, value in theirs.items():
        mine = ours.get(field, "")
        decision = decide(value, mine, agreed.get(field))
        if decision == "same":
            base[field] = value
        elif decision == "take":
            take[field] = base[field] = value
        elif decision == "conflict":
            koban_wins = remote_time is not None and (local_at is None or remote_time > local_at)
            RecordConflict.create(run=run.id, record_type=TYPE, record_id=record_id, field=field,
                                  local_value=mine, remote_value=value, winner="koban" if koban_wins else "couvee")
            run.conflicts += 1
            if koban_wins:
                take[field] = base[field] = value
            else:
                base[field] = value  # what Koban holds: ours differs, so it is pushed
                again.add(record_id)
        else:  # only ours moved: it is (or will be) pushed
            base[field] = value
            again.add(record_id)
    return base, take
