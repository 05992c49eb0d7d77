"""Login, logout and the first-run administrator setup."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from . import auth
from .i18n import core_domain

_ = core_domain().gettext

auth_blueprint = Blueprint("auth", __name__)


def _instance():
    return current_app.extensions["couvee"].config.instance_path


@auth_blueprint.route("/admin/login", methods=["GET", "POST"])
@auth.public
def login():
    if auth.setup_needed():
        return redirect(url_for("auth.setup"))
    error = None
    email = auth.normalize_email(request.form.get("email"))
    if request.method == "POST":
        if auth.login_attempts_exceeded(email):
            error = _("Too many failed attempts. Wait a few minutes and try again.")
        else:
            user = auth.authenticate(email, request.form.get("password", ""))
            if user is not None:
                auth.login_user(user)
                return redirect(auth.safe_next(request.args.get("next")))
            auth.record_failed_login(email)
            error = _("Wrong email or password.")
    return render_template("core/login.html", error=error, email=email), (401 if error else 200)


@auth_blueprint.route("/admin/logout", methods=["POST"])
def logout():
    auth.logout_user()
    flash(_("You are logged out."))
    return redirect(url_for("auth.login"))


@auth_blueprint.route("/admin/setup", methods=["GET", "POST"])
@auth.public
def setup():
    """Create the first administrator; needs the token printed in the console."""
    if not auth.setup_needed():
        return redirect(url_for("auth.login"))
    token = request.values.get("token", "")
    errors = []
    if request.method == "POST":
        if not auth.check_setup_token(_instance(), token):
            errors.append(_("The setup token is wrong. Copy it from the console where Couvée is running."))
        elif request.form.get("password") != request.form.get("password_confirm"):
            errors.append(_("The two passwords differ."))
        else:
            try:
                user = auth.create_user(
                    request.form.get("email", ""), request.form.get("password", ""), role="admin",
                    name=request.form.get("name", ""),
                )
            except auth.AuthError as error:
                errors.append(str(error))
            else:
                auth.consume_setup_token(_instance())
                auth.login_user(user)
                flash(_("Welcome! Your administrator account is ready."))
                return redirect(url_for("admin.dashboard"))
    else:
        auth.ensure_setup_token(_instance())
    return render_template(
        "core/setup.html", token=token, errors=errors, form=request.form
    ), (400 if errors else 200)


@auth_blueprint.route("/")
@auth.public
def home():
    return redirect(url_for("admin.dashboard"))
