"""Couvée → Koban.

Contacts created or changed here are collected in a Redis set and flushed a
few seconds later (debounce: a contact edited ten times is sent once), in
``PostMany`` batches of at most 100 with our contact id as ``Extcode``.

- Koban refuses a batch (4xx, ``Success: false``): the batch is split in
  halves until the culprits are alone; each refused contact is logged with
  Koban's message and the others go through.
- Koban is down or busy (5xx, 429, timeout): the batch is re-queued with an
  exponential backoff (1, 2, 4… minutes, capped at an hour, 8 attempts).
- Koban refuses the keys: the contacts wait in the pending set until the
  connection works again (the CRM page says so).
"""
from __future__ import annotations

import datetime as dt

from core import Contact, enqueue, state, utcnow

from . import config, mapping
from .client import MAX_BATCH, KobanAuthError, KobanBadRequest, KobanError, KobanUnavailable
from .models import KobanLink, SyncRun
from .runs import finish_run, record_error, start_run
from .thirds import third_references

PENDING = "crm_koban:pending"
FLUSH_FLAG = "crm_koban:flush_scheduled"
DEBOUNCE = dt.timedelta(seconds=10)
MAX_ATTEMPTS = 8
FIRST_BACKOFF = 60
MAX_BACKOFF = 3600


def _redis():
    return state().redis


def backoff(attempt: int) -> dt.timedelta:
    """Delay before retry number ``attempt + 1``: 1, 2, 4… minutes, ≤ 1 hour."""
    return dt.timedelta(seconds=min(MAX_BACKOFF, FIRST_BACKOFF * (2 ** attempt)))


# --- queueing ------------------------------------------------------------------------


def queue_push(*contact_ids: int) -> None:
    """Remember contacts to send and schedule one flush (debounced)."""
    if not contact_ids:
        return
    redis = _redis()
    redis.sadd(PENDING, *[int(i) for i in contact_ids])
    if redis.set(FLUSH_FLAG, "1", nx=True, ex=int(DEBOUNCE.total_seconds()) + 300):
        enqueue(flush_pending, delay=DEBOUNCE, queue="low")


def pending_count() -> int:
    return int(_redis().scard(PENDING))


def flush_pending() -> int:
    """Job: send every pending contact, 100 at a time. Returns how many were taken."""
    redis = _redis()
    redis.delete(FLUSH_FLAG)
    if not config.is_enabled():
        return 0
    taken = 0
    while True:
        chunk = [int(i) for i in (redis.spop(PENDING, MAX_BATCH) or [])]
        if not chunk:
            return taken
        taken += len(chunk)
        if push_batch(chunk) == "waiting":
            return taken


# --- sending -------------------------------------------------------------------------


def push_batch(contact_ids: list[int], attempt: int = 0) -> str:
    """Job: send these contacts (≤ 100) to Koban now. Returns the run status,
    or ``waiting`` when the keys are refused (contacts kept pending)."""
    contact_ids = [int(i) for i in contact_ids][:MAX_BATCH]
    if not config.is_enabled():
        return "off"
    run = start_run("push")
    try:
        client = config.make_client()
    except KobanError as error:
        _redis().sadd(PENDING, *contact_ids)
        finish_run(run, "failed", f"{error} The {len(contact_ids)} contact(s) wait until the connection works.")
        return "waiting"
    contacts = list(Contact.select().where(Contact.id.in_(contact_ids)).order_by(Contact.id))
    rows = mapping.mappings("push")
    try:
        _send(client, contacts, rows, run)
    except KobanAuthError as error:
        _redis().sadd(PENDING, *contact_ids)
        finish_run(run, "failed", f"{error} The {len(contact_ids)} contact(s) wait until the connection works.",
                   requests=client.requests)
        return "waiting"
    except KobanUnavailable as error:
        return _retry_later(run, contact_ids, attempt, error, client.requests)
    finish_run(run, requests=client.requests)
    return run.status


