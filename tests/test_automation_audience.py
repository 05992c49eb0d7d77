"""The pre-send audience check of workflow email steps (issue 19): the workflow
page says, next to Activate, who each email step would reach now and who is
skipped, by reason; for a trigger with a known population (a segment, a tag)
that population is counted, for an event trigger every contact who could enter
(and the page says which). Activating a workflow whose email step would reach
nobody of a known population is refused with the reason unless the admin ticks
"activate anyway". The check comes from the email plugin's action
(``Action.audience``); core's automation names no plugin. Real database, real
Redis, the gdpr consent gate, an aiosmtpd sink and headless Chromium."""
from __future__ import annotations

import re

from plugins.automation import Workflow
from plugins.automation.lifecycle import activate, audience, create_workflow
from core.contacts import add_tag, create_contact
from core.models import Contact
from plugins.segments import Segment
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.test_audience_check import mixed_audience, require_consent, subscriber
from tests.test_automation import with_ids

from plugins.gdpr import ledger

WELCOME = {"type": "action", "action": "email.send", "note": "Welcome email",
           "settings": {"subject": "Welcome {{ first_name }}", "body": "<p>Hello!</p>"}}
TAGGED = {"type": "action", "action": "tag.add", "settings": {"tag": "welcomed"}}


def workflow(name: str, triggers: list, steps=(WELCOME,)) -> Workflow:
    return create_workflow(name, {"triggers": triggers, "steps": with_ids(list(steps)),
                                  "entry": {"mode": "once", "reentry_days": 0, "exit_segment_id": None}})


def joins(segment: Segment) -> list:
    return [{"type": "segment_joined", "settings": {"segment_id": str(segment.id)}}]


def words(page) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page.text))


def test_a_segment_trigger_counts_its_members_by_reason(admin, ctx, smtp_sink):
    require_consent(smtp_sink)
    readers = mixed_audience()  # 2 reachable; no consent (2), unsubscribed (1), bounced (1)
    create_contact({"first_name": "No address"})  # not in the segment: not counted
    flow = workflow("Welcome readers", joins(readers), steps=(TAGGED, WELCOME))
    check = audience(flow)
    assert check.known and check.population == 6 and [label for label, _ in check.steps] == ["Welcome email"]
    (_, step), = check.steps
    assert (step.receiving, step.skipped_count) == (2, 4)
    page = admin.get(f"/admin/workflows/{flow.id}")
    said = words(page)
    assert "Counted over the 6 contact(s) the trigger selects now (Joined a segment)." in said
    assert "Step “Welcome email”: 2 will receive it, 4 skipped: no consent for email_marketing (2), " in said
    assert "unsubscribed (1)" in said and "bounced (1)" in said
    assert page.text.index('id="status-form"') < page.text.index('id="workflow-audience"')  # beside Activate
    live = page.forms["status-form"].submit("action", value="activate").follow()
    assert "is live (version 1)" in live.text


def test_activation_is_refused_when_the_email_step_reaches_nobody_of_a_known_population(admin, ctx, smtp_sink):
    require_consent(smtp_sink)
    imported = Segment.create(name="Imported", kind="static")
    for email in ("x@example.com", "y@example.com"):
        subscriber(email, imported, consent=False)
    flow = workflow("Onboarding", joins(imported))
    page = admin.get(f"/admin/workflows/{flow.id}")
    refusal = ("The email steps would reach nobody of the contacts this workflow is for — step “Welcome email”: "
               "Nobody would receive it: all 2 skipped (no consent for email_marketing (2)).")
    assert refusal in words(page)
    refused = page.forms["status-form"].submit("action", value="activate").follow()
    assert "Not activated" in refused.text and refusal in words(refused)
    assert Workflow.get_by_id(flow.id).status == "draft"
    # the admin knows better (consent is being collected): activate anyway, deliberately
    form = refused.forms["status-form"]
    form["anyway"] = True
    assert "is live (version 1)" in form.submit("action", value="activate").follow().text
    assert Workflow.get_by_id(flow.id).status == "active"
    # once one of them consents, nothing is refused any more
    other = workflow("Onboarding 2", joins(imported))
    assert activate(other) and audience(other).refusal()
    ledger.change(Contact.get(Contact.email == "x@example.com"), "email_marketing", True, source="admin",
                  text="Said yes on the phone")
    assert audience(other).refusal() == "" and activate(other) == []


