"""An email step left empty: the editor says so and activation waits; a
workflow published before that check had contacts looping on the empty step,
and publishing the fix offers to move the contacts inside to the new version
(where the step they are at still exists), each move written in the run log."""
from __future__ import annotations

from core import contacts
from plugins.automation import RunLog, Workflow, WorkflowRun, start_workflow
from plugins.automation.definition import remove_step, update_step
from plugins.automation.library import action, condition, email, wait, with_ids
from plugins.automation.lifecycle import create_workflow, problems, publish, save_draft
from core.models import Contact

from .conftest import login
from .test_automation import later
from .test_automation_admin import _in_app
from .test_email_send import configure

EMPTY_EMAIL = "write a subject and a body, or choose a newsletter as template."


def test_drip_template_with_empty_emails_is_not_ready_to_activate(admin):
    from plugins.segments.models import Segment

    with _in_app(admin):
        segment = Segment.create(name="Trial", kind="static")
    library = admin.get("/admin/workflows/library")
    form = [f for f in library.forms.values() if f.action.endswith("/library/drip")][0]
    editor = form.submit().follow()
    trigger = editor.click("Edit", href="/triggers/0").forms["trigger-form"]
    trigger["s-segment_id"] = str(segment.id)
    editor = trigger.submit().follow()
    assert "Segment is required." not in editor.text
    assert "Ready to activate." not in editor.text
    for note in ("Day 1 email", "Day 7 email", "Day 14 email"):
        assert f"Step “{note}”: {EMPTY_EMAIL}" in editor.text

    refused = editor.forms["status-form"].submit("action", value="activate").follow()
    assert "Not activated" in refused.text and f"Step “Day 7 email”: {EMPTY_EMAIL}" in refused.text
    with _in_app(admin):
        workflow = Workflow.get()
        assert (workflow.status, workflow.version) == ("draft", 0)

    for step_id in ("s1", "s3", "s5"):
        step = admin.get(f"/admin/workflows/{workflow.id}/steps/{step_id}").forms["step-form"]
        step["s-subject"] = "Hello {{ first_name }}"
        if step_id != "s5":
            step["s-body"] = "<p>News</p>"
        editor = step.submit().follow()
    assert f"Step “Day 14 email”: write a body, or choose a newsletter as template." in editor.text
    with _in_app(admin):
        from plugins.email.models import Newsletter

        chosen = Newsletter.create(name="Last call", subject="Last call", content="<p>Soon over</p>")
    step = admin.get(f"/admin/workflows/{workflow.id}/steps/s5").forms["step-form"]
    step["s-template"] = str(chosen.id)  # picked by name from the list
    editor = step.submit().follow()
    assert "Ready to activate." in editor.text
    with _in_app(admin):
        Newsletter.delete_by_id(chosen.id)  # deleted after the step chose it
    editor = admin.get(f"/admin/workflows/{workflow.id}")
    assert f"Step “Day 14 email”: there is no newsletter #{chosen.id} to use as a template." in editor.text
    step = admin.get(f"/admin/workflows/{workflow.id}/steps/s5").forms["step-form"]
    step["s-template"] = ""
    step["s-body"] = "<p>Last one</p>"
    editor = step.submit().follow()
    assert "Ready to activate." in editor.text
    live = editor.forms["status-form"].submit("action", value="activate").follow()
    assert "is live (version 1)" in live.text


def _steps_log(run_id: int) -> list[tuple[str, str]]:
    return [(r.kind, r.message) for r in RunLog.select().where(RunLog.run == run_id).order_by(RunLog.id)]


