"""Point actions (Points > Actions): give points once per contact when an
event matches.

:func:`evaluate_event` runs in the worker's ``contact_event`` hook. The
"once" is a unique ``(point_action, contact)`` row claimed in the ledger's
transaction (see :mod:`.ledger`), so the same event delivered twice, or two
workers handling two matching events of one contact at the same moment,
give the points once.
"""
from __future__ import annotations

import re

from core import Event, state

from .ledger import Change, ScoringError, award_claim, parse_delta, record_change
from .models import PointAction, PointAward
from .urls import check_pattern, url_matches

#: the kinds the source article names, with their labels
BUILTIN_KINDS = {
    "asset_downloaded": "Downloads an asset",
    "email_opened": "Opens an email",
    "email_clicked": "Clicks a link in an email",
    "page_visited": "Visits a page",
    "form_submitted": "Submits a form",
}
#: which data key holds the id an action can be limited to
TARGET_KEYS = {"asset_downloaded": "asset_id", "email_opened": "email_id", "email_clicked": "email_id",
               "form_submitted": "form_id"}
TARGET_LABELS = {"asset_id": "Asset id", "email_id": "Email id", "form_id": "Form id"}
#: kinds our own changes emit: never worth points (a loop waiting to happen)
OWN_KINDS = frozenset({"points_changed", "points_threshold_crossed"})
KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_.]{0,63}$")


def known_kinds() -> list[tuple[str, str]]:
    """Kinds offered in the form: the built-in ones, then those plugins declare
    through their trigger types (``event_kinds``)."""
    kinds = dict(BUILTIN_KINDS)
    for trigger_type in state().registries.trigger_types:
        for kind in trigger_type.event_kinds or ():
            if kind not in kinds and kind not in OWN_KINDS:
                kinds[kind] = kind.replace("_", " ").capitalize()
    return list(kinds.items())


def kind_label(kind: str) -> str:
    return BUILTIN_KINDS.get(kind) or kind.replace("_", " ").capitalize()


def clean(values: dict) -> tuple[dict, dict]:
    """Validate the action form; return ``(cleaned, errors by field)``."""
    errors, cleaned = {}, {}
    cleaned["name"] = " ".join(str(values.get("name", "")).split())[:200]
    if not cleaned["name"]:
        errors["name"] = "Give the action a name."
    try:
        cleaned["delta"] = parse_delta(values.get("delta"))
    except ScoringError as error:
        errors["delta"] = str(error)
    kind = str(values.get("other_kind") or "").strip() if values.get("kind") == "other" \
        else str(values.get("kind") or "").strip()
    if not KIND_PATTERN.match(kind):
        errors["kind"] = "Choose what the contact does (or type an event kind like webinar_attended)."
    elif kind in OWN_KINDS:
        errors["kind"] = "Points cannot be given for a change of points."
    cleaned["kind"] = kind
    cleaned["target_id"] = str(values.get("target_id") or "").strip()[:64]
    cleaned["url_pattern"] = str(values.get("url_pattern") or "").strip()
    cleaned["url_mode"] = str(values.get("url_mode") or "glob")
    problem = check_pattern(cleaned["url_pattern"], cleaned["url_mode"])
    if problem:
        errors["url_pattern"] = problem
    cleaned["active"] = values.get("active") in ("1", "on", True)
    return cleaned, errors


def matches(action: PointAction, event: Event) -> bool:
    """Does ``event`` satisfy the action's conditions (kind is checked by the query)?"""
    data = event.data or {}
    if event.kind == "email_opened" and data.get("machine"):
        return False  # opened by a privacy proxy, not by the person
    target_key = TARGET_KEYS.get(action.kind, "id")
    if action.target_id and str(data.get(target_key, "")) != action.target_id:
        return False
    if action.url_pattern:
        return url_matches(action.url_pattern, action.url_mode, str(data.get("url") or ""))
    return True


def evaluate_event(event: Event) -> list:
    """Award every matching point action the contact has not had yet."""
    if event.kind in OWN_KINDS:
        return []
    actions = list(PointAction.select().where((PointAction.kind == event.kind) & PointAction.active)
                   .order_by(PointAction.id))
    if not actions:
        return []
    had = {row.point_action_id for row in PointAward.select(PointAward.point_action).where(
        (PointAward.contact == event.contact_id) & PointAward.point_action.in_([a.id for a in actions]))}
    written = []
    for action in actions:
        if action.id in had or not matches(action, event):
            continue
        row = award(action, event)
        if row is not None:
            written.append(row)
    return written


def award(action: PointAction, event: Event):
    """Give the action's points for ``event`` unless the contact had them."""
    claim, check = award_claim(action.id, event.contact_id, event.id)
    change = Change(event.contact_id, action.delta, action.name, "point_action", source_id=str(action.id),
                    event_id=event.id)
    return record_change(change, claim=claim, claim_check=check)


def award_counts(action_ids: list[int]) -> dict[int, int]:
    from peewee import fn

    rows = (PointAward.select(PointAward.point_action, fn.COUNT(PointAward.id).alias("n"))
            .where(PointAward.point_action.in_(action_ids)).group_by(PointAward.point_action))
    return {row.point_action_id: row.n for row in rows}
