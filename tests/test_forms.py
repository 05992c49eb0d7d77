"""Forms, hosted page: a visitor fills a published form; the contact is
created or updated by email, every value is kept in the history, consent
boxes leave a proof, actions run in a worker; bad input gets clear errors and
loses nothing; bots are kept out (honeypot, fill time, rate limit, size)."""
from __future__ import annotations

import re

import pytest
from webtest import TestApp, Upload

from core import contacts
from core.models import Contact, Event, SettingValue
from plugins.forms import builder
from plugins.forms.builder import BuilderError
from plugins.forms.models import ActionRun, Form, Submission, SubmittedValue

from .forms_helpers import consent_names, custom, field_of, later, make_form, open_form, set_setting, submit

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
HOSTILE = '<script>alert("x")</script>'


@pytest.fixture
def rich_form(ctx):
    """A form using every core field type, a hidden UTM value and a consent box."""
    custom("company", "text")
    custom("is_customer", "boolean")
    custom("zone", "select", options=["EMEA", "APAC"])
    custom("interests", "multiselect", options=["CRM", "Emailing", "Scoring"])
    custom("birthday", "date")
    custom("brief", "file")
    form = make_form("Demo request", fields=["first_name", "last_name", "company", "is_customer", "zone",
                                             "interests", "birthday", "brief", ("utm_source", None)],
                     consents=[("email_marketing", "I agree to receive the newsletter.")])
    builder.update_field(form, field_of(form, "brief"), {"label": "Brief", "max_mb": "0.001",
                                                         "allowed_types": "png, pdf"})
    builder.update_field(form, field_of(form, "company"), {"label": "Company", "required": "1"})
    return Form.get_by_id(form.id)


def test_valid_submission_creates_the_contact_with_every_field_type(web, rich_form, run_jobs):
    page, html_form = open_form(web, rich_form, "?utm_source=linkedin")
    html_form["email"] = "Ada@Example.com "
    html_form["first_name"] = "Ada"
    html_form["last_name"] = "Lovelace"
    html_form["company"] = "Analytical Engines"
    html_form.get("is_customer", index=0).checked = True
    html_form["zone"] = "EMEA"
    html_form.get("interests", index=1).checked = True  # CRM
    html_form.get("interests", index=3).checked = True  # Scoring
    html_form["birthday"] = "10/12/1815"
    html_form["brief"] = Upload("brief.png", PNG)
    consent = consent_names(html_form)[0]
    html_form[consent].checked = True
    with later():
        response = html_form.submit()
    assert "Thank you, we received your request." in response.text

    contact = Contact.get(Contact.email == "ada@example.com")
    assert (contact.first_name, contact.last_name) == ("Ada", "Lovelace")
    values = contacts.get_values(contact)
    assert values["company"] == "Analytical Engines"
    assert values["is_customer"] == "1"
    assert values["zone"] == "EMEA"
    assert values["interests"] == ["CRM", "Scoring"]
    assert values["birthday"] == "1815-12-10"
    assert int(values["brief"]) > 0
    submission = Submission.get()
    assert submission.page_url.endswith("?utm_source=linkedin")
    history = {v.name: v.value for v in SubmittedValue.select()}
    assert history["utm_source"] == "linkedin"
    assert history["birthday"] == "1815-12-10"
    assert history["interests"] == "CRM, Scoring"
    assert "brief.png" in history["brief"]
    kinds = [e.kind for e in Event.select().where(Event.contact == contact.id).order_by(Event.id)]
    assert kinds.count("form_submitted") == 1 and kinds.count("consent_given") == 1
    run_jobs()
    assert Submission.select().count() == 1


