"""Issue 21, first slice: newsletters written in MJML (rendered once per
version by mrml, tokens resolved per recipient, the locked footer and the
template rules as for HTML), the image library (checked uploads, public
serving headers) and duplicating a newsletter."""
from __future__ import annotations

import re
import struct
import zlib

import time_machine

from core.contacts import create_contact
from core.models import StoredFile, utcnow
from plugins.segments import Segment, add_to_segment
from tests.conftest import csrf_of
from tests.test_email_newsletter import editor_form
from tests.test_email_send import configure, part, save_settings

from plugins.email import mjml, newsletters
from plugins.email.config import load_config
from plugins.email.models import EmailImage, Newsletter

NEWS = """<mjml>
  <mj-body>
    <mj-section>
      <mj-column><mj-text css-class="greeting">Hello {{ first_name or "reader" }} from {{ fields.company or "nowhere" }}</mj-text></mj-column>
      <mj-column><mj-button href="https://shop.example/spring">Shop the spring</mj-button></mj-column>
    </mj-section>
  </mj-body>
</mjml>"""


def png(width: int = 1, height: int = 1) -> bytes:
    """A real (tiny, grey) PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def write_mjml(admin, segment_ids, content=NEWS, status=302, **extra):
    form = editor_form(admin.get("/admin/email/new"))
    assert form["content_format"].value == "mjml"  # a new newsletter is written in MJML
    form["name"] = extra.get("name", "Spring")
    form["subject"] = extra.get("subject", "Spring for {{ first_name or 'you' }}")
    form["content"] = content
    form["segments"] = [str(i) for i in segment_ids]
    return form.submit(status=status)


def test_an_mjml_newsletter_is_rendered_once_and_personalised_per_recipient(admin, ctx, smtp_sink, run_jobs):
    configure(smtp_sink)
    from core.models import CustomField

    CustomField.create(key="company", label="Company", type_id="text")
    readers = Segment.create(name="Readers", kind="static")
    for values in ({"email": "ada@example.com", "first_name": "Ada", "company": "Analytical"},
                   {"email": "bob@example.com"}, {"email": "cyd@example.com", "first_name": "Cyd", "language": "fr"}):
        add_to_segment(create_contact(values), readers)
    page = write_mjml(admin, [readers.id]).follow()
    newsletter = Newsletter.select().order_by(Newsletter.id.desc()).first()
    assert newsletter.content_format == "mjml" and newsletter.content == NEWS
    assert "✓" in page.text and "✗" not in page.text  # footer, view link, identity: the rules pass
    before = mjml._render.cache_info().misses
    confirm = next(f for f in page.forms.values() if f.action.endswith("/send")).submit()
    next(f for f in confirm.forms.values() if f.fields.get("confirmed")).submit()
    run_jobs()
    messages = {m["To"]: m for m in smtp_sink.wait_for(3)}
    assert len(messages) == 3
    # the send's document (tracked) once for the version, not per recipient; once more for Cyd's French footer
    assert mjml._render.cache_info().misses - before == 2
    ada, bob = part(messages["ada@example.com"], "html"), part(messages["bob@example.com"], "html")
    assert "mj-column-per-50" in ada and "greeting" in ada  # the blocks, rendered by mrml (two columns)
    assert "Hello Ada from Analytical" in ada and "Hello reader from nowhere" in bob
    assert "{{" not in ada and "CV" not in ada.replace("CVE", "")  # no token or placeholder left
    assert "/e/c/" in ada and "shop.example" not in ada  # the button's link is tracked
    assert "/e/u/" in ada and "Unsubscribe" in ada and "1 rue de la Paix, 75002 Paris" in ada  # the footer
    assert "View this email in your browser" in ada and "/e/v/" in ada and "/e/o/" in ada  # view link, pixel
    assert messages["ada@example.com"]["Subject"] == "Spring for Ada"
    text = part(messages["cyd@example.com"], "plain")
    assert "Hello Cyd from nowhere" in text and "Se désinscrire" in text and "<" not in text  # her language
    assert "Voir cet email dans votre navigateur" in part(messages["cyd@example.com"], "html")
    assert "Unsubscribe (http" in part(messages["bob@example.com"], "plain")
    view = re.search(r'href="(http://couvee\.test/e/v/[^"]+)"', ada).group(1)
    in_browser = admin.get(view.replace("http://couvee.test", ""))  # "view in browser" renders the MJML too
    assert "Hello Ada from Analytical" in in_browser.text and "mj-column-per-50" in in_browser.text
    assert Newsletter.get_by_id(newsletter.id).status == "sent"


def test_the_prerendered_path_gives_the_full_rendering(ctx):
    configure()
    ada = create_contact({"email": "ada@example.com", "first_name": "Ada & Bo"})
    newsletter = Newsletter.create(name="n", subject="s", content=NEWS, content_format="mjml")
    renderer = newsletters.newsletter_renderer(newsletter, load_config(), prerender=True)
    assert renderer.fast is not None  # an MJML newsletter that only prints values is filled by substitution
    with time_machine.travel(utcnow(), tick=False):  # link signatures carry the second they were made
        urls = renderer.urls(7)
        fast = renderer.render(7, ada, urls)
        assert renderer.fast is not None  # the first recipient's comparison found no difference
        assert fast == renderer.render_full(7, ada, urls, renderer.clicks(7))
    assert "Hello Ada &amp; Bo from nowhere" in fast.html


def test_css_braces_are_not_read_as_tokens(ctx):
    configure()
    source = NEWS.replace("<mj-body>", "<mj-head><mj-style>@media (max-width:480px){#top{display:none}}"
                                       "</mj-style></mj-head><mj-body>")
    newsletter = Newsletter.create(name="n", subject="s", content=source, content_format="mjml")
    rendered = newsletters.newsletter_renderer(newsletter, load_config()).render(1, None)
    assert "#top" in rendered.html and "Hello reader" in rendered.html


def test_invalid_mjml_reshows_the_form_with_mrmls_message(admin, ctx):
    broken = "<mjml><mj-body><mj-section><mj-column><mj-text>Hi</mj-column></mj-section></mj-body></mjml>"
    page = write_mjml(admin, [], content=broken, status=422)
    assert "This MJML cannot be rendered:" in page.text and "unexpected" in page.text
    assert "&lt;mj-text&gt;Hi&lt;/mj-column&gt;" in page.text  # what was typed is kept
    assert Newsletter.select().count() == 0
    page = write_mjml(admin, [], content="<p>Just HTML</p>", status=422)
    assert "An MJML document starts with &lt;mjml&gt;" in page.text
    page = write_mjml(admin, [], content=NEWS.replace("{{ fields.company", "{{ fields.company |"), status=422)
    assert "Template error" in page.text
    # an existing newsletter keeps its content when an edit is refused
    newsletter = Newsletter.create(name="n", subject="s", content=NEWS, content_format="mjml")
    form = editor_form(admin.get(f"/admin/email/{newsletter.id}/edit"))
    form["content"] = broken
    assert "This MJML cannot be rendered:" in form.submit(status=422).text
    assert Newsletter.get_by_id(newsletter.id).content == NEWS


def test_preview_and_test_send_of_an_mjml_newsletter(admin, ctx, smtp_sink):
    configure(smtp_sink)
    create_contact({"email": "ada@example.com", "first_name": "Ada"})
    newsletter = Newsletter.create(name="n", subject="For {{ first_name }}", content=NEWS, content_format="mjml")
    page = admin.get(f"/admin/email/{newsletter.id}/preview?contact=ada@example.com")
    assert "Hello Ada from nowhere" in page.text and "mj-column-per-50" in page.text
    form = next(f for f in page.forms.values() if "address" in f.fields)
    form["address"] = "boss@example.com"
    assert "250 Message accepted" in form.submit().follow().text
    [mail] = smtp_sink.wait_for(1)
    assert mail["Subject"] == "[Test] For Ada" and "Hello Ada from nowhere" in part(mail, "html")
    assert "/e/u/" in part(mail, "html")


def test_an_image_without_alt_text_refuses_the_send(admin, ctx, smtp_sink):
    configure(smtp_sink)
    readers = Segment.create(name="Readers", kind="static")
    add_to_segment(create_contact({"email": "ada@example.com"}), readers)
    content = NEWS.replace('<mj-column><mj-button', '<mj-column><mj-image src="https://cdn.example/logo.png" />'
                                                    '<mj-button')
    newsletter = Newsletter.create(name="n", subject="s", content=content, content_format="mjml",
                                   segments=[readers.id])
    verdict = newsletters.check_ready(newsletter)
    assert any("1 image has no alt text (logo.png)" in error for error in verdict.errors)
    assert newsletters.start(newsletter).errors and Newsletter.get_by_id(newsletter.id).status == "draft"
    page = admin.get(f"/admin/email/{newsletter.id}")
    assert "no alt text" in page.text and not [f for f in page.forms.values() if f.action.endswith("/send")]
    html = Newsletter.create(name="h", subject="s", content='<p><img src="https://cdn.example/a.png" alt=""></p>',
                             segments=[readers.id])
    assert any("no alt text (a.png)" in error for error in newsletters.check_ready(html).errors)
    Newsletter.update(content=content.replace("logo.png\"", "logo.png\" alt=\"Our logo\"")).where(
        Newsletter.id == newsletter.id).execute()
    assert newsletters.check_ready(Newsletter.get_by_id(newsletter.id)).ok


def upload(admin, name, content, alt="Spring banner", status=302):
    page = admin.get("/admin/email/images")
    return admin.post("/admin/email/images", {"csrf_token": csrf_of(page), "alt": alt},
                      upload_files=[("file", name, content)], status=status)


def test_the_image_library_checks_uploads_and_serves_images_to_mail_clients(admin, ctx, wsgi, instance):
    from webtest import TestApp

    configure()
    web = TestApp(wsgi)  # a mail client: no session
    empty = admin.get("/admin/email/images")
    assert "No images yet" in empty.text
    assert "Image library" in [a.text.strip() for a in empty.html.select("nav.sidebar ul a")]
    refused = upload(admin, "fake.png", b"<svg onload=alert(1)>", status=422)  # a PNG by its name only
    assert "fake.png is not a PNG, JPEG, GIF or WebP image" in refused.text
    assert 'value="Spring banner"' in refused.text  # what was typed is kept
    assert "is not a PNG" in upload(admin, "g.gif", b"GIF8 nope" * 3, status=422).text
    assert "Describe the image" in upload(admin, "b.png", png(), alt="  ", status=422).text
    save_settings("email", image_max_mb=1)
    too_big = png() + b"\x00" * (1024 * 1024)
    assert "larger than the 1.0 MB limit" in upload(admin, "big.png", too_big, status=422).text
    assert EmailImage.select().count() == 0 and StoredFile.select().count() == 0
    assert not [p for p in (instance / "uploads").rglob("*") if p.is_file()]  # nothing left behind

    page = upload(admin, "Bannière été.png", png(2, 2)).follow()
    image = EmailImage.get()
    assert "Image added" in page.text and "Bannière été.png" in page.text
    snippets = [node["value"] for node in page.html.select("input[readonly]")]
    url = f"http://couvee.test/e/i/{image.token}"
    assert snippets == [f'<mj-image src="{url}" alt="Spring banner" />',
                        f'<img src="{url}" alt="Spring banner" style="max-width:100%;height:auto">']
    stored = image.file
    assert "static" not in stored.path and "Bann" not in stored.path  # a random name in the uploads folder

    served = web.get(f"/e/i/{image.token}")
    assert "couvee_session" not in web.cookies and "cookie" not in served.headers.get("Vary", "").lower()
    assert served.body == png(2, 2) and served.content_type == "image/png"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Security-Policy"] == "default-src 'none'"
    assert "max-age=31536000" in served.headers["Cache-Control"] and "public" in served.headers["Cache-Control"]
    web.get("/e/i/" + "x" * 32, status=404)
    web.get("/e/i/../../etc", status=404, expect_errors=True)

    # a JPEG named .png is stored (and served) as what it is
    upload(admin, "photo.png", b"\xff\xd8\xff\xe0" + b"\x00" * 64, alt="A photo")
    jpeg = EmailImage.select().order_by(EmailImage.id.desc()).first()
    assert web.get(f"/e/i/{jpeg.token}").content_type == "image/jpeg"

    # alt text editable; an empty one refused
    page = admin.get("/admin/email/images")
    admin.post(f"/admin/email/images/{image.id}/alt", {"csrf_token": csrf_of(page), "alt": "Summer banner"})
    assert EmailImage.get_by_id(image.id).alt == "Summer banner"
    refused = admin.post(f"/admin/email/images/{image.id}/alt", {"csrf_token": csrf_of(page), "alt": ""}).follow()
    assert "Describe the image" in refused.text and EmailImage.get_by_id(image.id).alt == "Summer banner"

    # deleting an image a newsletter shows is refused; otherwise the file goes too
    Newsletter.create(name="Summer", subject="s", content=f'<img src="http://localhost/e/i/{image.token}" alt="x">')
    answer = admin.post(f"/admin/email/images/{image.id}/delete", {"csrf_token": csrf_of(page)}).follow()
    assert "This image is used by “Summer”" in answer.text and EmailImage.get_or_none(id=image.id)
    path = instance / "uploads" / jpeg.file.path
    assert path.is_file()
    assert "Image deleted." in admin.post(f"/admin/email/images/{jpeg.id}/delete",
                                          {"csrf_token": csrf_of(page)}).follow().text
    assert not path.exists() and EmailImage.get_or_none(id=jpeg.id) is None
    web.get(f"/e/i/{jpeg.token}", status=404)


def test_the_image_library_needs_a_login(web, admin_user, ctx):
    assert "/admin/login" in web.get("/admin/email/images").location
    for url in ("/admin/email/images", "/admin/email/images/1/alt", "/admin/email/images/1/delete"):
        assert web.post(url, expect_errors=True).status_int in (302, 400)  # CSRF first, then login
    assert EmailImage.select().count() == 0


def test_duplicate_makes_a_draft_copy_of_any_newsletter(admin, ctx):
    configure()
    readers, others = Segment.create(name="Readers", kind="static"), Segment.create(name="Others", kind="static")
    original = Newsletter.create(
        name="Spring", subject="For {{ first_name }}", preheader="New", content=NEWS, content_format="mjml",
        sender_name="Ada", sender_email="ada@couvee.test", reply_to="help@couvee.test", segments=[readers.id],
        exclusions=[others.id], window={"days": [0, 1], "start": 9, "end": 11}, utm={"campaign": "spring"},
        track=False, status="sent", total=12)
    page = admin.get(f"/admin/email/{original.id}")
    form = next(f for f in page.forms.values() if f.action.endswith("/duplicate"))
    shown = form.submit().follow()
    copy = Newsletter.select().order_by(Newsletter.id.desc()).first()
    assert copy.id != original.id and "Copy created as a draft" in shown.text
    assert copy.name == "Copy of Spring" and copy.status == "draft" and copy.total == 0
    assert copy.scheduled_at is None and copy.started_at is None and copy.finished_at is None
    for name in ("subject", "preheader", "content", "content_format", "sender_name", "sender_email", "reply_to",
                 "segments", "exclusions", "window", "utm", "track"):
        assert getattr(copy, name) == getattr(original, name), name
    assert admin.get(f"/admin/email/{copy.id}/edit").status_code == 200  # a draft: editable
    admin.post(f"/admin/email/{original.id}/duplicate", status=400, expect_errors=True)  # CSRF required


def test_existing_newsletters_are_html_after_the_migration(ctx):
    from playhouse.migrate import SchemaMigrator, migrate

    from core.db import db_proxy
    from plugins.email.migrations import add_content_format

    Newsletter.create(name="old", subject="s", content="<p>x</p>", content_format="mjml")
    database = db_proxy.obj
    migrate(SchemaMigrator.from_database(database).drop_column("email_newsletter", "content_format"))
    add_content_format(database, SchemaMigrator.from_database(database))
    assert Newsletter.get().content_format == "html"
    add_content_format(database, SchemaMigrator.from_database(database))  # a second run changes nothing


def test_the_email_send_action_renders_an_mjml_newsletter_used_as_template(ctx, smtp_sink):
    from plugins.email.actions import run_send

    configure(smtp_sink)
    ada = create_contact({"email": "ada@example.com", "first_name": "Ada"})
    template = Newsletter.create(name="Welcome", subject="Welcome {{ first_name }}", content=NEWS,
                                 content_format="mjml")
    assert run_send(ada, {"template": template.id}, {"key": "step-1"}).status == "sent"
    [mail] = smtp_sink.wait_for(1)
    html = part(mail, "html")
    assert mail["Subject"] == "Welcome Ada" and "Hello Ada from nowhere" in html and "mj-column-per-50" in html
    assert "<mjml>" not in html and html.count("/e/u/") == 1  # one footer: the MJML's, not the layout's too


def test_a_link_in_a_zero_font_size_stays_hidden_unless_the_text_sets_its_size_back(ctx):
    from plugins.email.rules import check_html

    configure()
    config = load_config()

    def visible(html: str) -> bool:
        verdict = check_html(html, unsubscribe_prefix="https://u/", view_prefix="https://v/", config=config,
                             sender_name="Ada", sender_email="news@couvee.test")
        return not any("unsubscribe link" in error for error in verdict.errors)

    assert visible('<td style="font-size:0px"><div style="font-size:12px"><a href="https://u/1">Unsubscribe</a></div></td>')
    assert not visible('<td style="font-size:0px"><div><a href="https://u/1">Unsubscribe</a></div></td>')
    assert not visible('<div style="font-size: 0"><a href="https://u/1">Unsubscribe</a></div>')
    assert not visible('<div style="display:none"><p style="font-size:12px"><a href="https://u/1">Unsubscribe</a></p></div>')
    assert visible('<p style="font-size:0.9em"><a href="https://u/1">Unsubscribe</a></p>')  # 0.9em is not zero
