"""Website tracking is a bundled plugin (issue 18): a site owner switches it
off with ``couvee plugins disable tracking`` and the rest of the admin keeps
working; switched on again, everything is back; an install from before the
move (the tables created by core's ``core_tracking``) upgrades in place."""
from __future__ import annotations

import pytest

from core import contacts
from core.models import Contact, MigrationRecord, PluginState

from .bundled_plugins import assert_bundled_and_active, crawl, links_to, upgrade_from_before_the_move
from .tracking_helpers import drain_now, hit_body, make_site, send_hit

VISITOR = "upgradevisitor0001"


def arrange_a_tracked_contact(app, web):
    site = make_site(app)
    send_hit(web, hit_body(site, v=VISITOR))
    drain_now(app)
    with app.app_context(), app.extensions["couvee"].database_connection():
        from plugins.tracking import link_visitor

        ada = contacts.create_contact({"email": "ada@example.com"})
        link_visitor(VISITOR, ada)
    return site


def test_tracking_is_a_bundled_plugin_active_by_default(admin, ctx):
    state = ctx.extensions["couvee"]
    assert_bundled_and_active(state, "tracking", formerly="core_tracking")
    assert state.registries.event_kinds.owner("page_visited") == "tracking"
    assert 'data-menu="tracking"' in admin.get("/admin/").text


def test_disable_with_the_cli_then_enable_again(admin, wsgi, couvee_cli, run_jobs):
    site = arrange_a_tracked_contact(wsgi.app, admin)
    ada_id = contacts_id(wsgi.app, "ada@example.com")
    assert "Visits" in admin.get(f"/admin/contacts/{ada_id}").text

    result = couvee_cli("plugins", "disable", "tracking")
    assert result.exit_code == 0 and "tracking is inactive." in result.output

    dashboard = admin.get("/admin/")
    assert 'data-menu="tracking"' not in dashboard.text and "/admin/tracking" not in dashboard.text
    assert admin.get("/admin/tracking/visits", expect_errors=True).status_int == 404
    assert admin.get("/admin/tracking/sites", expect_errors=True).status_int == 404
    assert admin.get(f"/t/{site.key}/couvee.js", expect_errors=True).status_int == 404
    assert send_hit(admin, hit_body(site)).status_int == 404
    contact_page = admin.get(f"/admin/contacts/{ada_id}")
    assert 'id="contact-visits"' not in contact_page.text  # its panel is gone, the page still works
    state = wsgi.app.extensions["couvee"]
    assert "page_visited" not in state.registries.event_kinds
    assert not [job for job in state.registries.periodic_jobs if job.id.startswith("tracking.")]
    worker = run_jobs()
    assert worker.runtime.app.extensions["couvee"].host.is_active("tracking") is False

    with wsgi.app.app_context(), wsgi.app.extensions["couvee"].database_connection():
        from plugins.tracking.models import Hit, Site, Visitor

        assert Site.select().count() == 1 and Hit.select().count() == 1  # its tables are kept
        assert Visitor.get_by_id(VISITOR).contact_id == ada_id

    result = couvee_cli("plugins", "enable", "tracking")
    assert result.exit_code == 0 and "tracking is active." in result.output
    assert 'data-menu="tracking"' in admin.get("/admin/").text
    assert admin.get("/admin/tracking/sites").status_int == 200
    assert admin.get(f"/t/{site.key}/couvee.js").status_int in (200, 302)
    assert send_hit(admin, hit_body(site, v=VISITOR, u="https://www.example.com/again")).status_int == 204
    assert 'id="contact-visits"' in admin.get(f"/admin/contacts/{ada_id}").text


def contacts_id(app, email: str) -> int:
    with app.app_context(), app.extensions["couvee"].database_connection():
        return Contact.get(Contact.email == email).id


def test_the_admin_without_tracking_has_no_error_and_no_link_to_it(admin, wsgi, couvee_cli):
    arrange_a_tracked_contact(wsgi.app, admin)
    assert couvee_cli("plugins", "disable", "tracking").exit_code == 0

    seen = crawl(admin)
    assert len(seen) > 20, sorted(seen)  # the crawl reached the admin, not only a login page
    assert any(path.startswith("/admin/contacts/") for path in seen)
    to_tracking = links_to("/admin/tracking")
    assert not to_tracking, f"links to the disabled plugin's pages: {to_tracking}"


def test_an_install_from_before_the_move_upgrades_in_place(config, wsgi, web):
    """The database of an install where tracking was core's ``core_tracking``:
    its migration records under that name, no plugin state for ``tracking``.
    After a start: the plugin is active, its tables and rows intact, its
    migration adopted rather than run again."""
    site = arrange_a_tracked_contact(wsgi.app, web)

    upgraded = upgrade_from_before_the_move(config, wsgi.app, "tracking", "core_tracking")

    with upgraded.app_context(), upgraded.extensions["couvee"].database_connection():
        from plugins.tracking.models import Hit, Site, Visitor

        assert [s.key for s in Site.select()] == [site.key]
        assert Hit.select().count() == 1
        assert Visitor.get_by_id(VISITOR).contact.email == "ada@example.com"


def test_a_manifest_formerly_must_name_another_plugin():
    from core.plugins.discovery import ManifestError, parse_manifest

    base = 'name = "tracking"\ntitle = "T"\nversion = "1"\ndescription = "d"\nauthor = "a"\nrequires_core = ">=0.1"\n'
    assert parse_manifest(base + 'formerly = "core_tracking"\n')["formerly"] == "core_tracking"
    assert parse_manifest(base)["formerly"] == ""
    for bad in ('formerly = "tracking"\n', 'formerly = "Not A Name"\n', "formerly = 3\n"):
        with pytest.raises(ManifestError):
            parse_manifest(base + bad)


def test_a_renamed_plugin_keeps_its_records_and_its_state_once(ctx):
    """``formerly`` beyond core modules: a plugin renamed while disabled stays
    disabled under its new name; a second start adopts nothing."""
    import dataclasses

    from core.plugins.lifecycle import adopt_former_names

    state = ctx.extensions["couvee"]
    MigrationRecord.update(plugin="old_tracking").where(MigrationRecord.plugin == "tracking").execute()
    PluginState.update(name="old_tracking", enabled=False).where(PluginState.name == "tracking").execute()
    discovered = {**state.host.discovered,
                  "tracking": dataclasses.replace(state.host.discovered["tracking"], formerly="old_tracking")}

    assert adopt_former_names(discovered) == ["tracking"]
    assert [(r.plugin, r.version) for r in MigrationRecord.select().where(
        MigrationRecord.plugin.in_(["tracking", "old_tracking"]))] == [("tracking", 1)]
    assert PluginState.get(PluginState.name == "tracking").enabled is False
    assert PluginState.get_or_none(PluginState.name == "old_tracking") is None
    assert adopt_former_names(discovered) == []
