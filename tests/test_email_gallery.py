"""Issue 21, third slice: the template gallery (6 ready-made templates in
French and English, rendered by mrml and passing the template rules), a
newsletter created from a template, "Save as template", rename and delete
(CSRF), and the preview of a template."""
from __future__ import annotations

import html as htmlmod
import re

import pytest

from core.contacts import create_contact
from plugins.segments import Segment, add_to_segment
from tests.conftest import csrf_of
from tests.test_email_send import configure

from plugins.email import newsletters, readymade
from plugins.email.models import EmailTemplate, Newsletter

IDS = ["newsletter", "welcome", "event", "repermission", "digest", "sales"]


def test_the_gallery_lists_six_ready_made_templates_in_both_languages(admin, ctx):
    page = admin.get("/admin/email/templates")
    for template_id in IDS:
        card = page.html.find(id=f"ready-{template_id}")
        assert card is not None, template_id
        assert card.find("h3").text.strip() and card.find("p").text.strip()  # a name and a description
        links = {a["hreflang"] for a in card.find_all("a", hreflang=True)}
        assert links == {"fr", "en"}
    assert [t.id for t in readymade.all_templates("fr")] == IDS == [t.id for t in readymade.all_templates("en")]
    assert "No saved templates yet" in page.text  # the empty state of "Your templates"
    french = admin.get("/admin/email/templates", headers={"Accept-Language": "fr"})
    assert "Modèles prêts à l’emploi" in french.text and "Invitation à un événement" in french.text


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("template_id", IDS)
def test_each_ready_made_template_renders_and_passes_the_rules(admin, ctx, smtp_sink, template_id, language):
    configure(smtp_sink)
    readers = Segment.create(name="Readers", kind="static")
    add_to_segment(create_contact({"email": "ada@example.com", "first_name": "Ada"}), readers)
    preview = admin.get(f"/admin/email/templates/ready/{template_id}/{language}")
    frame = preview.html.find("iframe")
    assert frame is not None and frame.has_attr("sandbox") and not frame["sandbox"] and "<html" in frame["srcdoc"]
    assert "problem" not in preview.text

    form = next(f for f in preview.forms.values() if f.action.endswith("/templates/use"))
    created = form.submit().follow()
    newsletter = Newsletter.select().order_by(Newsletter.id.desc()).first()
    template = readymade.get(template_id, language)
    assert (newsletter.content, newsletter.subject, newsletter.content_format) == (template.content, template.subject,
                                                                                   "mjml")
    assert newsletter.status == "draft" and any("subject" in f.fields for f in created.forms.values())
    Newsletter.update(segments=[readers.id]).where(Newsletter.id == newsletter.id).execute()
    verdict = newsletters.check_ready(Newsletter.get_by_id(newsletter.id))
    assert verdict.ok, verdict.errors
    shown = admin.get(f"/admin/email/{newsletter.id}/preview?contact=ada@example.com")
    assert "problem" not in shown.text


def test_a_newsletter_from_a_template_opens_its_edit_form_in_the_chosen_language(admin, ctx):
    page = admin.get("/admin/email/templates")
    form = next(f for f in page.forms.values() if "ready" in f.fields and f["ready"].value == "welcome")
    form["language"] = "fr"
    edit = form.submit()
    assert re.search(r"/admin/email/\d+/edit$", edit.location)
    newsletter = Newsletter.select().order_by(Newsletter.id.desc()).first()
    assert newsletter.subject == 'Bienvenue {{ first_name or "et merci" }} !'
    assert "Un email par mois" in newsletter.content and newsletter.name == "Welcome"
    page = edit.follow()
    assert "Un email par mois" in htmlmod.unescape(page.text)
    # unknown template or language: nothing is created
    before = Newsletter.select().count()
    token = csrf_of(admin.get("/admin/email/templates"))
    admin.post("/admin/email/templates/use", {"csrf_token": token, "ready": "nope", "language": "fr"}, status=404)
    admin.post("/admin/email/templates/use", {"csrf_token": token, "ready": "welcome", "language": "de"}, status=404)
    assert Newsletter.select().count() == before


