"""The event kind the imports plugin emits: ``consent_imported``, one per
imported contact who consented (a consent column or a declaration for the
whole file, see :mod:`.consent`). A consent ledger (the gdpr plugin) listens
for it by name."""
from __future__ import annotations

from core import EventKind, translation_domain

_l = translation_domain(__name__).lazy_gettext

IMPORTED_CONSENT = "consent_imported"


def imports_event_kinds() -> list[EventKind]:
    return [
        EventKind(IMPORTED_CONSENT, _l("Consent imported"), verb=_l("have a consent imported"),
                  past=_l("had a consent imported"), negative_past=_l("did not have a consent imported"),
                  properties={"purpose": "e.g. email_marketing", "at": "when the person agreed (ISO 8601) or null",
                              "text": "the proof note and the source file", "file": "the imported file's name",
                              "collected_by": "where the consent was collected", "import_id": "the import"},
                  description=_l("A CSV import said this person agreed (a consent column or a declaration for "
                                 "the whole file); a consent ledger records it.")),
    ]
