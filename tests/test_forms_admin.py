"""The forms admin: from an empty list to a published form built with the
buttons (fields of every type, reordering, consent boxes, actions with their
generated settings), the embed codes, the submissions list and its
injection-safe CSV export, and the submissions on the contact page."""
from __future__ import annotations

import csv
import io

from webtest import TestApp

from core.models import Contact
from plugins.forms.models import ConsentBox, Form, FormAction, FormField

from .forms_helpers import custom, make_form, submit


def test_build_and_publish_a_form_through_the_admin(admin, ctx):
    custom("zone", "select", options=["EMEA", "APAC"])
    custom("cv_file", "file", label="CV")
    page = admin.get("/admin/forms")
    assert "No forms yet" in page.text and "Create your first form" in page.text

    page = page.click("New form", index=0)
    page.forms["new-form"]["name"] = ""
    assert "Give the form a name." in page.forms["new-form"].submit(status=400).text
    page.forms["new-form"]["name"] = "Job application"
    builder = page.forms["new-form"].submit().follow()
    assert "Job application" in builder.text and "Draft" in builder.text
    form = Form.get()
    assert [f.target for f in FormField.select()] == ["email"]

    for target in ("first_name", "zone", "cv_file"):
        add = builder.forms["add-field"]
        add["target"] = target
        field_page = add.submit().follow()
        builder = admin.get(f"/admin/forms/{form.id}")
    add = builder.forms["add-field"]
    add["name"] = "utm_campaign"
    field_page = add.submit().follow()
    assert "Hidden" in field_page.text

    cv = FormField.get(FormField.target == "cv_file")
    field_page = admin.get(f"/admin/forms/{form.id}/fields/{cv.id}")
    field_page.forms["field-form"]["max_mb"] = "500"
    field_page.forms["field-form"]["allowed_types"] = "pdf, ?!"
    response = field_page.forms["field-form"].submit(status=400)
    assert "Give a size between" in response.text and "Not file extensions" in response.text
    response.forms["field-form"]["max_mb"] = "2"
    response.forms["field-form"]["allowed_types"] = "pdf, docx"
    response.forms["field-form"]["required"].checked = True
    response.forms["field-form"]["help"] = "PDF or Word, 2 MB at most."
    response.forms["field-form"].submit().follow()
    cv = FormField.get_by_id(cv.id)
    assert (cv.max_bytes, cv.allowed_types, cv.required) == (2 * 1024 * 1024, ["pdf", "docx"], True)

    # reorder: move the zone up, remove the first name
    builder = admin.get(f"/admin/forms/{form.id}")
    zone = FormField.get(FormField.target == "zone")
    first = FormField.get(FormField.target == "first_name")
    for _ in range(2):
        admin.post(f"/admin/forms/{form.id}/arrange/fields/{zone.id}",
                   {"op": "up", "csrf_token": builder.forms["add-field"]["csrf_token"].value}).follow()
    order = [f.target for f in FormField.select().where(FormField.form == form.id).order_by(FormField.position)]
    assert order == ["zone", "email", "first_name", "cv_file", ""]
    admin.post(f"/admin/forms/{form.id}/arrange/fields/{first.id}",
               {"op": "remove", "csrf_token": builder.forms["add-field"]["csrf_token"].value}).follow()
    assert not FormField.select().where(FormField.target == "first_name").exists()
    email = FormField.get(FormField.target == "email")
    page = admin.post(f"/admin/forms/{form.id}/arrange/fields/{email.id}",
                      {"op": "remove", "csrf_token": builder.forms["add-field"]["csrf_token"].value}).follow()
    assert "The email field cannot be removed" in page.text

    # a pre-checked consent box blocks publication
    builder = admin.get(f"/admin/forms/{form.id}")
    consent = builder.forms["add-consent"]
    consent["purpose"] = "email_marketing"
    consent["text"] = "J'accepte de recevoir des offres d'emploi."
    consent["checked_by_default"].checked = True
    builder = consent.submit().follow()
    assert "pre-checked" in builder.text
    response = admin.post(f"/admin/forms/{form.id}/publish", {"action": "publish", "csrf_token":
                                                       builder.forms["add-field"]["csrf_token"].value}, status=400)
    assert "is pre-checked: consent must be given by ticking the box" in response.text
    assert Form.get_by_id(form.id).status == "draft"
    box = ConsentBox.get()
    box_page = admin.get(f"/admin/forms/{form.id}/consents/{box.id}")
    box_page.forms["consent-form"]["checked_by_default"].checked = False
    box_page.forms["consent-form"]["text"] = "J'accepte de recevoir des offres d'emploi par email."
    box_page.forms["consent-form"].submit().follow()
    box = ConsentBox.get_by_id(box.id)
    assert (box.version, box.checked_by_default) == (2, False)

    # an action from the registry, with its generated settings form
    builder = admin.get(f"/admin/forms/{form.id}")
    add = builder.forms["add-action"]
    assert "points.change" in [value for value, *_ in add["action_id"].options]
    add["action_id"] = "points.change"
    action_page = add.submit().follow()
    action_page.forms["action-form"]["s_delta"] = "ten"
    response = action_page.forms["action-form"].submit(status=400)
    assert "Points must be a whole number." in response.text
    response.forms["action-form"]["s_delta"] = "10"
    response.forms["action-form"]["s_reason"] = "Applied for a job"
    response.forms["action-form"].submit().follow()
    assert FormAction.get().settings == {"delta": 10, "reason": "Applied for a job"}

    # settings: redirect refused off the allowed sites
    builder = admin.get(f"/admin/forms/{form.id}")
    settings = builder.forms["settings-form"]
    settings["allowed_origins"] = "https://jobs.example.com\nnot a site"
    settings["redirect_url"] = "https://evil.example/"
    response = settings.submit(status=400)
    assert "Not a site address" in response.text
    settings = response.forms["settings-form"]
    settings["allowed_origins"] = "https://jobs.example.com"
    response = settings.submit(status=400)
    assert "The redirect must go to one of the allowed sites" in response.text
    settings = response.forms["settings-form"]
    settings["redirect_url"] = "https://jobs.example.com/merci"
    settings["purpose_text"] = "Vos données servent à traiter votre candidature."
    settings.submit().follow()

    builder = admin.get(f"/admin/forms/{form.id}")
    published = admin.post(f"/admin/forms/{form.id}/publish", {"action": "publish", "csrf_token":
                                                                builder.forms["add-field"]["csrf_token"].value}).follow()
    assert "The form is published." in published.text
    hosted = admin.get(f"/f/{form.key}")
    assert "Vos données servent à traiter votre candidature." in hosted.text
    assert hosted.text.index('name="zone"') < hosted.text.index('name="email"')
    assert "frame-ancestors 'self' http://couvee.test https://jobs.example.com" in \
        hosted.headers["Content-Security-Policy"]


