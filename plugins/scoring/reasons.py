"""Why a score changed, in the reader's language.

The ledger stores reasons as written: the names of point actions and the
reasons typed by users stay as they are. The reasons Couvée writes itself
(decay, the defaults of the ``points.change`` action, the erasure's
placeholder) are stored in English and translated here when shown."""
from __future__ import annotations

import re

from core import translation_domain

from .models import PointChange

_, _l = translation_domain(__name__).pair()

#: the English texts written by the decay job (see :mod:`.decay`)
REASON_PERCENT = "decay: {percent}% after {days} days without interaction"
REASON_EXPIRE = "decay: points older than {days} days expired"
#: what the erasure leaves of a manual reason (see :mod:`.privacy`)
SCRUBBED = "(reason removed on erasure)"
#: the reasons of ``points.change`` when its settings give none, by source type
DEFAULT_REASONS = {"workflow": "Workflow", "form": "Form submitted", "trigger": "Point trigger",
                   "action": "Points changed"}

_PERCENT = re.compile(r"^decay: (\d+)% after (\d+) days without interaction$")
_EXPIRE = re.compile(r"^decay: points older than (\d+) days expired$")


def _default_reason(source_type: str) -> str:
    if source_type == "workflow":
        return _("Workflow")
    if source_type == "form":
        return _("Form submitted")
    if source_type == "trigger":
        return _("Point trigger")
    return _("Points changed")


def _decay_reason(reason: str) -> str:
    found = _PERCENT.match(reason)
    if found:
        return _("Decay: %(percent)s%% after %(days)s days without interaction",
                 percent=found.group(1), days=found.group(2))
    found = _EXPIRE.match(reason)
    if found:
        return _("Decay: points older than %(days)s days expired", days=found.group(1))
    return reason


def explain_reason(reason: str, source_type: str) -> str:
    """A stored reason, from a change of ``source_type``, as the reader should see it."""
    reason = reason or ""
    if source_type == "decay":
        return _decay_reason(reason)
    if source_type == "manual" and reason == SCRUBBED:
        return _("(reason removed on erasure)")
    if DEFAULT_REASONS.get(source_type) == reason:
        return _default_reason(source_type)
    return reason


def explain(change: PointChange) -> str:
    """The reason of a ledger row as the reader should see it."""
    return explain_reason(change.reason, change.source_type)
