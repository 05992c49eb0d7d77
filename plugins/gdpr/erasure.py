"""Erasure (right to be forgotten) and pseudonymisation.

:func:`erase` runs in one transaction:

1. every plugin's ``contact_erase(contact, mode)`` (a strict hook: if one
   raises, nothing is erased and :class:`ErasureError` says which plugin);
2. core data: custom values, uploaded files, tags and the timeline are
   deleted (``delete``), or the identity is scrubbed and the statistics kept
   (``pseudonymise``: the contact row stays with no email or name, events keep
   their kind, date and non-identifying keys, the contact is marked erased and
   never receives anything again);
3. a salted hash of the address goes to the suppression list.

Files are removed from disk only after the transaction commits.
"""
from __future__ import annotations

import logging

from core import (
    Contact, ContactTag, ContactValue, CustomField, Event, StoredFile, delete_contact, open_stored, state, utcnow,
    write_transaction,
)

from .audit import log_action
from .models import ErasedContact
from .purposes import ERASE_MODES
from .suppression import suppress

log = logging.getLogger("couvee.gdpr")

#: event data keys kept by pseudonymisation (ids, kinds and counters, never what a person typed)
KEPT_EVENT_KEYS = frozenset({
    "purpose", "source", "form_id", "email_id", "newsletter_id", "kind", "segment_id", "workflow_id", "site_id",
    "delta", "total", "type", "machine", "trigger_id", "threshold", "utm_source", "utm_medium", "utm_campaign",
    "asset_id", "link_id", "text_version", "submission_id",
})


class ErasureError(RuntimeError):
    """The erasure was refused or failed; nothing was changed."""


def is_erased(contact_id: int) -> bool:
    return ErasedContact.select().where(ErasedContact.contact == contact_id).exists()


def _file_ids(contact: Contact) -> list[int]:
    types = state().registries.field_types
    file_fields = [f.id for f in CustomField.select() if getattr(types.get(f.type_id), "is_file", False)]
    if not file_fields:
        return []
    ids = []
    for row in ContactValue.select(ContactValue.value).where(
            (ContactValue.contact == contact.id) & ContactValue.field.in_(file_fields)):
        if str(row.value).isdigit():
            ids.append(int(row.value))
    return ids


def _kept(key: str, value) -> bool:
    if key not in KEPT_EVENT_KEYS:
        return False
    if isinstance(value, str):
        return "@" not in value and len(value) <= 100
    return isinstance(value, (int, float, bool, type(None)))


def _scrub_events(contact_id: int) -> None:
    for event in Event.select(Event.id, Event.data).where(Event.contact == contact_id):
        data = event.data or {}
        kept = {key: value for key, value in data.items() if _kept(key, value)}
        if kept != data:
            Event.update(data=kept).where(Event.id == event.id).execute()


def erase(contact: Contact, mode: str, reason: str = "request", user=None) -> dict:
    """Erase ``contact``; returns a summary ``{mode, contact_id, files}``."""
    if mode not in ERASE_MODES:
        raise ErasureError(f"Unknown erasure mode “{mode}”: use delete or pseudonymise.")
    if is_erased(contact.id):
        raise ErasureError("This contact was already pseudonymised.")
    contact_id, email = contact.id, contact.email
    file_paths = []
    try:
        with write_transaction(state().database):
            state().hooks.call("contact_erase", contact=contact, mode=mode)
            file_ids = _file_ids(contact)
            for stored in StoredFile.select().where(StoredFile.id.in_(file_ids)) if file_ids else ():
                file_paths.append(stored.path)
            ContactValue.delete().where(ContactValue.contact == contact_id).execute()
            if file_ids:
                StoredFile.delete().where(StoredFile.id.in_(file_ids)).execute()
            suppress(email, reason="retention" if reason == "retention" else "erasure")
            if mode == "delete":
                ContactTag.delete().where(ContactTag.contact == contact_id).execute()
                Event.delete().where(Event.contact == contact_id).execute()
                delete_contact(contact)
            else:
                _scrub_events(contact_id)
                Contact.update(email=None, first_name="", last_name="", updated_at=utcnow()).where(
                    Contact.id == contact_id).execute()
                ErasedContact.insert(contact=contact_id, mode=mode).on_conflict_ignore().execute()
                contact.email, contact.first_name, contact.last_name = None, "", ""
            log_action(f"erase.{mode}", contact_id, user=user, reason=reason, files=len(file_paths))
    except ErasureError:
        raise
    except Exception as error:
        log.exception("erasure of contact %s aborted", contact_id)
        raise ErasureError(f"The erasure was aborted and nothing was changed: {error}") from error
    _remove_files(file_paths)
    return {"mode": mode, "contact_id": contact_id, "files": len(file_paths)}


def _remove_files(paths: list[str]) -> None:
    uploads = state().config.uploads_path
    for relative in paths:
        try:
            open_stored(relative, uploads).unlink(missing_ok=True)
        except Exception:  # the row is gone already; a leftover file is logged for the operator
            log.exception("could not remove erased file %s", relative)
