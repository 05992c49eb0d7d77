"""The workflow editor a marketer uses without docs: build a workflow with
forms generated from the settings, see what blocks activation, watch the
counters on the diagram, read run logs on the workflow and contact pages,
start from a ready-made scenario."""
from __future__ import annotations

import re

from core import contacts
from plugins.automation import Workflow, runs_of
from core.models import Contact

from .conftest import csrf_of


def _ctx(admin):
    app = admin.app.app
    return app.app_context(), app.extensions["couvee"].database_connection()


def _in_app(admin):
    class _Both:
        def __enter__(self):
            self.a, self.b = _ctx(admin)
            self.a.__enter__()
            self.b.__enter__()

        def __exit__(self, *exc):
            self.b.__exit__(*exc)
            self.a.__exit__(*exc)

    return _Both()


def test_build_activate_and_follow_a_workflow_through_the_editor(admin, run_jobs):
    page = admin.get("/admin/workflows")
    assert "No workflows yet" in page.text
    form = page.forms["new-workflow"]
    form["name"] = "VIP welcome"
    editor = form.submit().follow()
    assert "Add a trigger: what makes a contact enter this workflow?" in editor.text
    assert "Add at least one step." in editor.text

    # activation is refused while something is missing
    refused = editor.forms["status-form"].submit("action", value="activate").follow()
    assert "Not activated" in refused.text and "draft" in refused.text

    # a trigger: the menu lists the registry's trigger types grouped by kind
    menu = editor.click(re.escape("+ Add a trigger"))
    assert "Based on time" in menu.text and "Anniversary of a date field" in menu.text
    trigger_form = menu.click("Tag added").forms["trigger-form"]
    trigger_form["s-tag"] = "vip"
    editor = trigger_form.submit().follow()
    assert "Tag added" in editor.text and "Tag (empty: any tag): vip" in editor.text

    # a step: the menu lists step kinds and every registered action (plugins' too)
    menu = editor.click(re.escape("+ add a step"), index=0)
    for label in ("Wait a duration", "If the contact has a tag", "Wait for something, with a time limit",
                  "Add a tag", "Call a webhook", "Assign an owner", "Add to a static list"):
        assert label in menu.text, label
    step_form = menu.click("If the contact has a tag").forms["step-form"]
    bad = step_form.submit(status=422)
    assert "Tag is required." in bad.text
    step_form = bad.forms["step-form"]
    step_form["s-tag"] = "customer"
    editor = step_form.submit().follow()
    assert "Has the tag “customer”?" in editor.text

    # an action in the "yes" branch
    yes_link = [a for a in re.findall(r'href="([^"]+)"', editor.text) if "at=s1.yes" in a][0]
    step_form = admin.get(yes_link.replace("&amp;", "&")).click("Add a tag").forms["step-form"]
    step_form["s-tag"] = "vip customer"
    step_form["note"] = "Flag for the account team"
    editor = step_form.submit().follow()
    assert "Flag for the account team" in editor.text
    assert "Ready to activate." in editor.text

    editor = editor.forms["status-form"].submit("action", value="activate").follow()
    assert "is live (version 1)" in editor.text

    with _in_app(admin):
        ada = contacts.create_contact({"email": "ada@example.com"}, tags=["customer"])
        bob = contacts.create_contact({"email": "bob@example.com"})
        contacts.add_tag(ada, "vip")
        contacts.add_tag(bob, "vip")
    run_jobs()
    with _in_app(admin):
        assert "vip customer" in contacts.tags_of(Contact.get_by_id(ada.id))
        assert "vip customer" not in contacts.tags_of(Contact.get_by_id(bob.id))
        workflow = Workflow.get(Workflow.name == "VIP welcome")
    editor = admin.get(f"/admin/workflows/{workflow.id}")
    s1 = editor.text.split('id="step-s1"')[1].split('class="branches"')[0]
    assert "▶ 2" in s1 and "✓ 2" in s1
    s2 = editor.text.split('id="step-s2"')[1]
    assert "▶ 1" in s2 and "✓ 1" in s2
    assert "does not have the tag “customer”: takes the “no” branch" in editor.text

    # the contact page shows its runs and their logs
    contact_page = admin.get(f"/admin/contacts/{ada.id}")
    assert "VIP welcome" in contact_page.text and "has the tag “customer”: takes the “yes” branch" in contact_page.text
    runs_page = admin.get(f"/admin/workflows/{workflow.id}/runs")
    assert "ada@example.com" in runs_page.text and "bob@example.com" in runs_page.text

    # editing the live workflow keeps runs on their version until published
    edit = admin.get(f"/admin/workflows/{workflow.id}/steps/s2").forms["step-form"]
    edit["s-tag"] = "key account"
    editor = edit.submit().follow()
    assert "Live runs are unchanged until you publish the changes." in editor.text
    assert "Publish changes" in editor.text
    editor = editor.forms["status-form"].submit("action", value="publish").follow()
    assert "version 2" in editor.text


