"""Workflows are a bundled plugin (issue 18): a site owner switches them off
with ``couvee plugins disable automation`` and the rest of the admin keeps
working; switched on again, everything is back; an install from before the
move (the tables created by core's ``core_automation``) upgrades in place."""
from __future__ import annotations

from core import auth, contacts, rename_trigger_type
from core.models import Contact

from .bundled_plugins import assert_bundled_and_active, crawl, links_to, upgrade_from_before_the_move

TAGGED = {"type": "tag_added", "settings": {"tag": "vip"}}
WELCOME = {"type": "action", "action": "tag.add", "settings": {"tag": "welcomed"}}


def arrange_a_live_workflow(app, admin_user):
    """A live workflow (a ``vip`` tag adds ``welcomed``), Ada in it, and an API key."""
    with app.app_context(), app.extensions["couvee"].database_connection():
        from plugins.automation import start_workflow
        from plugins.automation.library import with_ids
        from plugins.automation.lifecycle import activate, create_workflow

        workflow = create_workflow("VIP welcome", {"triggers": [TAGGED], "steps": with_ids([WELCOME]),
                                                   "entry": {"mode": "once", "reentry_days": 0,
                                                             "exit_segment_id": None}})
        assert activate(workflow) == []
        ada = contacts.create_contact({"email": "ada@example.com"})
        start_workflow(ada, workflow, reason="test")
        _, secret = auth.create_api_key(admin_user, "tool")
    return workflow.id, ada.id, {"Authorization": f"Bearer {secret}"}


def runs_and_tags(app, email: str) -> tuple[int, list[str]]:
    with app.app_context(), app.extensions["couvee"].database_connection():
        from plugins.automation.models import WorkflowRun

        contact = Contact.get(Contact.email == email)
        runs = WorkflowRun.select().where(WorkflowRun.contact == contact.id).count()
        return runs, sorted(contacts.tags_of(contact))


def test_automation_is_a_bundled_plugin_active_by_default(admin, ctx):
    state = ctx.extensions["couvee"]
    assert_bundled_and_active(state, "automation", formerly="core_automation", migrations=2)
    assert state.registries.event_kinds.owner("workflow_entered") == "automation"
    assert state.registries.actions.owner("workflow.start") == "automation"
    assert {"automation.time_triggers", "automation.recover"} <= {job.id for job in state.registries.periodic_jobs}
    assert 'data-menu="workflows"' in admin.get("/admin/").text
    page = admin.get("/admin/workflows")
    stylesheet = page.html.select_one('link[rel="stylesheet"][href*="automation.css"]')["href"]
    assert stylesheet.startswith("/admin/workflows/static/automation.css")  # the plugin's, not core's
    assert ".editor" in admin.get(stylesheet).text


def test_disable_with_the_cli_then_enable_again(admin, admin_user, wsgi, couvee_cli, run_jobs):
    workflow_id, ada_id, api = arrange_a_live_workflow(wsgi.app, admin_user)
    assert 'id="workflows-panel"' in admin.get(f"/admin/contacts/{ada_id}").text

    result = couvee_cli("plugins", "disable", "automation")
    assert result.exit_code == 0 and "automation is inactive." in result.output

    dashboard = admin.get("/admin/")
    assert 'data-menu="workflows"' not in dashboard.text and "/admin/workflows" not in dashboard.text
    for path in ("/admin/workflows", "/admin/workflows/library", f"/admin/workflows/{workflow_id}",
                 f"/admin/workflows/{workflow_id}/runs"):
        assert admin.get(path, expect_errors=True).status_int == 404, path
    assert admin.get("/api/v1/workflows", headers=api, expect_errors=True).status_int == 404
    assert admin.post_json("/api/v1/automation/events", {"email": "ada@example.com", "name": "done"},
                           headers=api, expect_errors=True).status_int == 404
    contact_page = admin.get(f"/admin/contacts/{ada_id}")  # the page works, without the workflows panel
    assert 'id="workflows-panel"' not in contact_page.text and "ada@example.com" in contact_page.text
    state = wsgi.app.extensions["couvee"]
    assert "workflow_entered" not in state.registries.event_kinds
    assert "workflow.start" not in state.registries.actions
    assert "segment.add" in state.registries.actions  # actions of the others are still registered
    assert not [job for job in state.registries.periodic_jobs if job.id.startswith("automation.")]

    with wsgi.app.app_context(), wsgi.app.extensions["couvee"].database_connection():
        bob = contacts.create_contact({"email": "bob@example.com"})
        contacts.add_tag(bob, "vip")
    worker = run_jobs()  # a worker that no longer knows workflows: the tag starts nothing
    assert worker.runtime.app.extensions["couvee"].host.is_active("automation") is False
    assert runs_and_tags(wsgi.app, "bob@example.com") == (0, ["vip"])
    assert runs_and_tags(wsgi.app, "ada@example.com")[0] == 1  # tables kept

    result = couvee_cli("plugins", "enable", "automation")
    assert result.exit_code == 0 and "automation is active." in result.output
    assert 'data-menu="workflows"' in admin.get("/admin/").text
    assert "VIP welcome" in admin.get("/admin/workflows").text
    assert admin.get("/api/v1/workflows", headers=api).json["items"][0]["name"] == "VIP welcome"
    assert 'id="workflows-panel"' in admin.get(f"/admin/contacts/{ada_id}").text
    with wsgi.app.app_context(), wsgi.app.extensions["couvee"].database_connection():
        cyd = contacts.create_contact({"email": "cyd@example.com"})
        contacts.add_tag(cyd, "vip")
    run_jobs()
    assert runs_and_tags(wsgi.app, "cyd@example.com") == (1, ["vip", "welcomed"])


