"""Plugin dependencies (``requires`` in plugin.toml), with two real fixture
plugins: ``couvee_addon`` requires ``couvee_base>=1.1``; its migration writes
into the base's table and its page reads the base's setting, so loading or
migrating them in the wrong order fails for real."""
from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner

from core.cli import main
from core.plugins.discovery import ManifestError, parse_manifest
from core.plugins.host import forget_modules
from core.plugins.upload import build_plugin_zip

from core.models import User

from .conftest import ADMIN_EMAIL, FIXTURE_PLUGINS, csrf_of, install_fixture_plugin
from .test_plugins_lifecycle import plugin_row, upload

WRITTEN = ("couvee_cycle_a", "couvee_cycle_b", "couvee_typo", "couvee_typo_user", "couvee_typo_user_user",
           "couvee_bad_step", "couvee_dup_a", "couvee_dup_z")


@pytest.fixture(autouse=True)
def forget_written_plugins():
    yield
    for name in WRITTEN:
        forget_modules(name)


def write_plugin(instance, name: str, requires: list[str], version: str = "1.0.0", code: str = ""):
    folder = instance / "plugins" / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plugin.toml").write_text(
        f'name = "{name}"\ntitle = "{name}"\nversion = "{version}"\ndescription = "d"\nauthor = "a"\n'
        f'requires_core = ">=0.1"\nrequires = {requires!r}\n'.replace("'", '"'))
    (folder / "__init__.py").write_text(code)


def set_base_version(instance, version: str):
    manifest = instance / "plugins" / "couvee_base" / "plugin.toml"
    manifest.write_text(manifest.read_text().replace('version = "1.2.0"', f'version = "{version}"'))


def status(page, name) -> str:
    row = plugin_row(page, name)
    return row.find("td", class_="status").find("span", class_="badge").text


def rediscover(admin):
    admin.app.runtime.state.stale = True


def test_activating_an_uploaded_addon_asks_to_activate_its_requirement_first(admin, instance):
    install_fixture_plugin(instance, "couvee_base")  # dropped into the folder
    page = upload(admin, build_plugin_zip(FIXTURE_PLUGINS / "couvee_addon"))  # uploaded
    requirement = plugin_row(page, "couvee_addon").find("li", attrs={"data-requirement": "couvee_base"})
    assert "couvee_base>=1.1" in requirement.text and "inactive" in requirement.text
    assert plugin_row(page, "couvee_base").find(attrs={"data-required-by": "couvee_addon"}) is not None

    assert admin.post("/admin/plugins/couvee_addon/activate", expect_errors=True).status_int == 400  # no CSRF
    asked = admin.post("/admin/plugins/couvee_addon/activate", {"csrf_token": csrf_of(page)}, status=409)
    assert "Add-on fixture requires plugins that are not active: Base fixture (couvee_base)" in asked.text
    assert [li["data-plugin"] for li in asked.html.find(id="other-plugins").find_all("li")] == [
        "couvee_base", "couvee_addon"]
    page = admin.get("/admin/plugins")
    assert (status(page, "couvee_base"), status(page, "couvee_addon")) == ("Inactive", "Inactive")
    assert admin.get("/admin/addon/", expect_errors=True).status_int == 404

    page = asked.forms["others-form"].submit().follow()
    assert "Base fixture (couvee_base), Add-on fixture (couvee_addon) are active." in page.text
    assert (status(page, "couvee_base"), status(page, "couvee_addon")) == ("Active", "Active")
    assert "active" in plugin_row(page, "couvee_addon").find("li", attrs={"data-requirement": "couvee_base"}).text
    assert admin.get("/admin/addon/").text == "Add-on page: hello from base"
    assert admin.get("/admin/base/").text == "Base page: from the add-on"  # base migrated before the add-on
    history = page.html.find(id="plugin-history").text
    assert history.count("Activated") == 2