def _retry_later(run: SyncRun, contact_ids: list[int], attempt: int, error: KobanError, requests: int) -> str:
    if attempt + 1 < MAX_ATTEMPTS:
        delay = backoff(attempt)
        enqueue(push_batch, contact_ids, attempt + 1, delay=delay, queue="low")
        finish_run(run, "retrying", f"{error} Retry {attempt + 2} of {MAX_ATTEMPTS} in "
                                    f"{int(delay.total_seconds() // 60)} min.", requests=requests)
        return "retrying"
    for contact_id in contact_ids:
        record_error(run, f"Not sent after {MAX_ATTEMPTS} attempts: {error}", contact_id=contact_id)
    finish_run(run, "failed", f"Gave up after {MAX_ATTEMPTS} attempts: {error}", requests=requests)
    return "failed"


def _send(client, contacts: list[Contact], rows, run: SyncRun) -> None:
    """Post ``contacts``; on a refused batch, bisect to isolate the culprits."""
    if not contacts:
        return
    payloads = [mapping.koban_payload(contact, rows) for contact in contacts]
    thirds = third_references([contact.id for contact in contacts])
    for contact, payload in zip(contacts, payloads):
        if contact.id in thirds:
            payload["Third"] = thirds[contact.id]
    try:
        result = client.post_contacts(payloads, unique="Extcode", third_unique="Extcode")
    except KobanBadRequest as error:
        if len(contacts) == 1:
            _failed(run, contacts[0], str(error))
            return
        middle = len(contacts) // 2
        _send(client, contacts[:middle], rows, run)
        _send(client, contacts[middle:], rows, run)
        return
    run.sent += len(contacts)
    for index, contact in enumerate(contacts):
        if index in result.errors:
            _failed(run, contact, f"Koban refused contact #{contact.id}: {result.errors[index]}")
        else:
            _sent(run, contact, result.guids[index], mapping.local_values(contact, rows))


def _link(contact_id: int) -> KobanLink:
    link = KobanLink.get_or_none(KobanLink.contact == contact_id)
    return link or KobanLink(contact=contact_id, synced={})


def _sent(run: SyncRun, contact: Contact, guid: str | None, values: dict) -> None:
    link = _link(contact.id)
    if link.guid is None and guid:
        run.created += 1
    else:
        run.updated += 1
    if guid:
        other = KobanLink.get_or_none((KobanLink.guid == guid) & (KobanLink.contact != contact.id))
        if other is not None:  # Koban merged two of ours into one record: keep the newest link
            other.delete_instance()
        link.guid = guid
    link.synced = {**(link.synced or {}), **values}
    link.last_pushed_at = utcnow()
    link.last_error = ""
    link.save()


def _failed(run: SyncRun, contact: Contact, message: str) -> None:
    link = _link(contact.id)
    record_error(run, message, contact_id=contact.id, guid=link.guid or "")
    link.last_error = message[:1000]
    link.save()


# --- unsubscribes and erasures ---------------------------------------------------------


def push_unsubscribe(email: str, contact_id: int | None = None, attempt: int = 0) -> str:
    """Job: tell Koban this address unsubscribed (``ncEMailing/Unsubscribe``)."""
    if not config.is_enabled() or not email:
        return "off"
    run = start_run("unsubscribe")
    client = None
    try:
        client = config.make_client()
        client.unsubscribe(email)
        run.sent = 1
    except KobanUnavailable as error:
        if attempt + 1 < MAX_ATTEMPTS:
            enqueue(push_unsubscribe, email, contact_id, attempt + 1, delay=backoff(attempt), queue="low")
            finish_run(run, "retrying", f"{error} Retrying later.", requests=client.requests if client else 0)
            return "retrying"
        record_error(run, str(error), contact_id=contact_id)
    except KobanError as error:
        record_error(run, f"Unsubscribe refused: {error}", contact_id=contact_id)
    finish_run(run, requests=client.requests if client else 0)
    return run.status