def test_the_admin_without_automation_has_no_error_and_no_link_to_it(admin, admin_user, wsgi, couvee_cli):
    arrange_a_live_workflow(wsgi.app, admin_user)
    assert couvee_cli("plugins", "disable", "automation").exit_code == 0

    seen = crawl(admin)
    assert len(seen) > 20, sorted(seen)  # the crawl reached the admin, not only a login page
    assert any(path.startswith("/admin/contacts/") for path in seen)
    to_workflows = links_to("/admin/workflows")
    assert not to_workflows, f"links to the disabled plugin's pages: {to_workflows}"


def test_an_install_from_before_the_move_upgrades_in_place(config, wsgi, admin_user):
    """The database of an install where workflows were core's
    ``core_automation``: its migration records under that name, no plugin
    state for ``automation``. After a start: the plugin is active, its tables
    and rows intact, its migration adopted rather than run again."""
    workflow_id, ada_id, _ = arrange_a_live_workflow(wsgi.app, admin_user)

    upgraded = upgrade_from_before_the_move(config, wsgi.app, "automation", "core_automation")

    with upgraded.app_context(), upgraded.extensions["couvee"].database_connection():
        from plugins.automation import Workflow, runs_of

        assert Workflow.get_by_id(workflow_id).status == "active"
        assert [run.workflow_id for run in runs_of(ada_id)] == [workflow_id]


def test_renaming_a_trigger_type_reaches_the_workflows_through_a_hook(ctx):
    """``core.rename_trigger_type`` knows no workflow: the automation plugin
    answers the ``trigger_type_renamed`` hook."""
    from plugins.automation import Workflow
    from plugins.automation.lifecycle import create_workflow

    workflow = create_workflow("Old", {"triggers": [TAGGED], "steps": [], "entry": {}})
    assert rename_trigger_type("tag_added", "shop.tag_added", lambda s: {"label": s["tag"]}) == 1
    assert Workflow.get_by_id(workflow.id).definition["triggers"] == [
        {"type": "shop.tag_added", "settings": {"label": "vip"}}]
    assert rename_trigger_type("tag_added", "shop.tag_added") == 0  # nothing left to move


def test_contact_actions_are_cores_and_work_for_forms_without_workflows(admin, wsgi, couvee_cli, run_jobs):
    """Tags, fields, notifications and webhooks are the kernel's actions: with
    the automation plugin off, a form still tags the contact and sets a field,
    and the action's field choice lists the real fields."""
    from core.models import CustomField
    from plugins.forms import builder
    from plugins.forms.models import Form

    from .conftest import current_app_of
    from .forms_helpers import make_form, submit

    assert couvee_cli("plugins", "disable", "automation").exit_code == 0
    state = current_app_of(admin).extensions["couvee"]
    assert {"tag.add", "tag.remove", "field.set", "notify.user", "webhook.call"} <= set(state.registries.actions.ids())
    assert state.registries.actions.owner("tag.add") == "core"
    with wsgi.app.app_context(), wsgi.app.extensions["couvee"].database_connection():
        CustomField.create(key="sector", label="Secteur", type_id="text")
        form = make_form("Demo", publish=False)
        tag = builder.add_action(form, "tag.add")
        builder.save_action(form, tag, {"s_tag": "demo"})
        field = builder.add_action(form, "field.set")
        form_id, field_row = form.id, field.id
    page = admin.get(f"/admin/forms/{form_id}/actions/{field_row}")
    options = [value for value, *_ in page.forms["action-form"]["s_field"].options]
    assert options[:3] == ["email", "first_name", "last_name"] and "sector" in options
    page.forms["action-form"]["s_field"] = "sector"
    page.forms["action-form"]["s_value"] = "Industrie"
    page.forms["action-form"].submit().follow()
    with wsgi.app.app_context(), wsgi.app.extensions["couvee"].database_connection():
        builder.publish(Form.get_by_id(form_id))
        submit(admin, Form.get_by_id(form_id), {"email": "lead@example.com"})
    run_jobs()
    with wsgi.app.app_context(), wsgi.app.extensions["couvee"].database_connection():
        lead = Contact.get(Contact.email == "lead@example.com")
        assert contacts.tags_of(lead) == ["demo"] and contacts.get_values(lead)["sector"] == "Industrie"