def test_a_required_plugin_is_not_deactivated_or_uninstalled_while_its_dependents_are_active(admin, instance):
    install_fixture_plugin(instance, "couvee_base")
    install_fixture_plugin(instance, "couvee_addon")
    rediscover(admin)
    token = csrf_of(admin.get("/admin/plugins"))
    admin.post("/admin/plugins/couvee_addon/activate", {"csrf_token": token, "with_others": "1"}).follow()

    asked = admin.post("/admin/plugins/couvee_base/deactivate", {"csrf_token": token}, status=409)
    assert "Base fixture is required by active plugins: Add-on fixture (couvee_addon)" in asked.text
    assert [li["data-plugin"] for li in asked.html.find(id="other-plugins").find_all("li")] == [
        "couvee_addon", "couvee_base"]
    assert admin.get("/admin/base/").status_int == 200  # nothing changed

    uninstall = admin.get("/admin/plugins/couvee_base/uninstall")
    assert "couvee_addon" in uninstall.html.find(id="needed-by").text
    assert "uninstall-form" not in uninstall.forms
    page = admin.post("/admin/plugins/couvee_base/uninstall", {"csrf_token": token, "confirm": "couvee_base"}).follow()
    assert "cannot be uninstalled: active plugins require it: Add-on fixture (couvee_addon)" in page.text
    assert (instance / "plugins" / "couvee_base").is_dir()

    page = asked.forms["others-form"].submit().follow()
    assert "Add-on fixture (couvee_addon), Base fixture (couvee_base) are deactivated." in page.text
    assert admin.get("/admin/addon/", expect_errors=True).status_int == 404
    assert admin.get("/admin/base/", expect_errors=True).status_int == 404

    # the add-on alone can go; then the base can be uninstalled
    admin.post("/admin/plugins/couvee_addon/activate", {"csrf_token": token, "with_others": "1"})
    page = admin.post("/admin/plugins/couvee_addon/deactivate", {"csrf_token": token}).follow()
    assert (status(page, "couvee_base"), status(page, "couvee_addon")) == ("Active", "Inactive")
    form = admin.get("/admin/plugins/couvee_base/uninstall").forms["uninstall-form"]
    form["confirm"] = "couvee_base"
    form.submit().follow()
    assert not (instance / "plugins" / "couvee_base").exists()
    page = admin.get("/admin/plugins")
    assert "couvee_base>=1.1 is not installed" in plugin_row(page, "couvee_addon").text


def test_missing_requirement_version_mismatch_and_cycle_are_refused_with_the_reason(admin, instance):
    install_fixture_plugin(instance, "couvee_addon")
    write_plugin(instance, "couvee_cycle_a", ["couvee_cycle_b"])
    write_plugin(instance, "couvee_cycle_b", ["couvee_cycle_a>=1"])
    rediscover(admin)
    token = csrf_of(admin.get("/admin/plugins"))

    def refusal(name):
        page = admin.post(f"/admin/plugins/{name}/activate", {"csrf_token": token, "with_others": "1"}).follow()
        assert status(page, name) == "Inactive"
        return page.html.find(class_="flash-error").text

    assert refusal("couvee_addon") == "Add-on fixture cannot be activated: couvee_base>=1.1 is not installed"
    install_fixture_plugin(instance, "couvee_base")
    set_base_version(instance, "1.0.3")
    rediscover(admin)
    assert refusal("couvee_addon") == ("Add-on fixture cannot be activated: couvee_base>=1.1 is wanted but "
                                      "couvee_base 1.0.3 is installed")
    assert refusal("couvee_cycle_a") == ("couvee_cycle_a cannot be activated: dependency cycle: couvee_cycle_a "
                                        "requires couvee_cycle_b requires couvee_cycle_a")
    assert "dependency cycle" in refusal("couvee_cycle_b")
    assert admin.get("/admin/addon/", expect_errors=True).status_int == 404