def test_embed_codes(admin, ctx):
    form = make_form("Newsletter", origins=["https://www.example.com"])
    page = admin.get(f"/admin/forms/{form.id}/embed")
    assert f'&lt;div data-couvee-form="{form.key}"&gt;' in page.text
    assert "http://couvee.test/f/embed.js" in page.text
    assert f"http://couvee.test/f/{form.key}?embed=1" in page.text
    assert "Turn on “Accept the plain HTML embed”" in page.text
    Form.update(allow_plain_html=True).where(Form.id == form.id).execute()
    page = admin.get(f"/admin/forms/{form.id}/embed")
    assert f'action="http://couvee.test/f/{form.key}"' in page.text.replace("&#34;", '"').replace("&quot;", '"') \
        or f"action=&#34;http://couvee.test/f/{form.key}&#34;" in page.text
    js = admin.get("/f/embed.js")
    assert js.content_type == "application/javascript" and "data-couvee-form" in js.text


def test_plain_html_embed_posts_without_a_render_token(wsgi, admin, ctx):
    import re
    import html as html_lib

    form = make_form("Newsletter", allow_plain_html="1")
    page = admin.get(f"/admin/forms/{form.id}/embed")
    snippet = html_lib.unescape(re.search(r'<textarea readonly rows="12" class="code">(.*?)</textarea>',
                                          page.text, re.S).group(1))
    token = re.search(r'name="cv_token" value="([^"]+)"', snippet).group(1)
    visitor = TestApp(wsgi)
    visitor.post(f"/f/{form.key}", {"cv_token": token, "cv_channel": "html", "email": "plain@example.com"})
    assert Contact.select().where(Contact.email == "plain@example.com").exists()
    Form.update(allow_plain_html=False).where(Form.id == form.id).execute()
    response = visitor.post(f"/f/{form.key}", {"cv_token": token, "email": "again@example.com"}, status=422)
    assert "This form is not valid" in response.text


def test_submissions_list_csv_and_contact_page(wsgi, admin, ctx):
    custom("company", "text")
    form = make_form("Contact us", fields=["company"])
    page = admin.get(f"/admin/forms/{form.id}/submissions")
    assert "No submission yet" in page.text
    visitor = TestApp(wsgi)
    submit(visitor, form, {"email": "csv@example.com", "company": "=HYPERLINK(\"http://evil\")"})
    submit(visitor, form, {"email": "csv@example.com", "company": "+33 1 23 45"},
           extra_env={"HTTP_USER_AGENT": "@agent"})
    page = admin.get(f"/admin/forms/{form.id}/submissions")
    assert "csv@example.com" in page.text and "+33 1 23 45" in page.text
    export = admin.get(f"/admin/forms/{form.id}/submissions.csv")
    assert export.content_type == "text/csv"
    rows = list(csv.reader(io.StringIO(export.text)))
    assert rows[0][:3] == ["Submitted at (UTC)", "Contact id", "Page URL"] and rows[0][-2:] == ["Email", "Company"]
    assert rows[1][-1] == "'=HYPERLINK(\"http://evil\")"
    assert rows[2][-1] == "'+33 1 23 45" and rows[2][4] == "'@agent"
    contact = Contact.get(Contact.email == "csv@example.com")
    page = admin.get(f"/admin/contacts/{contact.id}")
    assert "Form submissions" in page.text and page.text.count("Contact us") >= 2
    other = Contact.create(email="none@example.com")
    assert "No form submitted yet." in admin.get(f"/admin/contacts/{other.id}").text
    assert "Contact us" in admin.get("/admin/forms").text


def test_drafts_are_not_public_but_previewable(wsgi, admin, ctx):
    form = make_form("Draft", publish=False)
    TestApp(wsgi).get(f"/f/{form.key}", status=404)
    TestApp(wsgi).get(f"/f/{form.key}/form.json", status=404)
    assert "Draft preview" in admin.get(f"/f/{form.key}").text
    TestApp(wsgi).get("/f/unknown-key", status=404)


def test_sales_users_cannot_edit_forms(web, admin_user, ctx):
    from core import auth

    from .conftest import login

    auth.create_user("sales@example.com", "x" * 12, role="sales")
    login(web, "sales@example.com", "x" * 12)
    web.get("/admin/forms", status=403)