def test_missing_required_and_wrong_types_keep_the_values(web, rich_form):
    response = submit(web, rich_form, {"email": "not-an-email", "first_name": "Grace", "birthday": "31/02/2024"},
                      status=422)
    text = response.text
    assert "is not a valid email address" in text
    assert "This field is required." in text  # company
    assert "is not a valid calendar date" in text
    form = response.forms[f"cv-form-{rich_form.key}"]
    assert form["first_name"].value == "Grace"  # what was typed is kept
    assert form["birthday"].value == "31/02/2024"
    assert Contact.select().count() == 0 and Submission.select().count() == 0


def test_a_forged_select_value_gets_the_field_types_message(web, rich_form):
    page, html_form = open_form(web, rich_form)
    params = dict(html_form.submit_fields())
    params.update({"email": "x@example.com", "company": "ACME", "zone": "Mars"})
    with later():
        response = web.post(f"/f/{rich_form.key}", params, status=422)
    assert "&#34;Mars&#34; is not one of the choices: EMEA, APAC" in response.text or \
        "&quot;Mars&quot; is not one of the choices" in response.text


def test_oversized_file_and_wrong_content_are_refused(web, rich_form):
    big = b"\x89PNG\r\n\x1a\n" + b"\x00" * 4096
    response = submit(web, rich_form, {"email": "f@example.com", "company": "ACME"},
                      files={"brief": ("big.png", big)}, status=422)
    assert "larger than the 1 KB limit" in response.text
    response = submit(web, rich_form, {"email": "f@example.com", "company": "ACME"},
                      files={"brief": ("fake.png", b"MZ this is not an image")}, status=422)
    assert "is not a real PNG image" in response.text
    response = submit(web, rich_form, {"email": "f@example.com", "company": "ACME"},
                      files={"brief": ("tool.exe", b"MZ\x90\x00")}, status=422)
    assert ".exe files are not accepted" in response.text
    assert "Choose the file again." in response.text
    assert Contact.select().count() == 0


def test_script_tags_are_stored_as_text_and_escaped_everywhere(wsgi, admin, rich_form, run_jobs):
    visitor = TestApp(wsgi)  # the admin's session must not travel in time
    page, html_form = open_form(visitor, rich_form, "?utm_source=" + HOSTILE)
    for name in ("first_name", "last_name", "company"):
        html_form[name] = HOSTILE
    html_form["email"] = "xss@example.com"
    with later():
        response = html_form.submit()
    assert response.status_int == 200
    contact = Contact.get(Contact.email == "xss@example.com")
    assert contact.first_name == HOSTILE and contacts.get_values(contact)["company"] == HOSTILE
    assert SubmittedValue.get(SubmittedValue.name == "utm_source").value == HOSTILE
    for url in (f"/admin/forms/{rich_form.id}/submissions", f"/admin/contacts/{contact.id}"):
        text = admin.get(url).text
        assert HOSTILE not in text, url
        assert "&lt;script&gt;" in text, url
    # a re-rendered form with errors escapes the kept values too
    response = submit(visitor, rich_form, {"email": "bad", "first_name": HOSTILE}, status=422)
    assert HOSTILE not in response.text


def test_history_is_kept_across_submissions(web, ctx, run_jobs):
    custom("company", "text")
    form = make_form("Contact us", fields=["first_name", "company"])
    submit(web, form, {"email": "bob@example.com", "first_name": "Bob", "company": "Old Co"})
    submit(web, form, {"email": "BOB@example.com", "first_name": "Robert", "company": "New Co"},
           extra_env={"HTTP_USER_AGENT": "Second browser", "REMOTE_ADDR": "10.0.0.2"})
    contact = Contact.get(Contact.email == "bob@example.com")
    assert contact.first_name == "Robert" and contacts.get_values(contact)["company"] == "New Co"
    assert Contact.select().count() == 1
    rows = list(SubmittedValue.select().where(SubmittedValue.name == "company").order_by(SubmittedValue.id))
    assert [r.value for r in rows] == ["Old Co", "New Co"]
    first, second = Submission.select().order_by(Submission.id)
    assert first.form_id == second.form_id == form.id
    assert second.user_agent == "Second browser" and second.ip == "10.0.0.2"
    assert first.created_at < second.created_at
    # blank optional fields never erase what the contact already has
    submit(web, form, {"email": "bob@example.com", "first_name": "", "company": ""})
    contact = Contact.get_by_id(contact.id)
    assert contact.first_name == "Robert" and contacts.get_values(contact)["company"] == "New Co"


