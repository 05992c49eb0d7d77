"""Plugin changes leave a trace in core's audit log, shown on the Plugins page
(issue 15 item 14: who installed what, and when)."""
from __future__ import annotations

from core.audit import entries
from core.plugins.upload import build_plugin_zip

from .conftest import ADMIN_EMAIL, FIXTURE_PLUGINS, install_fixture_plugin
from .test_plugins_lifecycle import upload

FIXTURE = "couvee_fixture"


def history_rows(page) -> list[list[str]]:
    table = page.html.find(id="plugin-history")
    return [[cell.get_text(" ", strip=True) for cell in row.find_all("td")] for row in table.tbody.find_all("tr")]


def csrf(admin) -> str:
    return admin.get("/admin/plugins").html.find("input", {"name": "csrf_token"})["value"]


def test_upload_activation_deactivation_upgrade_and_uninstall_are_in_the_history(admin, ctx):
    assert "No plugin was installed" in admin.get("/admin/plugins").html.find(id="plugin-history").text

    upload(admin, build_plugin_zip(FIXTURE_PLUGINS / FIXTURE), name="fixture-1.0.zip")
    admin.post(f"/admin/plugins/{FIXTURE}/activate", {"csrf_token": csrf(admin)})
    admin.post(f"/admin/plugins/{FIXTURE}/deactivate", {"csrf_token": csrf(admin)})
    upload(admin, build_plugin_zip(FIXTURE_PLUGINS / FIXTURE), name="fixture-again.zip", replace=True)
    page = admin.get(f"/admin/plugins/{FIXTURE}/uninstall")
    page.forms["uninstall-form"]["confirm"] = FIXTURE
    page = page.forms["uninstall-form"].submit().follow()

    rows = history_rows(page)
    assert [row[1:] for row in rows] == [  # newest first: who, what, plugin, version
        [ADMIN_EMAIL, "Uninstalled", FIXTURE, "1.0.0"],
        [ADMIN_EMAIL, "Upgraded", FIXTURE, "1.0.0 (was 1.0.0)"],
        [ADMIN_EMAIL, "Deactivated", FIXTURE, "1.0.0"],
        [ADMIN_EMAIL, "Activated", FIXTURE, "1.0.0"],
        [ADMIN_EMAIL, "Installed", FIXTURE, "1.0.0"],
    ]
    installed = entries("plugin.installed")[0]
    assert installed.detail == {"version": "1.0.0", "file": "fixture-1.0.zip"}
    assert installed.at.tzinfo is not None


def test_a_refused_upload_records_nothing(admin, ctx):
    upload(admin, b"not a zip")
    assert entries("plugin.") == []


def test_cli_enable_and_disable_are_recorded_with_cli_as_actor(couvee_cli, admin, instance, ctx):
    install_fixture_plugin(instance)
    assert couvee_cli("plugins", "enable", FIXTURE).exit_code == 0
    assert couvee_cli("plugins", "disable", FIXTURE).exit_code == 0
    refused = couvee_cli("plugins", "enable", "no_such_plugin")
    assert refused.exit_code != 0

    rows = history_rows(admin.get("/admin/plugins"))
    assert [row[1:4] for row in rows] == [["CLI", "Deactivated", FIXTURE], ["CLI", "Activated", FIXTURE]]