def test_save_as_template_then_use_rename_and_delete_it(admin, ctx):
    original = Newsletter.create(name="Spring", subject="Spring for {{ first_name }}", preheader="Fresh",
                                 content="<p>Hello {{ first_name }}</p>", content_format="html")
    page = admin.get(f"/admin/email/{original.id}")
    save = next(f for f in page.forms.values() if f.action.endswith("/save-as-template"))
    assert "Saved as the template “Spring”" in save.submit().follow().text
    template = EmailTemplate.get()
    assert (template.name, template.subject, template.preheader, template.content, template.content_format,
            template.builtin) == ("Spring", "Spring for {{ first_name }}", "Fresh", "<p>Hello {{ first_name }}</p>",
                                  "html", False)
    gallery = admin.get("/admin/email/templates")
    card = gallery.html.find(id=f"template-{template.id}")
    assert card is not None and "Spring" in card.text and "No saved templates yet" not in gallery.text

    use = next(f for f in gallery.forms.values() if "saved" in f.fields and f["saved"].value == str(template.id))
    use.submit()
    copy = Newsletter.select().order_by(Newsletter.id.desc()).first()
    assert copy.id != original.id and (copy.content, copy.subject, copy.status) == (original.content,
                                                                                    original.subject, "draft")

    preview = admin.get(f"/admin/email/templates/{template.id}")
    assert "Hello" in preview.html.find("iframe")["srcdoc"]
    rename = next(f for f in preview.forms.values() if f.action.endswith("/rename"))
    rename["name"] = "  Spring   2027 "
    assert "Template renamed." in rename.submit().follow().text
    assert EmailTemplate.get_by_id(template.id).name == "Spring 2027"
    # without the CSRF token, neither rename nor delete acts
    admin.post(f"/admin/email/templates/{template.id}/rename", {"name": "Hacked"}, status=400)
    admin.post(f"/admin/email/templates/{template.id}/delete", {}, status=400)
    assert EmailTemplate.get_by_id(template.id).name == "Spring 2027"
    delete = next(f for f in admin.get(f"/admin/email/templates/{template.id}").forms.values()
                  if f.action.endswith("/delete"))
    assert "Template deleted." in delete.submit().follow().text
    assert EmailTemplate.select().count() == 0 and Newsletter.get_by_id(copy.id).content == original.content
    admin.get(f"/admin/email/templates/{template.id}", status=404)


def test_the_gallery_routes_need_a_login(web, admin_user, ctx):
    template = EmailTemplate.create(name="Mine", content="<p>x</p>", content_format="html")
    newsletter = Newsletter.create(name="n")
    for url in ("/admin/email/templates", "/admin/email/templates/ready/welcome/fr",
                f"/admin/email/templates/{template.id}"):
        assert "/login" in web.get(url, status=302).location
    for url in ("/admin/email/templates/use", f"/admin/email/{newsletter.id}/save-as-template",
                f"/admin/email/templates/{template.id}/rename", f"/admin/email/templates/{template.id}/delete"):
        web.post(url, {"name": "x", "ready": "welcome"}, status=(302, 400))
    assert EmailTemplate.get_by_id(template.id).name == "Mine" and Newsletter.select().count() == 1


def test_a_workflow_email_step_picks_a_newsletter_or_template_by_name(admin, ctx, smtp_sink):
    from plugins.automation.lifecycle import create_workflow
    from plugins.email.actions import check_send_settings, run_send

    configure(smtp_sink)
    spring = Newsletter.create(name="Spring news", subject="Spring for {{ first_name }}", content="<p>Spring!</p>")
    saved = EmailTemplate.create(name="Welcome pack", subject="Welcome {{ first_name }}",
                                 content="<p>Welcome, {{ first_name }}.</p>", content_format="html")
    workflow = create_workflow("Onboarding")
    page = admin.get(f"/admin/workflows/{workflow.id}/steps/new?kind=action:email.send")
    select = page.html.find("select", attrs={"name": "s-template"})
    options = {o["value"]: o.text for o in select.find_all("option")}
    assert options[str(spring.id)] == "Newsletter: Spring news"
    assert options[f"saved:{saved.id}"] == "Template: Welcome pack"
    create = page.html.find("a", class_="create-new")
    assert create["href"] == "/admin/email/new" and create["target"] == "_blank"

    form = next(f for f in page.forms.values() if "s-template" in f.fields)
    form["s-template"] = f"saved:{saved.id}"
    form.submit().follow()
    step = next(s for s in workflow.__class__.get_by_id(workflow.id).definition["steps"] if s.get("action") == "email.send")
    assert step["settings"]["template"] == f"saved:{saved.id}"
    edit = admin.get(f"/admin/workflows/{workflow.id}/steps/{step['id']}")
    chosen = edit.html.find("select", attrs={"name": "s-template"}).find("option", selected=True)
    assert chosen.text == "Template: Welcome pack"

    ada = create_contact({"email": "ada@example.com", "first_name": "Ada"})
    assert run_send(ada, {"template": f"saved:{saved.id}"}, {"key": "k1"}).status == "sent"
    assert run_send(ada, {"template": spring.id}, {"key": "k2"}).status == "sent"  # a step saved before: an int id
    subjects = sorted(m["Subject"] for m in smtp_sink.wait_for(2))
    assert subjects == ["Spring for Ada", "Welcome Ada"]
    saved.delete_instance()
    assert check_send_settings({"template": f"saved:{saved.id}"}) == [
        "the chosen template was deleted: choose another email."]
    assert check_send_settings({"template": spring.id}) == []


