"""Contact owners are a bundled plugin (issue 18): a site owner switches them
off with ``couvee plugins disable owners`` and the rest of the admin (custom
fields included, which stayed in core) keeps working; switched on again,
everything is back; an install from before the move (the tables created by
core's ``core_owners``) upgrades in place."""
from __future__ import annotations

from core import auth
from core.contacts import create_contact
from core.models import Contact, CustomField, Event

from .bundled_plugins import assert_bundled_and_active, crawl, links_to, upgrade_from_before_the_move


def in_db(app):
    """An app context with a database connection (between requests)."""
    import contextlib

    stack = contextlib.ExitStack()
    stack.enter_context(app.app_context())
    stack.enter_context(app.extensions["couvee"].database_connection())
    return stack


def rules_of(app) -> list[tuple[str, str]]:
    with in_db(app):
        from plugins.owners.models import AssignmentRule

        return [(rule.field_key, rule.value) for rule in AssignmentRule.select().order_by(AssignmentRule.id)]


def a_rep_and_a_rule(app) -> tuple[int, int]:
    """A sales rep, and a rule giving her the contacts whose last name is
    Lovelace: their ids."""
    with in_db(app):
        from plugins.owners.models import AssignmentRule

        rep = auth.create_user("rep@example.com", "x" * 12, role="sales", name="Rep")
        rule = AssignmentRule.create(position=1, field_key="last_name", value="Lovelace", owner=rep.id)
        return rep.id, rule.id


def new_contact(app, email) -> int:
    with in_db(app):
        return create_contact({"email": email, "last_name": "Lovelace"}, source="test").id


def owner_of(app, contact_id):
    with in_db(app):
        return Contact.get_by_id(contact_id).owner_id


def test_owners_is_a_bundled_plugin_active_by_default(admin, ctx):
    state = ctx.extensions["couvee"]
    assert_bundled_and_active(state, "owners", formerly="core_owners")
    assert state.registries.event_kinds.owner("owner_assigned") == "owners"
    assert "owner.assign" in state.registries.actions
    assert "owners" in [group.id for group in state.registries.settings]
    dashboard = admin.get("/admin/")
    assert 'data-menu="assignment"' in dashboard.text and 'data-menu="fields"' in dashboard.text
    assert "Owner assignment" in admin.get("/admin/assignment").text


def test_the_custom_fields_admin_stayed_in_core(admin, ctx):
    state = ctx.extensions["couvee"]
    assert state.registries.admin_menu.owner("fields") == "core"
    assert "fields.first" in [step.id for step in state.registries.setup_steps]
    assert not any(name.startswith("core_owners") for name in state.host.active)
    import core

    assert core.create_field.__module__ == "core.fields_admin"


def test_disable_with_the_cli_then_enable_again(admin, wsgi, couvee_cli, run_jobs):
    rep, rule_id = a_rep_and_a_rule(wsgi.app)
    first = new_contact(wsgi.app, "ada@example.com")
    run_jobs()
    assert owner_of(wsgi.app, first) == rep

    result = couvee_cli("plugins", "disable", "owners")
    assert result.exit_code == 0 and "owners is inactive." in result.output

    dashboard = admin.get("/admin/")
    assert 'data-menu="assignment"' not in dashboard.text and "/admin/assignment" not in dashboard.text
    assert 'data-menu="fields"' in dashboard.text  # core's custom fields admin is still there
    assert admin.get("/admin/fields").status_int == 200
    for path in ("/admin/assignment", f"/admin/assignment/rules/{rule_id}/edit"):
        assert admin.get(path, expect_errors=True).status_int == 404, path
    state = wsgi.app.extensions["couvee"]
    assert "owner_assigned" not in state.registries.event_kinds
    assert "owner.assign" not in state.registries.actions
    assert "owners" not in [group.id for group in state.registries.settings]
    hot_lead = admin.get("/admin/workflows/library").text.split('id="template-hot_lead"')[1].split("</section>")[0]
    assert "owner.assign" in hot_lead and "enable the <strong>Contact owners</strong> plugin" in hot_lead
    contact_page = admin.get(f"/admin/contacts/{first}")  # the owner column is core's: still shown
    assert contact_page.status_int == 200

    second = new_contact(wsgi.app, "bob@example.com")
    worker = run_jobs()  # a worker that no longer knows the plugin: no assignment on creation
    assert worker.runtime.app.extensions["couvee"].host.is_active("owners") is False
    assert owner_of(wsgi.app, second) is None
    assert rules_of(wsgi.app) == [("last_name", "Lovelace")]  # tables kept
    assert owner_of(wsgi.app, first) == rep

    result = couvee_cli("plugins", "enable", "owners")
    assert result.exit_code == 0 and "owners is active." in result.output
    assert 'data-menu="assignment"' in admin.get("/admin/").text
    assert "Lovelace" in admin.get("/admin/assignment").text
    state = wsgi.app.extensions["couvee"]
    assert "owner_assigned" in state.registries.event_kinds and "owner.assign" in state.registries.actions
    third = new_contact(wsgi.app, "cyd@example.com")
    run_jobs()
    assert owner_of(wsgi.app, third) == rep
    with in_db(wsgi.app):
        assert Event.select().where((Event.kind == "owner_assigned") & (Event.contact == third)).exists()


def test_the_admin_without_owners_has_no_error_and_no_link_to_it(admin, wsgi, couvee_cli, run_jobs):
    a_rep_and_a_rule(wsgi.app)
    contact = new_contact(wsgi.app, "ada@example.com")
    run_jobs()
    with in_db(wsgi.app):
        CustomField.create(key="zone", label="Zone", type_id="text")
    assert couvee_cli("plugins", "disable", "owners").exit_code == 0

    seen = crawl(admin)
    assert len(seen) > 20, sorted(seen)  # the crawl reached the admin, not only a login page
    assert f"/admin/contacts/{contact}" in seen and "/admin/fields" in seen
    to_owners = links_to("/admin/assignment")
    assert not to_owners, f"links to the disabled plugin's pages: {to_owners}"


def test_an_install_from_before_the_move_upgrades_in_place(config, wsgi):
    """The database of an install where owners were core's ``core_owners``:
    its migration records under that name, no plugin state for ``owners``.
    After a start: the plugin is active, its tables and rows intact, its
    migration adopted rather than run again."""
    a_rep_and_a_rule(wsgi.app)

    upgraded = upgrade_from_before_the_move(config, wsgi.app, "owners", "core_owners")

    assert rules_of(upgraded) == [("last_name", "Lovelace")]