def test_consent_events_carry_the_proof(web, ctx):
    form = make_form("Newsletter", consents=[("email_marketing", "Send me the newsletter."),
                                             ("profiling", "Use my visits to personalise.")])
    page, html_form = open_form(web, form)
    html_form["email"] = "eve@example.com"
    boxes = consent_names(html_form)
    html_form[boxes[0]].checked = True  # the profiling box stays unticked
    with later():
        html_form.submit(extra_environ={"HTTP_USER_AGENT": "Proof/1.0", "REMOTE_ADDR": "192.0.2.7"})
    events = list(Event.select().where(Event.kind == "consent_given"))
    assert len(events) == 1
    proof = events[0].data
    assert proof["purpose"] == "email_marketing"
    assert proof["text"] == "Send me the newsletter."
    assert proof["text_version"] == "1"
    assert proof["source"] == "form" and proof["form_id"] == form.id
    assert proof["ip"] == "192.0.2.7" and proof["user_agent"] == "Proof/1.0"
    assert proof["at"]
    submitted = Event.get(Event.kind == "form_submitted").data
    assert submitted["form_id"] == form.id and submitted["form_name"] == "Newsletter"
    assert submitted["submission_id"] == Submission.get().id


def test_the_proof_names_the_text_that_was_shown_even_after_an_edit(web, ctx):
    form = make_form("Newsletter", consents=[("email_marketing", "Old wording.")])
    page, html_form = open_form(web, form)
    box = builder.definition.consent_boxes(form)[0]
    builder.save_consent(form, box, {"purpose": "email_marketing", "text": "New wording."})
    html_form["email"] = "late@example.com"
    html_form[f"consent_{box.id}"].checked = True
    with later():
        html_form.submit()
    proof = Event.get(Event.kind == "consent_given").data
    assert (proof["text"], proof["text_version"]) == ("Old wording.", "1")


def test_consent_boxes_are_never_pre_checked(web, ctx):
    form = make_form("Newsletter", publish=False)
    builder.save_consent(form, None, {"purpose": "email_marketing", "text": "Yes please", "checked_by_default": "1"})
    with pytest.raises(BuilderError) as refused:
        builder.publish(form)
    assert "pre-checked" in str(refused.value)
    assert Form.get_by_id(form.id).status == "draft"
    assert web.get(f"/f/{form.key}", status=404)
    box = builder.definition.consent_boxes(form)[0]
    builder.save_consent(form, box, {"purpose": "email_marketing", "text": "Yes please"})
    builder.publish(form)
    page = web.get(f"/f/{form.key}")
    assert not re.search(r'name="consent_\d+"[^>]*checked', page.text)
    with pytest.raises(BuilderError):
        builder.save_consent(form, box, {"purpose": "email_marketing", "text": "Yes", "checked_by_default": "1"})


def test_honeypot_pretends_success_and_stores_nothing(web, ctx):
    form = make_form("Newsletter")
    response = submit(web, form, {"email": "bot@example.com", "cv_website": "http://spam.example"})
    assert response.status_int == 200 and "Thank you" in response.text
    assert Contact.select().count() == 0 and Submission.select().count() == 0


def test_too_fast_submission_is_refused_and_can_be_resent(web, ctx):
    form = make_form("Newsletter")
    response = submit(web, form, {"email": "quick@example.com"}, wait=0, status=422)
    assert "That was quick!" in response.text
    html_form = response.forms[f"cv-form-{form.key}"]
    assert html_form["email"].value == "quick@example.com"
    with later():
        assert "Thank you" in html_form.submit().text
    assert Contact.select().where(Contact.email == "quick@example.com").exists()


