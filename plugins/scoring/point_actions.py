"""Point actions (Points > Actions): give points once per contact when an
event matches.

:func:`evaluate_event` runs in the worker's ``contact_event`` hook. The
"once" is a unique ``(point_action, contact)`` row claimed in the ledger's
transaction (see :mod:`.ledger`), so the same event delivered twice, or two
workers handling two matching events of one contact at the same moment,
give the points once.
"""
from __future__ import annotations

from core import Event, batch_memo, event_kinds, translation_domain

from .kinds import scoring_event_kinds
from .ledger import Change, ScoringError, award_claim, parse_delta, record_change
from .models import PointAction, PointAward
from .urls import check_pattern, url_matches

_ = translation_domain(__name__).gettext

#: kinds our own changes emit: never worth points (a loop waiting to happen)
OWN_KINDS = frozenset(kind.id for kind in scoring_event_kinds())
#: what names the one thing an action can be limited to ("only this form"):
#: the first property of the event kind whose key ends with this (see target_key)
TARGET_SUFFIX = "_id"


def known_kinds() -> list[tuple[str, str]]:
    """The kinds offered in the form, ``(id, label)`` sorted by label: every
    event kind registered by an active plugin (or core), but ours."""
    return sorted(((kind.id, kind.label) for kind in event_kinds() if kind.id not in OWN_KINDS),
                  key=lambda choice: str(choice[1]).lower())


def kind_registered(kind: str) -> bool:
    """False for a saved action whose kind's plugin is no longer active: it
    stays, shown as inactive, and gives points again once the plugin is back."""
    return kind in event_kinds()


def kind_label(kind: str) -> str:
    found = event_kinds().get(kind)
    return found.label if found else kind.replace("_", " ").capitalize()


def target_key(kind: str) -> str:
    """The data key holding what an action on ``kind`` can be limited to,
    from the kind's registered properties: its first ``…_id`` (``form_id``
    for form submissions), else its ``name`` (a tracked event's name)."""
    found = event_kinds().get(kind)
    properties = found.properties if found else {}
    keys = [key for key in properties if key.endswith(TARGET_SUFFIX)]
    return keys[0] if keys else ("name" if "name" in properties else "id")


def clean(values: dict, saved_kind: str = "") -> tuple[dict, dict]:
    """Validate the action form; return ``(cleaned, errors by field)``.

    The kind must be registered; ``saved_kind`` (the action's kind before this
    edit) is kept even when its plugin is off, so an inactive action can be
    renamed or paused without losing what it counts."""
    errors, cleaned = {}, {}
    cleaned["name"] = " ".join(str(values.get("name", "")).split())[:200]
    if not cleaned["name"]:
        errors["name"] = _("Give the action a name.")
    try:
        cleaned["delta"] = parse_delta(values.get("delta"))
    except ScoringError as error:
        errors["delta"] = str(error)
    kind = str(values.get("kind") or "").strip()[:64]
    if not kind:
        errors["kind"] = _("Choose what the contact does.")
    elif kind in OWN_KINDS:
        errors["kind"] = _("Points cannot be given for a change of points.")
    elif not kind_registered(kind) and kind != saved_kind:
        errors["kind"] = _("“%(kind)s” is not an event any active plugin records: choose what the contact "
                           "does from the list.", kind=kind)
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
    if data.get("machine"):
        return False  # e.g. an email opened by a privacy proxy, not by the person
    if action.target_id and str(data.get(target_key(action.kind), "")) != action.target_id:
        return False
    if action.url_pattern:
        return url_matches(action.url_pattern, action.url_mode, str(data.get("url") or ""))
    return True


def evaluate_event(event: Event) -> list:
    """Award every matching point action the contact has not had yet."""
    if event.kind in OWN_KINDS:
        return []
    actions = batch_memo(f"scoring.point_actions:{event.kind}", lambda: list(
        PointAction.select().where((PointAction.kind == event.kind) & PointAction.active).order_by(PointAction.id)))
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
