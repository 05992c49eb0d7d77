"""Right to be forgotten, as far as Koban's public API allows.

Koban's API has no delete for contacts and no documented way to set its RGPD
``Forget`` flag. So, when a contact is erased here:

1. locally, now: the link, conflicts and errors about the contact are
   deleted, the contact leaves the pending push set, and the Koban Guid is
   remembered only as a SHA-256 hash so a pull never re-creates the person;
2. in Koban, from a job: the address is unsubscribed
   (``ncEMailing/Unsubscribe``) and the Koban record is blanked with
   ``PostMany`` (email, names, phones and every pushed field emptied, name set
   to “Erased contact”); the sync log tells the admin which Guid to delete
   by hand in Koban.
"""
from __future__ import annotations

from core import enqueue, state

from . import config, mapping
from .client import KobanError, KobanUnavailable
from .models import ErasedRecord, KobanLink, SyncConflict, SyncError
from .pull import guid_hash
from .push import MAX_ATTEMPTS, PENDING, backoff
from .runs import finish_run, record_error, start_run

ERASED_NAME = "Erased contact"
BLANKED = ("EMail", "EMailSec", "FirstName", "Phone", "Cell", "Fax", "Function", "Comments")


def erase_locally(contact) -> None:
    """Hook side (in the erasure transaction): drop what we hold, queue the
    remote part with copies of the email and Guid."""
    link = KobanLink.get_or_none(KobanLink.contact == contact.id)
    guid = link.guid if link else None
    if guid:
        ErasedRecord.insert(guid_hash=guid_hash(guid)).on_conflict_ignore().execute()
    KobanLink.delete().where(KobanLink.contact == contact.id).execute()
    SyncConflict.delete().where(SyncConflict.contact == contact.id).execute()
    SyncError.delete().where(SyncError.contact == contact.id).execute()
    state().redis.srem(PENDING, contact.id)
    if config.is_enabled() and (contact.email or guid):
        enqueue(forward_erasure, contact.email or "", guid or "", contact.id, queue="low")


def blank_payload(contact_id: int) -> dict:
    """A PostMany object emptying the Koban record we created for ``contact_id``."""
    payload: dict = {"Extcode": str(contact_id), "Name": ERASED_NAME, "Tags": []}
    payload.update({key: "" for key in BLANKED})
    for row in mapping.mappings("push"):
        kind, _, ref = row.koban_field.partition(":")
        if kind == "MoreFields":
            payload.setdefault("MoreFields", []).append({"FieldId": ref, "Value": ""})
        elif kind != "Tags" and row.koban_field != "Name":
            payload[row.koban_field] = ""
    return payload


def forward_erasure(email: str, guid: str, contact_id: int, attempt: int = 0) -> str:
    """Job: unsubscribe the address in Koban and blank the record."""
    run = start_run("erase")
    client = None
    try:
        client = config.make_client()
        if email:
            client.unsubscribe(email)
        if guid:
            result = client.post_contacts([blank_payload(contact_id)], unique="Extcode")
            if 0 in result.errors:
                record_error(run, f"Koban refused to blank record {guid}: {result.errors[0]}", guid=guid)
        run.sent = 1
    except KobanUnavailable as error:
        if attempt + 1 < MAX_ATTEMPTS:
            enqueue(forward_erasure, email, guid, contact_id, attempt + 1, delay=backoff(attempt), queue="low")
            finish_run(run, "retrying", f"{error} Retrying later.", requests=client.requests if client else 0)
            return "retrying"
        record_error(run, f"Erasure not forwarded: {error}", guid=guid)
    except KobanError as error:
        record_error(run, f"Erasure not forwarded: {error}", guid=guid)
    note = (f"Koban's API cannot delete contacts: delete record {guid} in Koban by hand (it was blanked)."
            if guid else "Unsubscribed in Koban (the contact was never linked to a Koban record).")
    finish_run(run, message=note, requests=client.requests if client else 0)
    return run.status