def test_a_forged_or_missing_token_is_refused(web, ctx):
    form = make_form("Newsletter")
    page, html_form = open_form(web, form)
    params = dict(html_form.submit_fields())
    params.update({"email": "forged@example.com", "cv_token": "forged"})
    response = web.post(f"/f/{form.key}", params, status=422)
    assert "This form is not valid" in response.text
    params.pop("cv_token")
    web.post(f"/f/{form.key}", params, status=422)
    assert Contact.select().count() == 0


def test_too_many_submissions_from_one_ip(web, ctx):
    set_setting("forms", "rate_limit", 3)
    form = make_form("Newsletter")
    for n in range(3):
        submit(web, form, {"email": f"p{n}@example.com"}, status=200)
    response = submit(web, form, {"email": "p9@example.com"}, status=429)
    assert "Too many submissions from your connection" in response.text
    assert Contact.select().count() == 3
    # another address is not affected
    submit(web, form, {"email": "other@example.com"}, status=200, extra_env={"REMOTE_ADDR": "10.9.9.9"})


def test_oversized_body_is_refused(web, ctx):
    form = make_form("Newsletter", fields=["first_name"])
    page, html_form = open_form(web, form)
    params = dict(html_form.submit_fields())
    params.update({"email": "big@example.com", "first_name": "x" * 300_000})
    response = web.post(f"/f/{form.key}", params, status=413)
    assert "too large" in response.text
    assert Contact.select().count() == 0


def test_redirect_only_to_an_allowed_site(web, ctx):
    form = make_form("Newsletter", origins=["https://www.example.com"], publish=False)
    with pytest.raises(BuilderError) as refused:
        builder.save_settings(form, {"name": "Newsletter", "allowed_origins": "https://www.example.com",
                                     "redirect_url": "https://evil.example/phish"})
    assert "allowed sites" in refused.value.errors["redirect_url"]
    for sneaky in ("//evil.example/", "javascript:alert(1)", "https://www.example.com@evil.example/"):
        with pytest.raises(BuilderError):
            builder.save_settings(form, {"name": "Newsletter", "allowed_origins": "https://www.example.com",
                                         "redirect_url": sneaky})
    builder.save_settings(form, {"name": "Newsletter", "allowed_origins": "https://www.example.com",
                                 "redirect_url": "https://www.example.com/merci", "language": "en"})
    builder.publish(form)
    response = submit(web, form, {"email": "r@example.com"}, status=303)
    assert response.location == "https://www.example.com/merci"
    # an origin removed later: the redirect is dropped, the message shown instead
    Form.update(allowed_origins=[]).where(Form.id == form.id).execute()
    response = submit(web, Form.get_by_id(form.id), {"email": "s@example.com"}, status=200)
    assert "Thank you" in response.text


def test_suppressed_or_invalid_contact_is_refused_with_the_reason(web, ctx, monkeypatch):
    form = make_form("Newsletter")
    hooks = ctx.extensions["couvee"].hooks
    original = hooks.call

    def call(name, **kwargs):
        if name == "contact_suppressed":
            return [("gdpr", {"gone@example.com": "This person asked to be forgotten."})]
        return original(name, **kwargs)

    monkeypatch.setattr(hooks, "call", call)
    response = submit(web, form, {"email": "gone@example.com"}, status=422)
    assert "This person asked to be forgotten." in response.text
    assert Contact.select().count() == 0 and Submission.select().count() == 0