def test_an_event_trigger_counts_every_contact_who_could_enter_and_only_warns(admin, ctx, smtp_sink):
    require_consent(smtp_sink)
    create_contact({"email": "a@example.com"})
    create_contact({"email": "b@example.com"})
    create_contact({"first_name": "Phone only"})
    flow = workflow("After a form", [{"type": "form_submitted", "settings": {}}])
    check = audience(flow)
    assert not check.known and check.population == 3 and check.refusal() == ""
    said = words(admin.get(f"/admin/workflows/{flow.id}"))
    assert ("No population is known in advance (“Form submitted” is an event): counted over all 3 contacts who "
            "could enter now") in said
    assert "Step “Welcome email”: 0 will receive it, 3 skipped: no consent for email_marketing (2), " \
           "no email address (1)." in said
    assert "Nobody could be emailed now; activation is allowed" in said
    assert activate(flow) == []  # contacts who submit the form later may give their consent in it


def test_a_tag_trigger_counts_the_tagged_contacts_and_leaves_out_those_already_through(admin, ctx, smtp_sink,
                                                                                        run_jobs):
    require_consent(smtp_sink)
    vips = Segment.create(name="Everyone", kind="static")
    ada = subscriber("ada@example.com", vips)
    bob = subscriber("bob@example.com", vips, consent=False)
    subscriber("cyd@example.com", vips)  # no tag: outside the population
    for contact in (ada, bob):
        add_tag(contact, "vip")
    run_jobs()  # the tags' events are dispatched before the workflow exists
    flow = workflow("VIP", [{"type": "tag_added", "settings": {"tag": "VIP"}}])
    check = audience(flow)
    assert check.known and check.population == 2
    assert (check.steps[0][1].receiving, dict(check.steps[0][1].skipped)) == (1, {"no consent for email_marketing": 1})
    assert activate(flow) == []
    from plugins.automation import start_workflow

    start_workflow(ada, flow)
    run_jobs()
    assert smtp_sink.wait_for(1)[0]["To"] == "ada@example.com"
    Workflow.update(status="draft").where(Workflow.id == flow.id).execute()
    flow = Workflow.get_by_id(flow.id)
    check = audience(flow)  # Ada went through this "once" workflow: she cannot enter again
    assert check.population == 1 and check.steps[0][1].receiving == 0
    said = words(admin.get(f"/admin/workflows/{flow.id}"))
    assert "Counted over the 1 contact(s) the trigger selects now (Tag added) (1 already went through this " \
           "workflow and cannot enter again)." in said
    assert "activate anyway" in said


def test_the_workflow_page_shows_the_audience_check_in_the_browser(live_server, page, admin_user, ctx, smtp_sink):
    require_consent(smtp_sink)
    readers = mixed_audience()
    cold = Segment.create(name="Cold", kind="static")
    subscriber("cold@example.com", cold, consent=False)
    good, bad = workflow("Welcome readers", joins(readers)), workflow("Cold outreach", joins(cold))
    page.goto(live_server.url + "/admin/login")
    page.fill("input[name=email]", ADMIN_EMAIL)
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.click("button.primary")
    page.goto(f"{live_server.url}/admin/workflows/{good.id}")
    step = page.locator("#workflow-audience li").first
    assert re.sub(r"\s+", " ", step.inner_text()).startswith(
        "Step “Welcome email”: 2 will receive it, 4 skipped: no consent for email_marketing (2)")
    page.click("#status-form button[value=activate]")
    page.wait_for_selector("text=is live (version 1)")

    page.goto(f"{live_server.url}/admin/workflows/{bad.id}")
    assert "Nobody would receive it: all 1 skipped" in page.locator("#workflow-audience [role=alert]").inner_text()
    page.click("#status-form button[value=activate]")
    page.wait_for_selector("text=Not activated")
    assert Workflow.get_by_id(bad.id).status == "draft"
    page.check("#status-form input[name=anyway]")
    page.click("#status-form button[value=activate]")
    page.wait_for_selector("text=is live (version 1)")
    assert Workflow.get_by_id(bad.id).status == "active"
