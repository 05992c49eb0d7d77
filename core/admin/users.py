"""Users and their roles; API keys."""
from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for

from .. import auth
from ..i18n import LANGUAGES, core_domain, valid_language
from ..models import ROLES, ApiKey, User, utcnow
from . import admin_blueprint

_ = core_domain().gettext


@admin_blueprint.route("/users", methods=["GET", "POST"])
@auth.roles_required("admin")
def users():
    errors = []
    if request.method == "POST":
        try:
            auth.create_user(
                request.form.get("email", ""), request.form.get("password", ""),
                role=request.form.get("role", "marketer"), name=request.form.get("name", ""),
            )
        except auth.AuthError as error:
            errors.append(str(error))
        else:
            flash(_("The user was created."))
            return redirect(url_for("admin.users"))
    return render_template("core/admin/users.html", users=User.select().order_by(User.email), roles=ROLES,
                           errors=errors, form=request.form), (400 if errors else 200)


@admin_blueprint.route("/users/<int:user_id>", methods=["GET", "POST"])
@auth.roles_required("admin")
def user_edit(user_id):
    user = User.get_or_none(User.id == user_id) or abort(404)
    errors = []
    if request.method == "POST":
        role = request.form.get("role", user.role)
        active = request.form.get("is_active") == "1"
        admins_left = User.select().where((User.role == "admin") & User.is_active & (User.id != user.id)).count()
        if user.role == "admin" and (role != "admin" or not active) and admins_left == 0:
            errors.append("Keep at least one active administrator.")
        elif role not in ROLES:
            errors.append("Unknown role.")
        else:
            user.name = request.form.get("name", user.name).strip()
            user.role = role
            user.is_active = active
            user.is_available = request.form.get("is_available") == "1"
            user.language = valid_language(request.form.get("language")) or ""
            if request.form.get("password"):
                try:
                    auth.set_password(user, request.form["password"])
                except auth.AuthError as error:
                    errors.append(str(error))
            if not errors:
                user.save()
                flash(_("The user was saved."))
                return redirect(url_for("admin.users"))
    return render_template("core/admin/user_edit.html", user=user, roles=ROLES, errors=errors), (400 if errors else 200)


@admin_blueprint.route("/account", methods=["GET", "POST"])
def account():
    """Any user's own settings: their name and the language of their admin."""
    user = auth.current_user()
    if request.method == "POST":
        user.name = request.form.get("name", user.name).strip()[:200]
        user.language = valid_language(request.form.get("language")) or ""
        user.save()
        g.user = user
        from flask_babel import refresh

        refresh()  # the confirmation already speaks the chosen language
        flash(_("Your settings were saved."))
        return redirect(url_for("admin.account"))
    return render_template("core/admin/account.html", user=user, languages=LANGUAGES)


@admin_blueprint.route("/api-keys", methods=["GET", "POST"])
def api_keys():
    new_key = None
    if request.method == "POST":
        _, new_key = auth.create_api_key(g.user, request.form.get("name", ""))
    keys = ApiKey.select().where(ApiKey.user == g.user.id).order_by(ApiKey.created_at.desc())
    return render_template("core/admin/api_keys.html", keys=keys, new_key=new_key)


@admin_blueprint.route("/api-keys/<int:key_id>/revoke", methods=["POST"])
def api_key_revoke(key_id):
    key = ApiKey.get_or_none((ApiKey.id == key_id) & (ApiKey.user == g.user.id)) or abort(404)
    key.revoked_at = utcnow()
    key.save()
    flash(_("The key %(name)s was revoked.", name=key.name))
    return redirect(url_for("admin.api_keys"))