def test_cli_lists_requirements_and_follows_the_same_rules(config, monkeypatch):
    monkeypatch.setenv("COUVEE_INSTANCE", str(config["instance_path"]))
    monkeypatch.setenv("COUVEE_DATABASE_URL", config["database_url"])
    monkeypatch.setenv("COUVEE_REDIS_URL", config["redis_url"])
    install_fixture_plugin(config["instance_path"], "couvee_base")
    install_fixture_plugin(config["instance_path"], "couvee_addon")
    runner = CliRunner()

    listed = runner.invoke(main, ["plugins", "list"]).output.splitlines()
    addon = listed.index(next(line for line in listed if line.startswith("couvee_addon ")))
    assert listed[addon + 1].split() == ["requires:", "couvee_base>=1.1"]
    base = listed.index(next(line for line in listed if line.startswith("couvee_base ")))
    assert listed[base + 1].split() == ["required", "by:", "couvee_addon"]

    refused = runner.invoke(main, ["plugins", "enable", "couvee_addon"])
    assert refused.exit_code == 1
    assert "requires plugins that are not active: Base fixture (couvee_base)" in refused.output
    assert "--with-requirements" in refused.output
    enabled = runner.invoke(main, ["plugins", "enable", "couvee_addon", "--with-requirements"])
    assert enabled.exit_code == 0, enabled.output
    assert "couvee_base, couvee_addon are active." in enabled.output

    refused = runner.invoke(main, ["plugins", "disable", "couvee_base"])
    assert refused.exit_code == 1 and "required by active plugins: Add-on fixture (couvee_addon)" in refused.output
    listed = runner.invoke(main, ["plugins", "list"]).output
    assert [line.split()[2] for line in listed.splitlines() if line.startswith("couvee_")] == ["active", "active"]
    disabled = runner.invoke(main, ["plugins", "disable", "couvee_base", "--with-dependents"])
    assert disabled.exit_code == 0 and "couvee_addon, couvee_base are inactive." in disabled.output


def test_a_failing_migration_of_the_dependent_leaves_its_requirement_active(config, monkeypatch):
    monkeypatch.setenv("COUVEE_INSTANCE", str(config["instance_path"]))
    monkeypatch.setenv("COUVEE_DATABASE_URL", config["database_url"])
    monkeypatch.setenv("COUVEE_REDIS_URL", config["redis_url"])
    install_fixture_plugin(config["instance_path"], "couvee_base")
    write_plugin(config["instance_path"], "couvee_bad_step", ["couvee_base"], code=(
        "from core import Migration, hookimpl\n\n\ndef up(database, migrator):\n"
        "    raise RuntimeError('no room left')\n\n\n@hookimpl\ndef register_migrations():\n"
        "    return [Migration(1, 'a step that fails', up)]\n"))
    runner = CliRunner()
    failed = runner.invoke(main, ["plugins", "enable", "couvee_bad_step", "--with-requirements"])
    assert failed.exit_code == 1
    assert ("couvee_bad_step cannot be activated: plugin 'couvee_bad_step': migration 1 (a step that fails) "
            "failed: no room left") in failed.output
    listed = runner.invoke(main, ["plugins", "list"]).output
    assert [line.split()[:3] for line in listed.splitlines() if line.startswith("couvee_")] == [
        ["couvee_bad_step", "1.0.0", "inactive"], ["couvee_base", "1.2.0", "active"]]


def test_at_start_plugins_load_and_migrate_dependencies_first(config, instance):
    """Both enabled, nothing migrated yet (e.g. a restored database): the
    add-on's migration needs the base's table, so it must run second, though
    its name sorts first."""
    from core.app import create_app
    from core.plugins.lifecycle import set_enabled

    install_fixture_plugin(instance, "couvee_base")
    install_fixture_plugin(instance, "couvee_addon")
    app = create_app(config)
    with app.app_context(), app.extensions["couvee"].database_connection():
        set_enabled("couvee_addon", True)
        set_enabled("couvee_base", True)
    app = create_app(config)
    host = app.extensions["couvee"].host
    assert host.load_errors == {}
    assert [name for name in host.active if name.startswith("couvee_")] == ["couvee_base", "couvee_addon"]
    with app.app_context(), app.extensions["couvee"].database_connection():
        from peewee import Table

        items = Table("couvee_base_item", ("id", "label")).bind(app.extensions["couvee"].database)
        assert [row["label"] for row in items.select(items.label).dicts()] == ["from the add-on"]