def test_the_form_offers_the_tokens_and_the_preview_finds_a_contact_by_name(admin, ctx):
    from core.models import CustomField

    CustomField.create(key="company", label="Company", type_id="text")
    page = admin.get("/admin/email/new")
    menu = page.html.find(attrs={"data-token-menu": True})
    assert menu is not None and menu.has_attr("hidden")  # shown by tokens.js; nothing to do without JavaScript
    tokens = [o["value"] for o in menu.find_all("option")]
    assert tokens[:4] == ["{{ email }}", "{{ first_name }}", "{{ last_name }}", "{{ name }}"]
    assert "{{ fields.company }}" in tokens and "{{ owner_name }}" in tokens
    assert {b["data-insert-into"] for b in menu.find_all("button")} == {"subject", "content"}
    assert page.html.find("script", src="/admin/email/static/tokens.js") is not None
    admin.get("/admin/email/static/tokens.js")

    newsletter = Newsletter.create(name="n", subject="For {{ first_name or 'you' }}",
                                   content="<p>Hi {{ first_name }} of {{ fields.company }}</p>")
    create_contact({"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace", "company": "Engines"})
    create_contact({"email": "alan@example.com", "first_name": "Alan", "last_name": "Turing"})
    one = admin.get(f"/admin/email/{newsletter.id}/preview", {"contact": "lovelace"})
    assert one.html.select_one(".preview-subject").text == "For Ada"
    assert "Hi Ada of Engines" in one.html.find("iframe")["srcdoc"]
    assert one.html.find("input", attrs={"name": "contact", "type": "hidden"})["value"] == "ada@example.com"
    several = admin.get(f"/admin/email/{newsletter.id}/preview", {"contact": "example.com"})
    links = [a.text for a in several.html.select(".preview-matches a")]
    assert links == ["Ada Lovelace <ada@example.com>", "Alan Turing <alan@example.com>"]
    none = admin.get(f"/admin/email/{newsletter.id}/preview", {"contact": "nobody"})
    assert "No contact with this id or email" in none.text
    assert none.html.select_one(".preview-subject").text == "For you"


def test_a_notification_step_emails_the_owner_a_chosen_template_with_the_contacts_data(admin, ctx, smtp_sink):
    from core import auth
    from core.models import Contact, User
    from plugins.automation.lifecycle import create_workflow
    from plugins.email.notify import check_notify_settings

    configure(smtp_sink)
    rep = auth.create_user("rep@example.com", "password-rep-1", role="sales", name="Rita")
    User.update(language="fr").where(User.id == rep.id).execute()
    sales = readymade.get("sales", "fr")
    template = EmailTemplate.create(name="Alerte", subject=sales.subject, content=sales.content, language="fr")
    ada = create_contact({"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"})
    Contact.update(owner=rep.id, points=42).where(Contact.id == ada.id).execute()
    ada = Contact.get_by_id(ada.id)

    workflow = create_workflow("Hot leads")
    page = admin.get(f"/admin/workflows/{workflow.id}/steps/new?kind=action:email.notify")
    options = {o["value"]: o.text for o in page.html.find("select", attrs={"name": "s-template"}).find_all("option")}
    assert options[f"saved:{template.id}"] == "Template: Alerte"
    assert page.html.find("a", class_="create-new")["href"] == "/admin/email/templates"
    assert check_notify_settings({}) == ["choose the email to send."]

    action = ctx.extensions["couvee"].registries.actions["email.notify"]
    result = action.run(ada, {"user": "owner", "template": f"saved:{template.id}"}, {"key": "wf-1"})
    assert result.status == "sent"
    (message,) = smtp_sink.wait_for(1)
    assert message["To"] == "rep@example.com" and message["Subject"] == "Lead à suivre : Ada Lovelace (42 points)"
    html = message.get_body(("html",)).get_content()
    assert "ada@example.com" in html and "Rita" in html and "/e/u/" not in html  # no unsubscribe: transactional