def test_publishing_the_fix_moves_the_waiting_runs_when_asked(admin, run_jobs, smtp_sink):
    app = admin.app.app
    with _in_app(admin):
        configure(smtp_sink)
        # version 1 was activated before activation checked email steps
        workflow = create_workflow("Trial", {"triggers": [{"type": "tag_added", "settings": {"tag": "trial"}}],
                                             "steps": with_ids([
                                                 condition("tag", [wait(1)], [wait(1)], tag="pro"),
                                                 email("Welcome"),
                                                 action("tag.add", tag="welcomed")])})
        assert problems(workflow.definition) == [f"Step “Welcome”: {EMPTY_EMAIL}"]
        publish(workflow)
        workflow.status = "active"
        workflow.save()
        bob = contacts.create_contact({"email": "bob@example.com", "first_name": "Bob"}, tags=["pro"])
        start_workflow(bob, workflow.id, reason="test", manual=True)
    run_jobs()
    traveller = later(app, run_jobs, days=2)  # bob's delay is over: the empty email fails and is retried
    try:
        with _in_app(admin):
            bob_run = WorkflowRun.get(WorkflowRun.contact == bob.id)
            assert (bob_run.status, bob_run.step_id) == ("retrying", "s4")
            assert "needs a subject and a body" in bob_run.error
            ada = contacts.create_contact({"email": "ada@example.com", "first_name": "Ada"}, tags=["pro"])
            cy = contacts.create_contact({"email": "cy@example.com", "first_name": "Cy"})
            start_workflow(ada, workflow.id, reason="test", manual=True)
            start_workflow(cy, workflow.id, reason="test", manual=True)
        run_jobs()
        with _in_app(admin):
            runs = {r.contact_id: r for r in WorkflowRun.select()}
            assert (runs[ada.id].status, runs[ada.id].step_id) == ("waiting", "s2")
            assert (runs[cy.id].status, runs[cy.id].step_id) == ("waiting", "s3")
            # the fix: the email gets its content, the "no" branch delay goes
            fixed = update_step(workflow.definition, "s4", settings={"subject": "Welcome {{ first_name }}",
                                                                     "body": "<p>Glad you are here</p>"})
            save_draft(workflow, remove_step(fixed, "s3"))

        login(admin)  # two days later: the session has expired
        editor = admin.get(f"/admin/workflows/{workflow.id}")
        assert "and move the contacts inside to the new version" in editor.text
        editor = editor.forms["status-form"].submit("action", value="publish").follow()
        assert "is live (version 2)" in editor.text
        with _in_app(admin):
            assert {r.version for r in WorkflowRun.select()} == {1}  # publishing alone moves nobody
        assert "3 contact(s) are inside an older version" in editor.text
        assert "2 can move to version 2" in editor.text and "1 cannot" in editor.text

        moved = editor.forms["move-runs-form"].submit().follow()
        assert "2 contact(s) moved to version 2. 1 stay on their version" in moved.text
        assert "move-runs-form" not in moved.text
        run_jobs()  # bob's step is tried again at once, with version 2's settings
        (message,) = smtp_sink.wait_for(1)
        assert message.envelope_to == ["bob@example.com"] and message["Subject"] == "Welcome Bob"
        with _in_app(admin):
            runs = {r.contact_id: r for r in WorkflowRun.select()}
            assert (runs[bob.id].status, runs[bob.id].version) == ("completed", 2)
            assert "welcomed" in contacts.tags_of(Contact.get_by_id(bob.id))
            assert (runs[ada.id].status, runs[ada.id].version, runs[ada.id].step_id) == ("waiting", 2, "s2")
            assert (runs[cy.id].status, runs[cy.id].version) == ("waiting", 1)
            moves = [m for kind, m in _steps_log(runs[ada.id].id) if kind == "moved"]
            assert len(moves) == 1 and moves[0].startswith("moved from version 1 to version 2, asked by ")
            assert [k for k, _ in _steps_log(runs[cy.id].id)].count("moved") == 0
        run_page = admin.get(f"/admin/workflows/runs/{runs[bob.id].id}")
        assert "moved from version 1 to version 2" in run_page.text
    finally:
        traveller.stop()

    traveller = later(app, run_jobs, days=4)  # ada's delay (kept) is over: she gets the fixed email
    try:
        messages = smtp_sink.wait_for(2)
        assert sorted(m.envelope_to[0] for m in messages) == ["ada@example.com", "bob@example.com"]
        with _in_app(admin):
            assert WorkflowRun.get(WorkflowRun.contact == ada.id).status == "completed"
            cy_run = WorkflowRun.get(WorkflowRun.contact == cy.id)
            assert (cy_run.version, cy_run.status, cy_run.step_id) == (1, "retrying", "s4")
    finally:
        traveller.stop()


def test_publish_with_the_move_box_ticked_and_csrf(admin, run_jobs):
    with _in_app(admin):
        workflow = create_workflow("Tags", {"triggers": [{"type": "tag_added", "settings": {"tag": "x"}}],
                                            "steps": with_ids([wait(3), action("tag.add", tag="one")])})
        publish(workflow)
        workflow.status = "active"
        workflow.save()
        ada = contacts.create_contact({"email": "ada@example.com"})
        start_workflow(ada, workflow.id, reason="test", manual=True)
    run_jobs()
    with _in_app(admin):
        save_draft(workflow, update_step(workflow.definition, "s2", settings={"tag": "two"}))
    assert admin.post(f"/admin/workflows/{workflow.id}/runs/move", {}, status=400)
    form = admin.get(f"/admin/workflows/{workflow.id}").forms["status-form"]
    form["move_runs"] = True
    page = form.submit("action", value="publish").follow()
    assert "is live (version 2)" in page.text and "1 contact(s) moved to version 2." in page.text
    with _in_app(admin):
        run = WorkflowRun.get()
        assert run.version == 2
        assert [m for k, m in _steps_log(run.id) if k == "moved"][0].startswith("moved from version 1 to version 2")


def test_activation_checks_the_rules_of_core_actions(ctx):
    from core import auth

    gone = auth.create_user("gone@example.com", "long password 1", role="sales", name="Gone")
    gone.is_active = False
    gone.save()
    definition = {"triggers": [{"type": "tag_added", "settings": {"tag": "x"}}], "steps": with_ids([
        action("webhook.call", "To the ERP", url="ftp://erp.example/hook"),
        action("owner.assign", "To a rep", mode="user"),
        action("owner.assign", "To Gone", mode="user", user_id=gone.id),
        action("owner.assign", "Round robin", mode="round_robin")])}
    assert problems(definition) == [
        "Step “To the ERP”: the webhook URL must start with http:// or https://.",
        "Step “To a rep”: choose the user who gets the contacts (User, for “a given user”).",
        f"Step “To Gone”: user {gone.id} does not exist or is deactivated.",
    ]