def test_an_enabled_plugin_whose_requirement_is_gone_or_too_old_is_not_loaded(admin, config, instance):
    from core.app import create_app

    install_fixture_plugin(instance, "couvee_base")
    install_fixture_plugin(instance, "couvee_addon")
    rediscover(admin)
    token = csrf_of(admin.get("/admin/plugins"))
    admin.post("/admin/plugins/couvee_addon/activate", {"csrf_token": token, "with_others": "1"})

    set_base_version(instance, "1.0")  # the base was replaced by an older copy on disk
    host = create_app(config).extensions["couvee"].host
    assert host.is_active("couvee_base") and not host.is_active("couvee_addon")
    assert host.load_errors["couvee_addon"] == "not loaded: couvee_base>=1.1 is wanted but couvee_base 1.0 is installed"

    shutil.rmtree(instance / "plugins" / "couvee_base")
    forget_modules("couvee_base")
    rediscover(admin)
    page = admin.get("/admin/plugins")
    assert status(page, "couvee_addon") == "Failed"
    assert "not loaded: couvee_base&gt;=1.1 is not installed" in str(plugin_row(page, "couvee_addon"))
    assert admin.get("/admin/addon/", expect_errors=True).status_int == 404
    assert admin.get("/admin/contacts").status_int == 200


@pytest.mark.parametrize("requires, problem", [
    ('"couvee_base"', "requires must be a list"),
    ('["Couvee Base"]', "is not a requirement"),
    ('["couvee_base[extra]>=1"]', "may only name a plugin and a version specifier"),
    ('["couvee_base; python_version > \'3\'"]', "may only name a plugin and a version specifier"),
    ('["couvee_base>=1", "couvee_base<3"]', "names couvee_base twice"),
    ('["hello>=1"]', "hello requires itself"),
])
def test_a_malformed_requires_is_a_manifest_error(requires, problem):
    text = ('name = "hello"\ntitle = "t"\nversion = "1"\ndescription = "d"\nauthor = "a"\nrequires_core = ">=0.1"\n'
            f"requires = {requires}\n")
    with pytest.raises(ManifestError, match=problem.replace("[", r"\[")):
        parse_manifest(text)
    assert [str(r) for r in parse_manifest(text.replace(f"requires = {requires}", 'requires = ["a_b>=1,<2"]'))[
        "requires"]] == ["a_b<2,>=1"]


def test_dependents_of_a_plugin_refused_for_an_unknown_hook_are_not_loaded(config, instance):
    from core.app import create_app
    from core.plugins.lifecycle import set_enabled

    write_plugin(instance, "couvee_typo", [], code="from core import hookimpl\n\n\n"
                 "@hookimpl\ndef registr_models():\n    return []\n")
    write_plugin(instance, "couvee_typo_user", ["couvee_typo"])
    write_plugin(instance, "couvee_typo_user_user", ["couvee_typo_user"])
    app = create_app(config)
    with app.app_context(), app.extensions["couvee"].database_connection():
        for name in WRITTEN[2:]:
            set_enabled(name, True)
    host = create_app(config).extensions["couvee"].host
    assert "invalid hook implementation" in host.load_errors["couvee_typo"]
    assert host.load_errors["couvee_typo_user"] == "not loaded: couvee_typo is not active"
    assert host.load_errors["couvee_typo_user_user"] == "not loaded: couvee_typo_user is not active"
    assert not any(host.is_active(name) for name in WRITTEN[2:])


