"""The event kinds the scoring plugin owns (registered by ``register_event_kinds``)."""
from __future__ import annotations

from core import EventKind, Setting, translation_domain

_l = translation_domain(__name__).lazy_gettext


def scoring_event_kinds() -> list[EventKind]:
    return [
        EventKind("points_changed", _l("Points changed"), verb="gain or lose points", past="gained or lost points",
                  properties={"delta": "points added (negative: removed)", "total": "the new total",
                              "reason": "why", "source": "point action, trigger, decay, manual...",
                              "source_id": "the rule's id", "change_id": "the ledger row"}),
        EventKind("points_threshold_crossed", _l("Points crossed a threshold"), verb="cross a points threshold",
                  past="crossed a points threshold", can_trigger=True,
                  properties={"trigger_id": "the point trigger", "threshold": "its threshold",
                              "total": "the contact's points then", "name": "the trigger's name"},
                  trigger_settings=[Setting("threshold", _l("Threshold (empty: any)"), kind="int")],
                  description=_l("Thresholds are defined by the scoring plugin's point triggers.")),
    ]
