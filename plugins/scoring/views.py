"""Points in the admin: overview (tiers, distribution chart, latest changes),
Actions, Triggers, Settings, and the manual adjustment from the contact page."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from core import Contact, current_user, roles_required, translation_domain

from . import point_actions, reasons, tiers, trigger_form, triggers
from .chart import histogram_svg
from .ledger import Change, ScoringError, parse_delta, record_change
from .models import DECAY_MODES, SOURCE_TYPES, PointAction, PointChange, PointTrigger
from .urls import MODES

scoring_admin = Blueprint("scoring", __name__, url_prefix="/admin/points")
EDITORS = ("admin", "marketer")
_ = translation_domain(__name__).gettext


def _can_edit() -> bool:
    user = current_user()
    return user is not None and user.role in EDITORS


# --- overview ---------------------------------------------------------------------


@scoring_admin.route("")
def index():
    settings = tiers.current()
    recent = list(PointChange.select(PointChange, Contact).join(Contact)
                  .order_by(PointChange.created_at.desc(), PointChange.id.desc()).limit(20))
    return render_template(
        "scoring/index.html", settings=settings, counts=tiers.tier_counts(settings), tiers=tiers.TIERS,
        chart=histogram_svg(tiers.distribution(), settings.warm_from, settings.hot_from), recent=recent,
        sources=SOURCE_TYPES, explain=reasons.explain, action_count=PointAction.select().count(),
        trigger_count=PointTrigger.select().count(), decay_modes=DECAY_MODES,
    )


# --- point actions ---------------------------------------------------------------------


@scoring_admin.route("/actions")
def actions():
    rows = list(PointAction.select().order_by(PointAction.name, PointAction.id))
    return render_template("scoring/actions.html", actions=rows, can_edit=_can_edit(),
                           counts=point_actions.award_counts([a.id for a in rows]),
                           kind_label=point_actions.kind_label, kind_registered=point_actions.kind_registered)


def _action_values(action: PointAction | None) -> dict:
    if action is None:
        return {"name": "", "delta": "", "kind": "page_visited", "target_id": "",
                "url_pattern": "", "url_mode": "glob", "active": True}
    return {"name": action.name, "delta": action.delta, "kind": action.kind, "target_id": action.target_id,
            "url_pattern": action.url_pattern, "url_mode": action.url_mode, "active": action.active}


def _kind_choices(action: PointAction | None) -> list[tuple[str, str]]:
    """The registered kinds, plus a saved action's own kind when its plugin is off."""
    choices = point_actions.known_kinds()
    if action is not None and not point_actions.kind_registered(action.kind):
        choices.append((action.kind, _("%(kind)s (its plugin is not active)", kind=action.kind)))
    return choices


def _edit_action(action: PointAction | None):
    values, errors = _action_values(action), {}
    if request.method == "POST":
        values = {key: request.form.get(key, "") for key in values}
        values["active"] = request.form.get("active") == "1"
        cleaned, errors = point_actions.clean({**request.form.to_dict(), "active": values["active"]},
                                              saved_kind=action.kind if action is not None else "")
        if not errors:
            if action is None:
                action = PointAction.create(**cleaned)
            else:
                PointAction.update(**cleaned).where(PointAction.id == action.id).execute()
            flash(_("The point action “%(name)s” was saved.", name=cleaned["name"]))
            return redirect(url_for("scoring.actions"))
    return render_template(
        "scoring/action_form.html", action=action, values=values, errors=errors,
        kinds=_kind_choices(action), modes=MODES,
    ), (400 if errors else 200)


@scoring_admin.route("/actions/new", methods=["GET", "POST"])
@roles_required(*EDITORS)
def action_new():
    return _edit_action(None)


@scoring_admin.route("/actions/<int:action_id>/edit", methods=["GET", "POST"])
@roles_required(*EDITORS)
def action_edit(action_id):
    return _edit_action(PointAction.get_or_none(PointAction.id == action_id) or abort(404))


@scoring_admin.route("/actions/<int:action_id>/delete", methods=["POST"])
@roles_required(*EDITORS)
def action_delete(action_id):
    action = PointAction.get_or_none(PointAction.id == action_id) or abort(404)
    action.delete_instance()
    flash(_("The point action “%(name)s” was deleted; points already given stay in the history.",
            name=action.name))
    return redirect(url_for("scoring.actions"))


# --- point triggers --------------------------------------------------------------------


@scoring_admin.route("/triggers")
def triggers_index():
    rows = list(PointTrigger.select().order_by(PointTrigger.threshold, PointTrigger.id))
    return render_template("scoring/triggers.html", triggers=rows, can_edit=_can_edit(),
                           stats=triggers.stats([t.id for t in rows]), describe=trigger_form.describe,
                           progress=triggers.progress)


