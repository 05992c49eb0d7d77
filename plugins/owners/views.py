"""``/admin/assignment``: assignment rules, the round-robin pool and the
"apply rules to contacts without owner" button (admins only)."""
from __future__ import annotations

import peewee
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from core import ROLES, Contact, CustomField, User, get_setting, roles_required, store_setting, translation_domain

from . import assignment, rules as rules_mod
from .models import AssignmentRule

_ = translation_domain(__name__).gettext

owners_blueprint = Blueprint("owners", __name__, url_prefix="/admin/assignment")


def _rule(rule_id: int) -> AssignmentRule:
    return AssignmentRule.get_or_none(AssignmentRule.id == rule_id) or abort(404)


def _form_context(form=None, errors=None) -> dict:
    return {
        "form": form or {}, "errors": errors or {}, "rule_fields": rules_mod.rule_fields(),
        "operators": rules_mod.OPERATOR_LABELS,
        "users": list(User.select().where(User.is_active == True).order_by(User.email)),  # noqa: E712
    }


def _render_index(form=None, errors=None, status=200):
    rules = list(AssignmentRule.select(AssignmentRule, User).join(User)
                 .order_by(AssignmentRule.position, AssignmentRule.id))
    custom = {f.key: f for f in CustomField.select()}
    owned = dict(Contact.select(Contact.owner, peewee.fn.COUNT(Contact.id)).where(Contact.owner.is_null(False))
                 .group_by(Contact.owner).tuples())
    return render_template(
        "owners/index.html", rules=rules, custom=custom, labels=dict(rules_mod.rule_fields()),
        display_value=rules_mod.display_value, pool=assignment.pool(), roles=ROLES,
        rep_roles=assignment.rep_roles(), assign_on_create=get_setting("owners", "assign_on_create"),
        owned=owned, unowned=Contact.select().where(Contact.owner.is_null()).count(),
        last_run=assignment.last_run(), last_unassigned=assignment.last_unassigned(),
        **_form_context(form, errors),
    ), status


@owners_blueprint.route("")
@roles_required("admin")
def index():
    """Rules in evaluation order, the round-robin pool, and the apply button."""
    return _render_index()


@owners_blueprint.route("/rules", methods=["POST"])
@roles_required("admin")
def rule_create():
    """Add a rule at the end of the list."""
    try:
        values = rules_mod.clean_rule(request.form)
    except rules_mod.RuleError as error:
        return _render_index(request.form, error.errors, 400)
    position = (AssignmentRule.select(peewee.fn.MAX(AssignmentRule.position)).scalar() or 0) + 1
    rule = AssignmentRule.create(position=position, **values)
    flash(_("Rule added: if %(condition)s then the owner is %(owner)s.", condition=rules_mod.condition_text(rule),
            owner=rule.owner.display_name))
    return redirect(url_for("owners.index"))


@owners_blueprint.route("/rules/<int:rule_id>/edit", methods=["GET", "POST"])
@roles_required("admin")
def rule_edit(rule_id):
    """Change a rule's condition or owner."""
    rule = _rule(rule_id)
    form = {"field_key": rule.field_key, "operator": rule.operator, "value": rule.value, "owner_id": rule.owner_id}
    errors = {}
    if request.method == "POST":
        form = request.form
        try:
            values = rules_mod.clean_rule(form)
        except rules_mod.RuleError as error:
            errors = error.errors
        else:
            AssignmentRule.update(**values).where(AssignmentRule.id == rule.id).execute()
            flash(_("The rule was saved."))
            return redirect(url_for("owners.index"))
    return render_template("owners/rule_form.html", rule=rule, **_form_context(form, errors)), (
        400 if errors else 200)


@owners_blueprint.route("/rules/<int:rule_id>/move", methods=["POST"])
@roles_required("admin")
def rule_move(rule_id):
    """Move a rule up or down: the first matching rule wins."""
    rules_mod.move_rule(_rule(rule_id), -1 if request.form.get("direction") == "up" else 1)
    return redirect(url_for("owners.index"))


@owners_blueprint.route("/rules/<int:rule_id>/toggle", methods=["POST"])
@roles_required("admin")
def rule_toggle(rule_id):
    """Pause or resume a rule."""
    rule = _rule(rule_id)
    AssignmentRule.update(active=not rule.active).where(AssignmentRule.id == rule.id).execute()
    condition = rules_mod.condition_text(rule)
    flash(_("Rule paused: %(condition)s.", condition=condition) if rule.active
          else _("Rule resumed: %(condition)s.", condition=condition))
    return redirect(url_for("owners.index"))


@owners_blueprint.route("/rules/<int:rule_id>/delete", methods=["POST"])
@roles_required("admin")
def rule_delete(rule_id):
    """Delete a rule (owners already assigned stay)."""
    rule = _rule(rule_id)
    rule.delete_instance()
    rules_mod.renumber(list(AssignmentRule.select().order_by(AssignmentRule.position, AssignmentRule.id)))
    flash(_("Rule deleted: %(condition)s.", condition=rules_mod.condition_text(rule)))
    return redirect(url_for("owners.index"))


@owners_blueprint.route("/reps/<int:user_id>/availability", methods=["POST"])
@roles_required("admin")
def rep_availability(user_id):
    """Mark a rep available or unavailable (skipped by rules and round robin)."""
    user = User.get_or_none(User.id == user_id) or abort(404)
    available = request.form.get("available") == "1"
    User.update(is_available=available).where(User.id == user.id).execute()
    flash(_("%(name)s is now available for new contacts.", name=user.display_name) if available
          else _("%(name)s is now unavailable for new contacts.", name=user.display_name))
    return redirect(url_for("owners.index"))


@owners_blueprint.route("/pool", methods=["POST"])
@roles_required("admin")
def pool_settings():
    """Which roles take part in round robin, and whether new contacts are
    assigned automatically."""
    roles = [role for role in request.form.getlist("roles") if role in ROLES]
    if not roles:
        flash(_("Choose at least one role for round robin."), "error")
        return redirect(url_for("owners.index"))
    store_setting("owners", "rep_roles", ",".join(roles))
    store_setting("owners", "assign_on_create", request.form.get("assign_on_create") == "1")
    flash(_("Round robin settings saved."))
    return redirect(url_for("owners.index"))


@owners_blueprint.route("/apply", methods=["POST"])
@roles_required("admin")
def apply():
    """Queue the job that assigns every contact without owner."""
    round_robin = request.form.get("round_robin") == "1"
    assignment.queue_assign_unowned(round_robin)
    flash(_("Assigning contacts without owner in the background; refresh this page to see the result."))
    return redirect(url_for("owners.index"))
