"""Settings pages generated from the declared ``register_settings`` groups."""
from __future__ import annotations

import os

from flask import abort, current_app, flash, redirect, render_template, request, url_for

from ..auth import roles_required
from ..i18n import core_domain
from ..settings import REMOVE_SUFFIX, get_setting, save_settings
from . import admin_blueprint


def _groups():
    return sorted(current_app.extensions["couvee"].registries.settings, key=lambda g: g.label)


@admin_blueprint.route("/settings")
@roles_required("admin")
def settings_index():
    groups = _groups()
    if not groups:
        return render_template("core/admin/settings.html", groups=[], group=None)
    return redirect(url_for("admin.settings_group", group_id=groups[0].id))


@admin_blueprint.route("/settings/<group_id>", methods=["GET", "POST"])
@roles_required("admin")
def settings_group(group_id):
    group = current_app.extensions["couvee"].registries.settings.get(group_id) or abort(404)
    errors = []
    if request.method == "POST":
        kept = [s.label for s in group.settings  # secrets left empty: say that the stored value stays
                if s.secret and not request.form.get(s.key) and not request.form.get(s.key + REMOVE_SUFFIX)
                and not (s.env and os.environ.get(s.env) is not None)
                and get_setting(group_id, s.key) not in (None, "")]
        errors = save_settings(group_id, request.form)
        if not errors:
            _ = core_domain().gettext
            flash(_("%(group)s settings saved.", group=group.label)
                  + "".join(" " + _("%(label)s: left empty, the stored value is kept.", label=label)
                            for label in kept))
            return redirect(url_for("admin.settings_group", group_id=group_id))
    fields = [
        {
            "setting": s,
            "value": None if s.secret else get_setting(group_id, s.key),
            "from_env": bool(s.env and os.environ.get(s.env) is not None),
            "has_value": get_setting(group_id, s.key) not in (None, ""),
        }
        for s in group.settings
    ]
    return render_template("core/admin/settings.html", groups=_groups(), group=group, fields=fields,
                           errors=errors), (400 if errors else 200)
