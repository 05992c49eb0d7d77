"""What the admin shows for the stored states of newsletters and sent
messages (the database keeps the English identifiers)."""
from __future__ import annotations

import re

from core import translation_domain

_l = translation_domain(__name__).lazy_gettext
ngettext = translation_domain(__name__).ngettext

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
#: the reasons this plugin records for a message not sent (stored in English) -> their label
REASON_LABELS = {
    "unsubscribed": _l("unsubscribed"),
    "bounced": _l("bounced"),
    "hard bounce": _l("hard bounce"),
    "no address": _l("no address"),
    "no email address": _l("no email address"),
    "newsletter cancelled": _l("newsletter cancelled"),
    # a recipient put back in the queue, to try again later
    "domain rate limit": _l("this domain's sending limit is reached"),
    "outside the send window": _l("outside the send window"),
    "rate limit": _l("the sending rate limit is reached"),
}
_SOFT_BOUNCES = re.compile(r"^(?:bounced \()?(\d+)\+? soft bounces\)?$")
#: a bounce's type -> its label
BOUNCE_LABELS = {"hard": _l("hard bounce"), "soft": _l("soft bounce")}


def status_label(status: str) -> str:
    """The label of a newsletter's or a message's ``status`` (itself when unknown)."""
    return str(STATUS_LABELS.get(status, status))


def bounce_label(bounce: str) -> str:
    return str(BOUNCE_LABELS.get(bounce, f"{bounce} bounce"))


def reason_label(reason: str) -> str:
    """The label of a skip or block reason the email plugin records; another
    plugin's reason (a consent veto...) is shown as recorded."""
    if reason in REASON_LABELS:
        return str(REASON_LABELS[reason])
    soft = _SOFT_BOUNCES.match(reason or "")
    if soft:
        return ngettext("%(num)d soft bounce", "%(num)d soft bounces", int(soft.group(1)))
    return reason
