"""Issue 21, second slice: the block editor's server side (the design page,
its autosave endpoint, the asset manager's image endpoints) and the
``email_builder_blocks`` hook plugins add blocks through."""
from __future__ import annotations

import json
import re

from webtest import TestApp

from core import hookimpl, state
from tests.conftest import csrf_of
from tests.test_email_mjml import NEWS, png
from tests.test_email_send import configure

from plugins.email import builder
from plugins.email.models import EmailImage, Newsletter

EDITED = NEWS.replace("Shop the spring", "Shop the summer")


def settings_of(page) -> dict:
    return json.loads(page.html.select_one("#design-settings").string)


def autosave(web, newsletter, mjml, page=None, status=200):
    page = page or web.get(f"/admin/email/{newsletter.id}/design")
    return web.post(f"/admin/email/{newsletter.id}/design", {"csrf_token": csrf_of(page), "mjml": mjml},
                    status=status)


def test_the_design_page_opens_the_newsletter_with_the_locked_parts_and_its_own_policy(admin, ctx):
    configure()
    newsletter = Newsletter.create(name="Spring", subject="s", content=NEWS, content_format="mjml")
    show = admin.get(f"/admin/email/{newsletter.id}")
    assert f"/admin/email/{newsletter.id}/design" in [a["href"] for a in show.html.select("a.button")]
    page = admin.get(f"/admin/email/{newsletter.id}/design")
    settings = settings_of(page)
    source = settings["source"]
    assert "Shop the spring" in source and source.count('css-class="couvee-locked"') == 2  # view link, footer
    assert "{{ unsubscribe_url }}" in source and "Unsubscribe" in source
    assert settings["save"] == f"/admin/email/{newsletter.id}/design"
    assert {"id", "label", "category", "content"} <= set(settings["blocks"][0])  # smart content's block
    policy = page.headers["Content-Security-Policy"]
    assert "'unsafe-eval'" in policy and "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
    assert "/vendor/grapes.min.js" in page.text and "cdn" not in page.text.lower()
    assert "'unsafe-eval'" not in admin.get(f"/admin/email/{newsletter.id}").headers["Content-Security-Policy"]
    assert admin.get("/admin/email/static/vendor/grapes.min.js").status_int == 200
    html = Newsletter.create(name="h", subject="s", content="<p>Hi</p>", content_format="html")
    assert admin.get(f"/admin/email/{html.id}/design").status_int == 302  # HTML: the raw form
    assert "design" not in " ".join(a["href"] for a in admin.get(f"/admin/email/{html.id}").html.select("a.button"))


def test_creating_an_mjml_newsletter_can_open_the_editor(admin, ctx):
    page = admin.get("/admin/email/new")
    form = next(f for f in page.forms.values() if "subject" in f.fields)
    form["name"], form["subject"] = "Spring", "News"
    answer = form.submit("then")
    newsletter = Newsletter.get()
    assert answer.location.endswith(f"/admin/email/{newsletter.id}/design")


def test_autosave_saves_valid_mjml_without_the_locked_parts(admin, ctx):
    configure()
    newsletter = Newsletter.create(name="n", subject="s", content=NEWS, content_format="mjml")
    page = admin.get(f"/admin/email/{newsletter.id}/design")
    source = settings_of(page)["source"].replace("Shop the spring", "Shop the summer")
    source = source.replace('{{ first_name or "reader" }}', '{{ first_name or &quot;reader&quot; }}')
    answer = autosave(admin, newsletter, source, page)
    assert answer.json["ok"] and re.fullmatch(r"Saved at \d\d:\d\d", answer.json["message"])
    saved = Newsletter.get_by_id(newsletter.id).content
    assert "Shop the summer" in saved and "couvee-locked" not in saved  # the footer is never saved
    assert "Unsubscribe" not in saved and "unsubscribe_url" not in saved and "view_url" not in saved
    assert '{{ first_name or "reader" }}' in saved  # the editor's entities inside a token are undone
    reopened = settings_of(admin.get(f"/admin/email/{newsletter.id}/design"))["source"]
    assert reopened.count('css-class="couvee-locked"') == 2  # once each, not piled up


def test_autosave_refuses_invalid_mjml_with_mrmls_message(admin, ctx):
    newsletter = Newsletter.create(name="n", subject="s", content=NEWS, content_format="mjml")
    broken = "<mjml><mj-body><mj-section><mj-column><mj-text>Hi</mj-column></mj-section></mj-body></mjml>"
    answer = autosave(admin, newsletter, broken, status=422)
    assert answer.json["ok"] is False and "This MJML cannot be rendered:" in answer.json["error"]
    answer = autosave(admin, newsletter, NEWS.replace("{{ fields.company", "{{ fields.company |"), status=422)
    assert "Template error" in answer.json["error"]
    assert Newsletter.get_by_id(newsletter.id).content == NEWS


def test_autosave_never_overwrites_a_sent_newsletter(admin, ctx):
    newsletter = Newsletter.create(name="n", subject="s", content=NEWS, content_format="mjml")
    page = admin.get(f"/admin/email/{newsletter.id}/design")
    for status in ("sending", "sent"):
        Newsletter.update(status=status).where(Newsletter.id == newsletter.id).execute()
        answer = autosave(admin, newsletter, EDITED, page, status=409)
        assert "can no longer be edited" in answer.json["error"]
        assert admin.get(f"/admin/email/{newsletter.id}/design").status_int == 302
    assert Newsletter.get_by_id(newsletter.id).content == NEWS


