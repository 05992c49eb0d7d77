"""Plugins page: list, activate, deactivate, uninstall, upload a zip."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for

from ..audit import actor_of, entries, record
from ..auth import current_user, roles_required
from ..models import PluginState
from ..plugins import dependencies, lifecycle
from ..plugins.discovery import discover
from ..plugins.host import CORE_PLUGIN_MODULES
from ..i18n import core_domain, current_language
from . import admin_blueprint

_ = core_domain().gettext


def _state():
    return current_app.extensions["couvee"]


def plugin_rows():
    state = _state()
    stored = {row.name: row for row in PluginState.select()}
    errors = state.plugin_errors()
    discovered = state.host.discovered
    enabled = {name for name, row in stored.items() if row.enabled}
    rows = []
    for name, info in sorted(discovered.items()):
        rows.append({
            "info": info,
            "enabled": name in enabled,
            "active": state.host.is_active(name),
            "problem": "; ".join(info.problems) or state.host.load_errors.get(name),
            "error": errors.get(name),
            "requires": [requirement_row(requirement, discovered, enabled) for requirement in info.requires],
            "required_by": [{"name": other, "enabled": other in enabled}
                            for other in dependencies.required_by(name, discovered)],
        })
    return rows


def requirement_row(requirement, discovered, enabled) -> dict:
    """One requirement as the page shows it: met, inactive, or why not."""
    problem = dependencies.unmet(requirement, discovered)
    return {"text": str(requirement), "name": requirement.name,
            "status": "unmet" if problem else ("ok" if requirement.name in enabled else "inactive"),
            "problem": problem}


@admin_blueprint.route("/plugins")
@roles_required("admin")
def plugins():
    state = _state()
    on_disk = discover(state.config.plugins_path)
    if set(on_disk) != set(state.host.discovered):
        # a plugin was dropped into (or removed from) a plugins folder: every process rediscovers
        lifecycle.bump_revision(state)
        state.host.discovered = on_disk
    return render_template(
        "core/admin/plugins.html",
        rows=plugin_rows(),
        history=entries("plugin."),
        uploads_allowed=_state().config.plugin_uploads,
        safe_mode=_state().config.safe_mode,
    )


def _known(name: str):
    info = _state().host.discovered.get(name)
    if info is None or name in CORE_PLUGIN_MODULES:
        abort(404)
    return info


def _confirm_others(info, action: str, error: lifecycle.NeedsOthers):
    """Ask before changing the other plugins too (the same POST, confirmed)."""
    others = [_state().host.discovered[n] for n in error.others]
    return render_template("core/admin/plugin_others.html", info=info, action=action, others=others,
                           message=str(error)), 409


@admin_blueprint.route("/plugins/<name>/activate", methods=["POST"])
@roles_required("admin")
def plugin_activate(name):
    """Activate; disabled requirements are activated too only once confirmed."""
    info = _known(name)
    try:
        done = lifecycle.activate(_state(), name, actor=actor_of(current_user()),
                                  with_requirements=request.form.get("with_others") == "1")
    except lifecycle.NeedsOthers as error:
        return _confirm_others(info, "activate", error)
    except Exception as error:  # a plugin's import or migration error is shown, not a 500
        flash(str(error), "error")
    else:
        flash(_("%(names)s are active.", names=lifecycle.titles(_state(), done)) if len(done) > 1
              else _("%(name)s is active.", name=info.title_in(current_language())))
    return redirect(url_for("admin.plugins"))


@admin_blueprint.route("/plugins/<name>/deactivate", methods=["POST"])
@roles_required("admin")
def plugin_deactivate(name):
    """Deactivate; plugins that need it are deactivated too only once confirmed."""
    info = _known(name)
    try:
        done = lifecycle.deactivate(_state(), name, actor=actor_of(current_user()),
                                    with_dependents=request.form.get("with_others") == "1")
    except lifecycle.NeedsOthers as error:
        return _confirm_others(info, "deactivate", error)
    if len(done) > 1:
        flash(_("%(names)s are deactivated. Their data is kept.", names=lifecycle.titles(_state(), done)))
    else:
        flash(_("%(name)s is deactivated. Its data is kept.", name=info.title_in(current_language())))
    return redirect(url_for("admin.plugins"))


@admin_blueprint.route("/plugins/<name>/uninstall", methods=["GET", "POST"])
@roles_required("admin")
def plugin_uninstall(name):
    info = _known(name)
    needing = dependencies.dependents(name, _state().host.discovered, lifecycle.enabled_names())
    if request.method == "POST":
        if request.form.get("confirm") != name:
            flash(_("Type %(name)s to confirm.", name=name), "error")
            return render_template("core/admin/plugin_uninstall.html", info=info, needing=needing), 400
        try:
            lifecycle.uninstall(_state(), name, actor=actor_of(current_user()))
        except lifecycle.PluginError as error:
            flash(str(error), "error")
            return redirect(url_for("admin.plugins"))
        flash(_("%(name)s was uninstalled and its data removed.", name=info.title_in(current_language())))
        return redirect(url_for("admin.plugins"))
    return render_template("core/admin/plugin_uninstall.html", info=info, needing=needing)


@admin_blueprint.route("/plugins/upload", methods=["POST"])
@roles_required("admin")
def plugin_upload():
    from ..plugins.upload import UploadError, install_plugin_zip

    state = _state()
    if not state.config.plugin_uploads:
        abort(403, description=_("Plugin uploads are turned off on this site (COUVEE_PLUGIN_UPLOADS=0)."))
    upload = request.files.get("plugin")
    if upload is None or not upload.filename:
        flash(_("Choose a .zip file to upload."), "error")
        return redirect(url_for("admin.plugins"))
    taken = {name for name, info in state.host.discovered.items() if info.source != "instance"}
    replace = request.form.get("replace") == "1"
    previous = {name: info.version for name, info in state.host.discovered.items() if info.source == "instance"}
    try:
        info = install_plugin_zip(
            upload.stream, state.config.plugins_path, taken, state.config.max_plugin_upload_bytes, replace=replace
        )
    except UploadError as error:
        flash(_("The plugin was not installed: %(error)s", error=error), "error")
        return redirect(url_for("admin.plugins"))
    upgraded_from = previous.get(info.name) if replace else None
    record("plugin.upgraded" if upgraded_from else "plugin.installed", info.name, actor=actor_of(current_user()),
           version=info.version, **({"previous_version": upgraded_from} if upgraded_from else {}),
           file=upload.filename)
    broken = dependencies.broken_by(info, state.host.discovered, lifecycle.enabled_names())
    state.stale = True  # rediscover plugins on the next request
    lifecycle.bump_revision(state)
    if broken:
        flash(_("%(name)s %(version)s was uploaded, but active plugins require another version and will not load "
                "until it is replaced: %(problems)s.", name=info.title_in(current_language()), version=info.version,
                problems="; ".join(broken)), "error")
    else:
        flash(_("%(name)s %(version)s was uploaded. Activate it when you are ready.",
                name=info.title_in(current_language()),
                version=info.version))
    return redirect(url_for("admin.plugins"))
