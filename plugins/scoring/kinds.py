"""The event kinds the scoring plugin owns (registered by ``register_event_kinds``),
and how the contact's history words their data."""
from __future__ import annotations

from core import EventKind, Setting, translation_domain

from .models import SOURCE_TYPES
from .reasons import explain_reason

_, _l = translation_domain(__name__).pair()


def points_changed_details(data: dict) -> list[tuple[str, str]]:
    """``Points: +5 · Total: 30 · Reason: … · Source: Point action``."""
    source = str(data.get("source") or "")
    rows = [(_("Points"), f"{int(data.get('delta') or 0):+d}"), (_("Total"), str(data.get("total", "")))]
    if data.get("reason"):
        rows.append((_("Reason"), explain_reason(str(data["reason"]), source)))
    if source:
        rows.append((_("Source"), str(SOURCE_TYPES.get(source, source))))
    return rows


def threshold_details(data: dict) -> list[tuple[str, str]]:
    """``Trigger: Hot lead · Threshold: 100 · Points then: 104``."""
    return [(_("Trigger"), str(data.get("name") or "")), (_("Threshold"), str(data.get("threshold", ""))),
            (_("Points then"), str(data.get("total", "")))]


def scoring_event_kinds() -> list[EventKind]:
    return [
        EventKind("points_changed", _l("Points changed"), verb=_l("gain or lose points"),
                  past=_l("gained or lost points"), negative_past=_l("did not gain or lose points"),
                  properties={"delta": _l("points added (negative: removed)"), "total": _l("the new total"),
                              "reason": _l("why"), "source": _l("point action, trigger, decay, manual..."),
                              "source_id": _l("the rule's id"), "change_id": _l("the ledger row")},
                  details=points_changed_details, changes=("points",)),
        EventKind("points_threshold_crossed", _l("Points crossed a threshold"), verb=_l("cross a points threshold"),
                  past=_l("crossed a points threshold"), negative_past=_l("did not cross a points threshold"),
                  can_trigger=True,
                  properties={"trigger_id": _l("the point trigger"), "threshold": _l("its threshold"),
                              "total": _l("the contact's points then"), "name": _l("the trigger's name")},
                  trigger_settings=[Setting("threshold", _l("Threshold (empty: any)"), kind="int")],
                  description=_l("Thresholds are defined by the scoring plugin's point triggers."),
                  details=threshold_details),
    ]