def test_autosave_needs_the_csrf_token_and_a_login(admin, ctx, wsgi):
    newsletter = Newsletter.create(name="n", subject="s", content=NEWS, content_format="mjml")
    admin.post(f"/admin/email/{newsletter.id}/design", {"mjml": EDITED}, status=400)
    stranger = TestApp(wsgi)
    page = stranger.get("/admin/login")
    answer = stranger.post(f"/admin/email/{newsletter.id}/design", {"csrf_token": csrf_of(page), "mjml": EDITED},
                           status=302)
    assert "/admin/login" in answer.location
    assert stranger.get("/admin/email/design/images", status=302)
    assert Newsletter.get_by_id(newsletter.id).content == NEWS


def test_the_asset_manager_lists_and_uploads_through_the_library(admin, ctx):
    configure()
    page = admin.get("/admin/email/images")
    refused = admin.post("/admin/email/design/images", {"csrf_token": csrf_of(page), "alt": " "},
                         upload_files=[("file", "a.png", png())], status=422)
    assert "Describe the image" in refused.json["error"] and EmailImage.select().count() == 0
    refused = admin.post("/admin/email/design/images", {"csrf_token": csrf_of(page), "alt": "Logo"},
                         upload_files=[("file", "a.png", b"<svg>")], status=422)
    assert "is not a PNG" in refused.json["error"]
    added = admin.post("/admin/email/design/images", {"csrf_token": csrf_of(page), "alt": "Our logo"},
                       upload_files=[("file", "logo.png", png())], status=201)
    image = EmailImage.get()
    asset = {"type": "image", "src": f"http://couvee.test/e/i/{image.token}", "name": "logo.png",
             "alt": "Our logo", "id": image.id}
    assert added.json["data"] == [asset]
    assert admin.get("/admin/email/design/images").json == {"images": [asset]}


def test_hook_email_builder_blocks(app, ctx):
    """Plugins add blocks; broken or duplicate ones are left out, the others still listed."""
    hooks = state().hooks
    assert "email_builder_blocks" in hooks.hook_declarers
    blocks = builder.plugin_blocks()
    recommended = next(b for b in blocks if b["id"] == "smart_content.recommended")
    assert recommended["label"] == "Recommended content" and recommended["category"] == "Smart content"
    assert "{{ content.url }}" in recommended["content"] and "<mj-section" in recommended["content"]
    # the block is valid MJML: a newsletter made of it saves
    newsletter = Newsletter.create(name="n", subject="s", content=NEWS, content_format="mjml")
    with_block = NEWS.replace("</mj-body>", recommended["content"] + "</mj-body>")
    assert "content.title" in builder.save_draft(newsletter, with_block)

    class Broken:
        @hookimpl
        def email_builder_blocks(self):
            return [{"id": "x.no_content", "label": "No content"}, {"id": "x.text", "label": "Text only",
                                                                  "content": "<mj-text>hi</mj-text>"},
                    {"id": "x.ok", "label": "Fine", "content": "<mj-section><mj-column/></mj-section>"},
                    {"id": "x.ok", "label": "Twice", "content": "<mj-section><mj-column/></mj-section>"}]

    hooks.pm.register(Broken(), name="broken_blocks")
    try:
        ids = [b["id"] for b in builder.plugin_blocks()]
    finally:
        hooks.pm.unregister(name="broken_blocks")
    assert ids.count("x.ok") == 1 and "x.no_content" not in ids and "x.text" not in ids
    assert "smart_content.recommended" in ids  # the others' blocks are still listed


def test_the_design_page_in_french(admin, ctx):
    from tests.test_i18n_email import speaks_french

    speaks_french(ctx)
    newsletter = Newsletter.create(name="Printemps", subject="s", content=NEWS, content_format="mjml")
    page = admin.get(f"/admin/email/{newsletter.id}/design")
    assert page.html.select_one("html")["lang"] == "fr"
    assert "Concevoir Printemps" in page.text and "Aperçu avec un contact" in page.text
    settings = settings_of(page)
    assert settings["lang"] == "fr"
    assert settings["words"]["button"] == "Bouton" and settings["words"]["undo"] == "Annuler"
    assert "texte alternatif" in settings["words"]["alt"]
    assert next(b for b in settings["blocks"] if b["id"] == "smart_content.recommended")["label"] == \
        "Contenu recommandé"
    assert "Se désinscrire" in settings["source"]  # the locked footer in the admin's language


def test_mjml_posted_with_crlf_line_endings_renders(admin, ctx):
    """Browsers post a textarea with CRLF line endings, which mrml refuses: the
    form's default MJML newsletter must save as typed in a browser."""
    from plugins.email import mjml

    headed = EDITED.replace("<mj-body>", "<mj-head>\n<mj-attributes>\n<mj-all font-family=\"Arial\" />\n"
                                         "</mj-attributes>\n</mj-head>\n<mj-body>")
    assert mjml.check(headed.replace("\n", "\r\n")) == ""  # mrml alone: "unexpected token in root template"
    newsletter = Newsletter.create(name="n", subject="s", content=NEWS, content_format="mjml")
    autosave(admin, newsletter, headed.replace("\n", "\r\n"))
    assert "Shop the summer" in Newsletter.get_by_id(newsletter.id).content
