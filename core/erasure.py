"""Erasing a contact (right to be forgotten), whatever plugins are active.

:func:`erase_contact` runs in one transaction:

1. every plugin's ``contact_erase(contact, mode)`` (a strict hook: if one
   raises, nothing is erased and :class:`ErasureError` says why);
2. core's data: custom values and uploaded files always; then ``delete``
   removes tags, the timeline and the contact row, while ``pseudonymise``
   keeps the row and the statistics (no email or name, events keep their
   kind, date and non-identifying keys);
3. ``in_transaction(contact_id, email, files)`` if given, before the commit
   (the GDPR plugin adds its suppression list, erased marker and audit line).

Files are removed from disk only after the transaction commits. The admin's
and the REST API's "delete contact" go through here, so every plugin forgets
the person even without the GDPR plugin.
"""
from __future__ import annotations

import logging
from typing import Callable, Optional

from .contacts import delete_contact
from .db import write_transaction
from .files import open_stored
from .models import Contact, ContactTag, ContactValue, CustomField, Event, StoredFile, utcnow
from .state import state

log = logging.getLogger("couvee.erasure")

ERASE_MODES = ("delete", "pseudonymise")

#: event data keys kept by pseudonymisation (ids, kinds and counters, never what a person typed)
KEPT_EVENT_KEYS = frozenset({
    "purpose", "source", "form_id", "email_id", "newsletter_id", "kind", "segment_id", "workflow_id", "site_id",
    "delta", "total", "type", "machine", "trigger_id", "threshold", "utm_source", "utm_medium", "utm_campaign",
    "asset_id", "link_id", "text_version", "submission_id",
})


class ErasureError(RuntimeError):
    """The erasure was refused or failed; nothing was changed."""


def erase_contact(contact: Contact, mode: str,
                  in_transaction: Optional[Callable[[int, Optional[str], int], None]] = None) -> dict:
    """Erase ``contact`` (``mode``: ``delete`` or ``pseudonymise``); returns
    ``{mode, contact_id, files}``. Raises :class:`ErasureError` when refused or
    aborted (then nothing changed)."""
    if mode not in ERASE_MODES:
        raise ErasureError(f"Unknown erasure mode “{mode}”: use delete or pseudonymise.")
    contact_id, email = contact.id, contact.email
    file_paths: list[str] = []
    try:
        with write_transaction(state().database):
            state().hooks.call("contact_erase", contact=contact, mode=mode)
            file_paths = _erase_values_and_files(contact_id)
            if mode == "delete":
                ContactTag.delete().where(ContactTag.contact == contact_id).execute()
                Event.delete().where(Event.contact == contact_id).execute()
                delete_contact(contact)
            else:
                _scrub_events(contact_id)
                Contact.update(email=None, first_name="", last_name="", updated_at=utcnow()).where(
                    Contact.id == contact_id).execute()
                contact.email, contact.first_name, contact.last_name = None, "", ""
            if in_transaction is not None:
                in_transaction(contact_id, email, len(file_paths))
    except ErasureError:
        raise
    except Exception as error:
        log.exception("erasure of contact %s aborted", contact_id)
        raise ErasureError(f"The erasure was aborted and nothing was changed: {error}") from error
    _remove_files(file_paths)
    return {"mode": mode, "contact_id": contact_id, "files": len(file_paths)}


def _erase_values_and_files(contact_id: int) -> list[str]:
    """Delete the contact's custom values and stored files' rows; return the files' paths."""
    file_ids = _file_ids(contact_id)
    paths = [stored.path for stored in StoredFile.select().where(StoredFile.id.in_(file_ids))] if file_ids else []
    ContactValue.delete().where(ContactValue.contact == contact_id).execute()
    if file_ids:
        StoredFile.delete().where(StoredFile.id.in_(file_ids)).execute()
    return paths


def _file_ids(contact_id: int) -> list[int]:
    types = state().registries.field_types
    file_fields = [f.id for f in CustomField.select() if getattr(types.get(f.type_id), "is_file", False)]
    if not file_fields:
        return []
    rows = ContactValue.select(ContactValue.value).where(
        (ContactValue.contact == contact_id) & ContactValue.field.in_(file_fields))
    return [int(row.value) for row in rows if str(row.value).isdigit()]


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


def _remove_files(paths: list[str]) -> None:
    uploads = state().config.uploads_path
    for relative in paths:
        try:
            open_stored(relative, uploads).unlink(missing_ok=True)
        except Exception:  # the row is gone already; a leftover file is logged for the operator
            log.exception("could not remove erased file %s", relative)
