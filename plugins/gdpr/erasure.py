"""Erasure (right to be forgotten) and pseudonymisation, as the GDPR plugin
offers them: core's :func:`core.erase_contact` (every plugin's
``contact_erase``, then core's data) with, in the same transaction, what only
this plugin keeps:

- a salted hash of the address on the suppression list (the person is never
  re-created by an import or a form);
- for ``pseudonymise``, the erased marker (the kept row never receives
  anything again);
- an audit line saying who erased whom, why and how many files went.
"""
from __future__ import annotations

from core import Contact, ErasureError, erase_contact

from .audit import log_action
from .models import ErasedContact
from .suppression import suppress

__all__ = ["ErasureError", "erase", "is_erased"]


def is_erased(contact_id: int) -> bool:
    return ErasedContact.select().where(ErasedContact.contact == contact_id).exists()


def erase(contact: Contact, mode: str, reason: str = "request", user=None) -> dict:
    """Erase ``contact``; returns a summary ``{mode, contact_id, files}``."""
    if is_erased(contact.id):
        raise ErasureError("This contact was already pseudonymised.")

    def record(contact_id: int, email: str | None, files: int) -> None:
        suppress(email, reason="retention" if reason == "retention" else "erasure")
        if mode != "delete":
            ErasedContact.insert(contact=contact_id, mode=mode).on_conflict_ignore().execute()
        log_action(f"erase.{mode}", contact_id, user=user, reason=reason, files=files)

    return erase_contact(contact, mode, in_transaction=record)