def test_actions_run_in_a_worker_once_per_submission(web, ctx, run_jobs):
    from plugins.segments import Segment, segments_of

    segment = Segment.create(name="Demo requests", kind="static")
    form = make_form("Demo", publish=False)
    row = builder.add_action(form, "segment.add")
    builder.save_action(form, row, {"s_segment_id": str(segment.id)})
    points = builder.add_action(form, "points.change")
    builder.save_action(form, points, {"s_delta": "10", "s_reason": "Demo form"})
    builder.publish(form)
    submit(web, form, {"email": "lead@example.com"})
    contact = Contact.get(Contact.email == "lead@example.com")
    assert segments_of(contact) == []  # not yet: actions run in a worker
    run_jobs()
    assert [s.name for s in segments_of(contact)] == ["Demo requests"]
    assert Contact.get_by_id(contact.id).points == 10
    assert {r.status for r in ActionRun.select()} == {"done"}
    # points are given at every submission (not once per contact)
    submit(web, form, {"email": "lead@example.com"})
    run_jobs()
    run_jobs()  # a second worker pass does not run anything twice
    assert Contact.get_by_id(contact.id).points == 20


def test_an_action_whose_plugin_is_gone_is_recorded_not_fatal(web, ctx, run_jobs):
    form = make_form("Demo", publish=False)
    row = builder.add_action(form, "segment.add")
    row.action_id = "vanished.action"
    row.save()
    builder.publish(form)
    submit(web, form, {"email": "m@example.com"})
    run_jobs()
    assert ActionRun.get().status == "missing"


def test_settings_are_declared(ctx):
    from core import get_setting

    assert get_setting("forms", "min_fill_seconds") == 3
    assert SettingValue.select().where(SettingValue.group == "forms").count() == 0


def test_json_endpoint_for_the_js_embed_cors_and_errors(web, ctx):
    form = make_form("Newsletter", origins=["https://www.example.com"], fields=["first_name"])
    definition = web.get(f"/f/{form.key}/form.json", headers={"Origin": "https://www.example.com"})
    assert definition.headers["Access-Control-Allow-Origin"] == "https://www.example.com"
    data = definition.json
    assert [f["name"] for f in data["fields"]] == ["email", "first_name"] and data["version"] == form.version
    assert data["submit_url"] == f"http://couvee.test/f/{form.key}/submit"
    web.get(f"/f/{form.key}/form.json", headers={"Origin": "https://evil.example"}, status=403)
    preflight = web.options(f"/f/{form.key}/submit", headers={"Origin": "https://www.example.com"}, status=204)
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://www.example.com"

    body = {"cv_token": data["token"], "email": "nope", "first_name": HOSTILE}
    with later():
        response = web.post(f"/f/{form.key}/submit", body, headers={"Origin": "https://www.example.com"},
                            status=422)
    assert "is not a valid email address" in response.json["errors"]["email"] and response.json["token"]
    web.post(f"/f/{form.key}/submit", body, headers={"Origin": "https://evil.example"}, status=403)
    body.update(email="js@example.com", cv_token=response.json["token"], cv_visitor="bad id!")
    with later(30):
        response = web.post(f"/f/{form.key}/submit", body, headers={"Origin": "https://www.example.com"})
    assert response.json == {"ok": True, "message": "Thank you, we received your request.", "redirect": None}
    assert response.headers["Access-Control-Allow-Origin"] == "https://www.example.com"
    submission = Submission.get()
    assert submission.channel == "js" and submission.visitor_id == ""  # a malformed visitor id is dropped


def test_erase_and_export(web, ctx):
    from core import state

    form = make_form("Newsletter", fields=["first_name"])
    submit(web, form, {"email": "gdpr@example.com", "first_name": "Gaby"})
    contact = Contact.get(Contact.email == "gdpr@example.com")
    hooks = state().hooks
    exported = next(answer for answer in hooks.results("contact_export", contact=contact)
                    if answer and "Submitted values" in answer)
    assert exported["Submitted values"][1]["value"] == "Gaby"
    hooks.call("contact_erase", contact=contact, mode="pseudonymise")
    assert SubmittedValue.select().count() == 0 and Submission.get().ip == ""
    hooks.call("contact_erase", contact=contact, mode="delete")
    assert Submission.select().count() == 0