def test_the_required_plugin_keeps_an_action_id_both_declare(config, instance):
    """``couvee_dup_a`` requires ``couvee_dup_z``: z loads first and keeps the
    id (alphabetical order would have given it to a)."""
    from core.app import create_app
    from core.plugins.lifecycle import set_enabled

    def action_plugin(label):
        return ("from core import Action, hookimpl\n\n\n@hookimpl\ndef register_actions():\n"
                f"    return [Action('dup.action', {label!r}, run=lambda contact, settings, context: None)]\n")

    write_plugin(instance, "couvee_dup_z", [], code=action_plugin("from z"))
    write_plugin(instance, "couvee_dup_a", ["couvee_dup_z"], code=action_plugin("from a"))
    app = create_app(config)
    with app.app_context(), app.extensions["couvee"].database_connection():
        set_enabled("couvee_dup_a", True)
        set_enabled("couvee_dup_z", True)
    state = create_app(config).extensions["couvee"]
    assert state.host.registries.actions["dup.action"].label == "from z"
    assert "dup.action" in state.plugin_errors()["couvee_dup_a"]["message"]


def test_uploading_a_version_an_active_dependent_refuses_says_so(admin, instance, tmp_path):
    install_fixture_plugin(instance, "couvee_base")
    install_fixture_plugin(instance, "couvee_addon")
    rediscover(admin)
    admin.post("/admin/plugins/couvee_addon/activate",
               {"csrf_token": csrf_of(admin.get("/admin/plugins")), "with_others": "1"})
    older = tmp_path / "couvee_base"
    shutil.copytree(FIXTURE_PLUGINS / "couvee_base", older, ignore=shutil.ignore_patterns("__pycache__"))
    manifest = older / "plugin.toml"
    manifest.write_text(manifest.read_text().replace('version = "1.2.0"', 'version = "1.0.0"'))

    page = upload(admin, build_plugin_zip(older), replace=True)
    assert ("Base fixture 1.0.0 was uploaded, but active plugins require another version and will not load "
            "until it is replaced: couvee_addon: couvee_base>=1.1.") in page.html.find(class_="flash-error").text
    assert status(page, "couvee_addon") == "Failed"
    assert admin.get("/admin/addon/", expect_errors=True).status_int == 404


def test_a_french_administrator_reads_in_french_why_plugins_go_together(admin, ctx, instance):
    User.update(language="fr").where(User.email == ADMIN_EMAIL).execute()
    install_fixture_plugin(instance, "couvee_base")
    install_fixture_plugin(instance, "couvee_addon")
    rediscover(admin)
    token = csrf_of(admin.get("/admin/plugins"))

    asked = admin.post("/admin/plugins/couvee_addon/activate", {"csrf_token": token}, status=409)
    assert asked.html.find(id="needs-others").text == (
        "Extension de test nécessite des plugins inactifs : Socle de test (couvee_base). "
        "Activez-les d’abord, ou en même temps que lui.")
    page = asked.forms["others-form"].submit().follow()
    assert "Socle de test (couvee_base), Extension de test (couvee_addon)" in page.html.find(class_="flash").text

    asked = admin.post("/admin/plugins/couvee_base/deactivate", {"csrf_token": token}, status=409)
    assert asked.html.find(id="needs-others").text.startswith(
        "Socle de test est nécessaire à des plugins actifs : Extension de test (couvee_addon).")
    page = admin.post("/admin/plugins/couvee_base/uninstall", {"csrf_token": token, "confirm": "couvee_base"}).follow()
    assert ("Socle de test ne peut pas être désinstallé : des plugins actifs en ont besoin : "
            "Extension de test (couvee_addon). Désactivez-les d’abord.") in page.html.find(class_="flash-error").text

    asked.forms["others-form"].submit().follow()  # both inactive
    set_base_version(instance, "1.0.3")
    rediscover(admin)
    page = admin.post("/admin/plugins/couvee_addon/activate", {"csrf_token": token, "with_others": "1"}).follow()
    assert page.html.find(class_="flash-error").text == (
        "Extension de test ne peut pas être activé : couvee_base>=1.1 est demandé, mais couvee_base 1.0.3 est installé")
