"""What the admin shows for the stored states of newsletters and sent
messages (the database keeps the English identifiers)."""
from __future__ import annotations

from core import translation_domain

_l = translation_domain(__name__).lazy_gettext

#: newsletter and send-log states -> their label
STATUS_LABELS = {
    "draft": _l("draft"),
    "scheduled": _l("scheduled"),
    "sending": _l("sending"),
    "paused": _l("paused"),
    "sent": _l("sent"),
    "cancelled": _l("cancelled"),
    "queued": _l("queued"),
    "skipped": _l("skipped"),
    "failed": _l("failed"),
}
#: a bounce's type -> its label
BOUNCE_LABELS = {"hard": _l("hard bounce"), "soft": _l("soft bounce")}


def status_label(status: str) -> str:
    """The label of a newsletter's or a message's ``status`` (itself when unknown)."""
    return str(STATUS_LABELS.get(status, status))


def bounce_label(bounce: str) -> str:
    return str(BOUNCE_LABELS.get(bounce, f"{bounce} bounce"))
