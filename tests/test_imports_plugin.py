"""CSV import and export is a bundled plugin (issue 18): a site owner switches
it off with ``couvee plugins disable imports`` and the rest of the admin keeps
working; switched on again, everything is back; an install from before the
move (the tables created by core's ``core_imports``) upgrades in place."""
from __future__ import annotations

import io

from core.models import Contact

from .bundled_plugins import assert_bundled_and_active, crawl, links_to, upgrade_from_before_the_move

CSV = "Email;Prénom\nada@example.com;Ada\nbob@example.com;Bob\n"


def import_with_the_cli(couvee_cli, tmp_path, text=CSV):
    path = tmp_path / "contacts.csv"
    path.write_text(text, encoding="utf-8")
    return couvee_cli("import", str(path))


def import_jobs(app) -> list[tuple[str, str]]:
    with app.app_context(), app.extensions["couvee"].database_connection():
        from plugins.imports.models import ImportJob

        return [(job.original_name, job.status) for job in ImportJob.select().order_by(ImportJob.id)]


def test_imports_is_a_bundled_plugin_active_by_default(admin, ctx):
    state = ctx.extensions["couvee"]
    assert_bundled_and_active(state, "imports", formerly="core_imports", migrations=2)
    assert state.registries.event_kinds.owner("consent_imported") == "imports"
    assert 'data-menu="imports"' in admin.get("/admin/").text
    contacts = admin.get("/admin/contacts")
    assert contacts.html.find("a", href="/admin/imports").text == "Import"
    assert contacts.html.find("a", string="Export CSV")["href"] == "/admin/contacts/export"


def test_disable_with_the_cli_then_enable_again(admin, wsgi, couvee_cli, run_jobs, tmp_path):
    imported = import_with_the_cli(couvee_cli, tmp_path)
    assert imported.exit_code == 0, imported.output
    assert import_jobs(wsgi.app) == [("contacts.csv", "done")]
    with wsgi.app.app_context(), wsgi.app.extensions["couvee"].database_connection():
        from plugins.imports import runner

        queued = runner.new_job(io.BytesIO(b"Email\ncyd@example.com\n"), "later.csv")
        runner.start(queued)

    result = couvee_cli("plugins", "disable", "imports")
    assert result.exit_code == 0 and "imports is inactive." in result.output

    dashboard = admin.get("/admin/")
    assert 'data-menu="imports"' not in dashboard.text and "/admin/imports" not in dashboard.text
    for path in ("/admin/imports", f"/admin/imports/{queued.id}", "/admin/contacts/export"):
        assert admin.get(path, expect_errors=True).status_int == 404, path
    contacts = admin.get("/admin/contacts")  # the list still works, without its Import and Export buttons
    assert "ada@example.com" in contacts.text
    assert "/admin/imports" not in contacts.text and "Export CSV" not in contacts.text
    state = wsgi.app.extensions["couvee"]
    assert "consent_imported" not in state.registries.event_kinds
    assert "imports" not in [group.id for group in state.registries.settings]
    refused = import_with_the_cli(couvee_cli, tmp_path)
    assert refused.exit_code != 0 and "No such command 'import'" in refused.output
    worker = run_jobs()  # the import queued before is skipped, not run by a worker that should not know it
    assert worker.runtime.app.extensions["couvee"].host.is_active("imports") is False
    assert import_jobs(wsgi.app) == [("contacts.csv", "done"), ("later.csv", "queued")]  # tables kept
    with wsgi.app.app_context(), wsgi.app.extensions["couvee"].database_connection():
        assert not Contact.select().where(Contact.email == "cyd@example.com").exists()

    result = couvee_cli("plugins", "enable", "imports")
    assert result.exit_code == 0 and "imports is active." in result.output
    assert 'data-menu="imports"' in admin.get("/admin/").text
    assert "later.csv" in admin.get("/admin/imports").text
    assert "Export CSV" in admin.get("/admin/contacts").text
    assert "bob@example.com" in admin.get("/admin/contacts/export").text
    assert import_with_the_cli(couvee_cli, tmp_path, "Email\ndee@example.com\n").exit_code == 0


def test_the_admin_without_imports_has_no_error_and_no_link_to_it(admin, wsgi, couvee_cli, tmp_path):
    assert import_with_the_cli(couvee_cli, tmp_path).exit_code == 0
    assert couvee_cli("plugins", "disable", "imports").exit_code == 0

    seen = crawl(admin)
    assert len(seen) > 20, sorted(seen)  # the crawl reached the admin, not only a login page
    assert any(path.startswith("/admin/contacts/") for path in seen)
    to_imports = {**links_to("/admin/imports"), **links_to("/admin/contacts/export")}
    assert not to_imports, f"links to the disabled plugin's pages: {to_imports}"


def test_an_install_from_before_the_move_upgrades_in_place(config, wsgi, couvee_cli, tmp_path):
    """The database of an install where imports were core's ``core_imports``:
    its migration records under that name, no plugin state for ``imports``.
    After a start: the plugin is active, its tables and rows intact, its
    migration adopted rather than run again."""
    assert import_with_the_cli(couvee_cli, tmp_path).exit_code == 0

    upgraded = upgrade_from_before_the_move(config, wsgi.app, "imports", "core_imports")

    assert import_jobs(upgraded) == [("contacts.csv", "done")]
