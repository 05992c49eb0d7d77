"""The ``points.change`` action of the actions registry: workflows (profile
points through a segment + workflow, nurturing steps), forms (points on every
submission) and point triggers give or take points with it. Unlike a point
action it applies every time it runs, but at most once per ``context["key"]``
(a retried job does not count twice)."""
from __future__ import annotations

from core import Action, Setting, translation_domain

from .ledger import Change, ScoringError, parse_delta, record_change
from .models import SOURCE_TYPES
from .reasons import DEFAULT_REASONS

_, _l = translation_domain(__name__).pair()

#: context keys that say who ran the action, in order of preference
_SOURCE_KEYS = (("workflow_id", "workflow"), ("form_id", "form"), ("trigger_id", "trigger"))


def source_of(context: dict) -> tuple[str, str]:
    """``(source type, source id)`` from an action context."""
    for key, source_type in _SOURCE_KEYS:
        if context.get(key) not in (None, ""):
            return source_type, str(context[key])
    source = str(context.get("source") or "")
    if source in SOURCE_TYPES and source not in ("manual", "decay", "point_action"):
        return source, str(context.get("source_id") or "")
    return "action", str(context.get("source_id") or "")


def change_points(contact, settings: dict, context: dict | None = None):
    """Run ``points.change``: add ``settings["delta"]`` (negative to take away).
    Returns a line for the caller's log (workflows show it)."""
    context = context or {}
    settings = settings or {}
    try:
        delta = parse_delta(settings.get("delta"))
    except ScoringError as error:
        raise ScoringError(_("Change points: %(error)s", error=error)) from None
    source_type, source_id = source_of(context)
    reason = str(settings.get("reason") or "").strip() or DEFAULT_REASONS[source_type]
    key = context.get("key")
    event_id = context.get("event_id")
    row = record_change(Change(
        contact.id, delta, reason, source_type, source_id=source_id,
        event_id=int(event_id) if str(event_id or "").isdigit() else None,
        key=f"points.change:{key}" if key else None,
    ))
    if row is None:
        return "already applied"
    return f"{row.delta:+d} points (total {row.total})"


def points_action() -> Action:
    return Action(
        "points.change", _l("Change the contact's points"), run=change_points,
        description=_l("Adds (or with a negative number, removes) points, with a reason shown in the "
                       "contact's points history. Applies each time it runs."),
        settings=[Setting("delta", _l("Points"), kind="int", required=True, help=_l("e.g. 10 or -5")),
                  Setting("reason", _l("Reason"), help=_l("Shown in the contact's points history."))],
    )