def _trigger_values(trigger: PointTrigger | None) -> dict:
    if trigger is None:
        return {"name": "", "threshold": "", "retroactive": False, "active": True}
    return {"name": trigger.name, "threshold": trigger.threshold, "retroactive": trigger.retroactive,
            "active": trigger.active}


def _render_trigger(trigger, values, rows, errors, status=200):
    return render_template("scoring/trigger_form.html", trigger=trigger, values=values, errors=errors,
                           rows=trigger_form.draw(rows), choices=trigger_form.action_choices()), status


def _edit_trigger(trigger: PointTrigger | None):
    if request.method == "GET":
        return _render_trigger(trigger, _trigger_values(trigger), trigger_form.rows_of(trigger), {})
    rows = trigger_form.parse_rows(request.form)
    button = request.form.get("op", "save")
    values, errors = trigger_form.clean(request.form, rows)
    if button != "save":
        return _render_trigger(trigger, values, trigger_form.apply_button(rows, button) or [
            {"action": "", "settings": {}}], {})
    if errors:
        return _render_trigger(trigger, values, rows or [{"action": "", "settings": {}}], errors, 400)
    restart = values["retroactive"] and values["active"] and (
        trigger is None or not trigger.retroactive or not trigger.active or trigger.threshold != values["threshold"])
    if trigger is None:
        trigger = PointTrigger.create(**values)
    else:
        PointTrigger.update(**values).where(PointTrigger.id == trigger.id).execute()
        trigger = PointTrigger.get_by_id(trigger.id)
    if restart:
        triggers.start_retroactive(trigger)
        total = PointTrigger.get_by_id(trigger.id).retro_total
        flash(_("The trigger “%(name)s” was saved; it is being applied in the background to the %(total)s "
                "contacts who already have %(threshold)s points or more.", name=trigger.name, total=total,
                threshold=trigger.threshold))
    else:
        flash(_("The trigger “%(name)s” was saved.", name=trigger.name))
    return redirect(url_for("scoring.triggers_index"))


@scoring_admin.route("/triggers/new", methods=["GET", "POST"])
@roles_required(*EDITORS)
def trigger_new():
    return _edit_trigger(None)


@scoring_admin.route("/triggers/<int:trigger_id>/edit", methods=["GET", "POST"])
@roles_required(*EDITORS)
def trigger_edit(trigger_id):
    return _edit_trigger(PointTrigger.get_or_none(PointTrigger.id == trigger_id) or abort(404))


@scoring_admin.route("/triggers/<int:trigger_id>/delete", methods=["POST"])
@roles_required(*EDITORS)
def trigger_delete(trigger_id):
    trigger = PointTrigger.get_or_none(PointTrigger.id == trigger_id) or abort(404)
    trigger.delete_instance()
    flash(_("The trigger “%(name)s” was deleted.", name=trigger.name))
    return redirect(url_for("scoring.triggers_index"))


# --- settings ----------------------------------------------------------------------------


@scoring_admin.route("/settings", methods=["GET", "POST"])
@roles_required(*EDITORS)
def settings():
    row, errors, typed = tiers.current(), {}, {}
    if request.method == "POST":
        row, errors = tiers.save(request.form)
        if not errors:
            flash(_("Points settings saved."))
            return redirect(url_for("scoring.settings"))
        typed = request.form.to_dict()  # shown back as typed: nothing is lost
    return render_template("scoring/settings.html", settings=row, errors=errors, typed=typed,
                           decay_modes=DECAY_MODES), (400 if errors else 200)


# --- manual adjustment -------------------------------------------------------------------


@scoring_admin.route("/contacts/<int:contact_id>/adjust", methods=["POST"])
def adjust(contact_id):
    """Add or remove points by hand, with a reason (from the contact page)."""
    contact = Contact.get_or_none(Contact.id == contact_id) or abort(404)
    reason = " ".join(request.form.get("reason", "").split())
    nonce = "".join(ch for ch in request.form.get("nonce", "") if ch.isalnum())[:40]
    try:
        delta = parse_delta(request.form.get("delta"))
        if not reason:
            raise ScoringError(_("Say why the points change (the reason is shown in the history)."))
        row = record_change(Change(contact.id, delta, reason, "manual", source_id=str(current_user().id),
                                   key=f"manual:{contact.id}:{nonce}" if nonce else None,
                                   user_id=current_user().id))
    except ScoringError as error:
        flash(_("The points were not changed: %(error)s", error=error), "error")
    else:
        if row is None:
            flash(_("This adjustment was already recorded."))
        else:
            shown = f"{delta:+d}"
            flash(_("%(delta)s points recorded; the score is now %(total)s.", delta=shown, total=row.total))
    return redirect(url_for("admin.contact", contact_id=contact.id))