def test_manual_add_and_remove_from_the_contact_page(admin, run_jobs):
    from plugins.automation.lifecycle import activate, create_workflow

    with _in_app(admin):
        workflow = create_workflow("Manual", {"triggers": [{"type": "tag_added", "settings": {"tag": "x"}}],
                                              "steps": [{"id": "s1", "type": "delay", "variant": "duration",
                                                         "settings": {"amount": 2, "unit": "days"}}]})
        assert activate(workflow) == []
        ada = contacts.create_contact({"email": "ada@example.com", "first_name": '"><script>alert(1)</script>'})
    page = admin.get(f"/admin/contacts/{ada.id}")
    assert "In no workflow yet." in page.text
    page = page.forms["add-to-workflow"].submit().follow()
    assert "added to the workflow" in page.text
    run_jobs()
    page = admin.get(f"/admin/contacts/{ada.id}")
    assert "waiting until" in page.text or "until" in page.text
    assert "<script>alert(1)</script>" not in page.text
    remove = [f for f in page.forms.values() if "/remove/" in (f.action or "")][0]
    page = remove.submit().follow()
    assert "removed from the workflow" in page.text
    with _in_app(admin):
        assert runs_of(ada)[0].status == "exited"


def test_templates_ship_ready_to_fill_and_say_which_plugin_is_missing(admin, wsgi):
    from core.plugins import lifecycle as plugins

    library = admin.get("/admin/workflows/library")
    for name in ("Birthday greeting", "1-year customer thank-you", "Drip: day 1, 7 and 14",
                 "Welcome after newsletter sign-up", "Onboarding when a lead becomes a customer", "Re-permission",
                 "Engagement status", "Hot lead → assign a rep and notify", "Pricing page visit → alert sales",
                 "Lost opportunity → nurture series", "NPS: review request or re-engagement"):
        assert name in library.text, name
    form = [f for f in library.forms.values() if f.action.endswith("/library/drip")][0]
    editor = form.submit().follow()
    assert "Choose the list and the three emails, then activate it." in editor.text
    assert "Segment is required." in editor.text
    assert editor.text.count('<div class="note">Day 1 email</div>') == 1 and "Day 14 email" in editor.text
    assert "Step “Day 1 email”: write a subject and a body, or choose a newsletter as template." in editor.text

    with wsgi.app.app_context(), wsgi.app.extensions["couvee"].database_connection():
        if "email" in wsgi.app.extensions["couvee"].registries.channels:
            plugins.deactivate(wsgi.app.extensions["couvee"], "email")
    library = admin.get("/admin/workflows/library")
    birthday = library.text.split('id="template-birthday"')[1].split("</section>")[0]
    assert "email.send" in birthday and "enable the <strong>Email</strong> plugin" in birthday
    editor = admin.get(editor.request.path)
    assert "the action “email.send” is not available — enable the plugin that provides it (Email)" in editor.text
    assert "(unavailable: enable its plugin)" in editor.text


def test_every_form_post_needs_csrf_and_marketers_only(admin, web):
    page = admin.get("/admin/workflows")
    token = csrf_of(page)
    assert admin.post("/admin/workflows/new", {"name": "x"}, status=400)
    created = admin.post("/admin/workflows/new", {"name": "x", "csrf_token": token}).follow()
    assert "Add a trigger" in created.text
    assert admin.post("/admin/workflows/new", {"name": "  ", "csrf_token": token}).follow().text.count("needs a name")
