"""The workflow step editor previews a notification's texts as a chosen
contact (issue 21): the texts as typed, filled with ``core.fill_tokens`` as
the step does when it runs, the contact found by address, id or name,
nothing saved, contact data escaped."""
from __future__ import annotations

import re

from core import contacts
from core.models import CustomField
from plugins.automation import Workflow

from .conftest import csrf_of
from .test_automation_admin import _in_app

SUBJECT = 'Call {{ first_name or "them" }} from {{ fields.company }}'
MESSAGE = "{{ name }} <{{ email }}> has {{ points }} points. {{ shoe_size }} stays."


def notify_step_form(admin):
    page = admin.get("/admin/workflows")
    form = page.forms["new-workflow"]
    form["name"] = "Follow-ups"
    editor = form.submit().follow()
    workflow_id = int(re.search(r"/admin/workflows/(\d+)", editor.request.url).group(1))
    menu = editor.click(re.escape("+ add a step"), index=0)
    return workflow_id, menu.click("Notify a user by email")


def test_a_notification_step_previews_its_texts_as_a_chosen_contact(admin):
    with _in_app(admin):
        CustomField.create(key="company", label="Company", type_id="text")
        eve = contacts.create_contact({"email": "eve@example.com", "first_name": "<b>Eve</b>",
                                       "last_name": "O'Hara", "company": "Acme & Co"})
        contacts.create_contact({"email": "evelyn@example.com", "first_name": "Evelyn"})
        contacts.create_contact({"email": "nobody@example.com"})
    workflow_id, page = notify_step_form(admin)
    assert "Preview as a contact" in page.text
    form = page.forms["step-form"]
    form["s-subject"], form["s-message"] = SUBJECT, MESSAGE

    # a name matching two contacts: both are offered
    form["preview_contact"] = "eve"
    offered = form.submit("preview")
    assert offered.status_code == 200
    assert "Several contacts match" in offered.text
    assert "evelyn@example.com" in offered.text and "&lt;b&gt;Eve&lt;/b&gt; O&#39;Hara" in offered.text
    assert "<b>Eve</b>" not in offered.text
    # choosing one fills the texts as typed (kept in the form), escaped
    shown = offered.forms["step-form"].submit("preview_as", value=str(eve.id))
    texts = shown.html.select_one("dl.preview-texts")
    assert [dt.text for dt in texts.select("dt")] == ["Subject", "Message"]
    assert [dd.text for dd in texts.select("dd")] == [
        "Call <b>Eve</b> from Acme & Co",
        "<b>Eve</b> O'Hara <eve@example.com> has 0 points. {{ shoe_size }} stays."]
    assert "Call &lt;b&gt;Eve&lt;/b&gt; from Acme &amp; Co" in shown.text  # escaped in the page
    assert shown.forms["step-form"]["s-subject"].value == SUBJECT
    assert shown.forms["step-form"]["preview_contact"].value == "eve@example.com"
    with _in_app(admin):
        assert Workflow.get_by_id(workflow_id).definition.get("steps", []) == []  # a preview saves nothing

    # by address, after the default subject came back: the defaults are previewed too
    again = shown.forms["step-form"]
    again["s-subject"], again["preview_contact"] = "", "nobody@example.com"
    texts = again.submit("preview").html.select_one("dl.preview-texts")
    assert texts.select("dd")[0].text == "Contact to follow up: nobody@example.com"

    # nobody matches: said, and nothing else changes
    again["preview_contact"] = "zzz"
    missing = again.submit("preview")
    assert "No contact matches “zzz”." in missing.text and "preview-texts" not in missing.text

    # saved, then previewed from the step's own page
    saved = again.submit().follow()
    assert "Notify a user by email" in saved.text
    with _in_app(admin):
        [step] = Workflow.get_by_id(workflow_id).definition["steps"]
    edit = admin.get(f"/admin/workflows/{workflow_id}/steps/{step['id']}")
    form = edit.forms["step-form"]
    form["preview_contact"] = str(eve.id)
    texts = form.submit("preview").html.select_one("dl.preview-texts")
    assert texts.select("dd")[1].text.startswith("<b>Eve</b> O'Hara <eve@example.com>")


def test_steps_without_token_texts_offer_no_preview_and_a_preview_needs_the_csrf_token(admin):
    workflow_id, page = notify_step_form(admin)
    tag_page = admin.get(f"/admin/workflows/{workflow_id}/steps/new?kind=action:tag.add")
    assert "Preview as a contact" not in tag_page.text
    url = page.request.url
    admin.post(url, {"kind": "action:notify.user", "preview": "1", "preview_contact": "x"}, status=400)
    answer = admin.post(url, {"kind": "action:notify.user", "preview": "1", "preview_contact": "",
                              "csrf_token": csrf_of(page)})
    assert answer.html.select_one(".step-preview .problem").text == (
        "Type a contact's email, name or id to preview the texts with their data.")


def test_the_preview_speaks_french(admin, ctx):
    from core.models import User

    from .conftest import ADMIN_EMAIL

    User.update(language="fr").where(User.email == ADMIN_EMAIL).execute()
    contacts.create_contact({"email": "ana@example.com", "first_name": "Ana"})
    contacts.create_contact({"email": "anabel@example.com", "first_name": "Anabel"})
    page = admin.get("/admin/workflows")
    form = page.forms["new-workflow"]
    form["name"] = "Relances"
    editor = form.submit().follow()
    workflow_id = int(re.search(r"/admin/workflows/(\d+)", editor.request.url).group(1))
    form = admin.get(f"/admin/workflows/{workflow_id}/steps/new?kind=action:notify.user").forms["step-form"]
    assert "Aperçu en tant que contact" in form.response.text
    form["preview_contact"] = "ana"
    offered = form.submit("preview")
    assert "Plusieurs contacts correspondent : aperçu en tant que" in offered.text
    offered.forms["step-form"]["preview_contact"] = "zzz"
    missing = offered.forms["step-form"].submit("preview")
    assert "Aucun contact ne correspond à « zzz »." in missing.text
    form = missing.forms["step-form"]
    form["preview_contact"] = "ana@example.com"
    shown = form.submit("preview")
    assert "Avec les données de Ana :" in shown.text
