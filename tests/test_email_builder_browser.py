"""Issue 21, "must show", in Chromium: build a newsletter from blocks in the
GrapesJS editor, upload an image with its alt text through the asset manager,
let autosave keep it, reopen it, preview it as a contact and send a test to
the SMTP sink: the delivered HTML has the blocks, passes the template rules
and carries the locked footer once."""
from __future__ import annotations

import re

from core.contacts import create_contact
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, browser_login
from tests.test_email_mjml import png
from tests.test_email_send import configure, part

from plugins.email import rules
from plugins.email.config import load_config
from plugins.email.models import EmailImage, Newsletter


def _frame(page):
    return page.frame_locator("#design-editor iframe.gjs-frame")


def _wait_saved(page, newsletter_id, needle):
    """Autosave runs every few seconds once something changed."""
    page.wait_for_function("document.getElementById('design-status').textContent.startsWith('Saved at')",
                           timeout=20000)
    for _ in range(50):
        if needle in Newsletter.get_by_id(newsletter_id).content:
            return Newsletter.get_by_id(newsletter_id).content
        page.wait_for_timeout(200)
    raise AssertionError(f"{needle!r} was not saved: {Newsletter.get_by_id(newsletter_id).content}")


def test_build_an_email_from_blocks_and_send_it(chromium, live_server, admin_user, ctx, smtp_sink, tmp_path):
    configure(smtp_sink)
    create_contact({"email": "ada@example.com", "first_name": "Ada"})
    context = chromium.new_context(locale="en-US", viewport={"width": 1400, "height": 1000})
    errors = []
    try:
        page = context.new_page()
        page.set_default_timeout(15000)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        browser_login(page, live_server.url)

        page.goto(live_server.url + "/admin/email/new")
        page.locator("input[name=name]").fill("Summer")
        page.locator("input[name=subject]").fill("Summer for {{ first_name }}")
        page.get_by_role("button", name="Save and open the block editor").click()
        page.wait_for_url(re.compile(r".*/admin/email/\d+/design$"))
        newsletter_id = int(re.search(r"/email/(\d+)/design", page.url).group(1))
        page.wait_for_function("window.couveeDesign !== undefined", timeout=20000)
        frame = _frame(page)
        frame.locator("body").get_by_text("Unsubscribe").wait_for()  # the locked footer is shown

        # a real block added through the interface: a click on "Text" (the editor adds clicked blocks; an HTML5
        # drag into GrapesJS's canvas iframe is not delivered by headless Chromium, with drag_to or the mouse)
        before = page.evaluate("window.couveeDesign.mjml()").count("<mj-text")
        page.locator(".gjs-block").filter(has_text=re.compile(r"^\s*Text\s*$")).click()
        assert page.evaluate("window.couveeDesign.mjml()").count("<mj-text") == before + 1
        page.evaluate("() => { window.couveeDesign.editor.getSelected().components('Our summer menu is here'); }")
        page.locator(".gjs-block").filter(has_text=re.compile(r"^\s*Button\s*$")).click()
        # an image from the library, uploaded through the asset manager with its alt text
        page.locator(".gjs-block").filter(has_text=re.compile(r"^\s*Image\s*$")).click()
        page.evaluate("""() => {
            const editor = window.couveeDesign.editor;
            const image = editor.getSelected();
            editor.runCommand('open-assets', {target: image, types: ['image'], accept: 'image/*'});
        }""")
        picture = tmp_path / "terrace.png"
        picture.write_bytes(png(4, 4))
        page.once("dialog", lambda dialog: dialog.accept("Our terrace in the sun"))
        page.locator(".gjs-am-file-uploader input[type=file]").set_input_files(str(picture))
        asset = page.locator(".gjs-am-asset-image").first
        asset.wait_for()
        image = EmailImage.get()
        asset.click()
        page.wait_for_function(
            f"window.couveeDesign.mjml().includes('{image.token}') && "
            "window.couveeDesign.mjml().includes('alt=\"Our terrace in the sun\"')", timeout=10000)
        page.keyboard.press("Escape")

        saved = _wait_saved(page, newsletter_id, "Our summer menu is here")
        assert image.token in saved and 'alt="Our terrace in the sun"' in saved
        assert "Unsubscribe" not in saved and "couvee-locked" not in saved  # the footer is not saved
        assert "<mj-button" in saved

        page.reload()  # reopen: the blocks are back
        page.wait_for_function("window.couveeDesign !== undefined", timeout=20000)
        frame = _frame(page)
        frame.get_by_text("Our summer menu is here").wait_for()
        assert frame.locator(f"img[src*='{image.token}']").count() == 1
        assert frame.locator("body").get_by_text("Unsubscribe").count() == 1

        page.goto(live_server.url + f"/admin/email/{newsletter_id}/preview?contact=ada@example.com")
        preview = page.content()
        assert "Our summer menu is here" in preview and image.token in preview
        page.locator("input[name=address]").fill("boss@example.com")
        page.locator("form:has(input[name=address]) button[type=submit]").click()
        page.wait_for_load_state()
        [mail] = smtp_sink.wait_for(1)
        html = part(mail, "html")
        assert "Our summer menu is here" in html and f"/e/i/{image.token}" in html
        assert 'alt="Our terrace in the sun"' in html
        assert html.count("/e/u/") == 1 and html.count("You receive this email because") == 1
        assert html.count("View this email in your browser") == 1 and "couvee-locked" not in html
        assert "mj-column-per-100" in html  # the sections, rendered by mrml
        verdict = rules.check_newsletter(Newsletter.get_by_id(newsletter_id), load_config())
        assert verdict.errors == []  # the template rules: unsubscribe link, identity, every image's alt text
        assert not [e for e in errors if "Content Security Policy" in e], errors
    except Exception:  # what the page said, for whoever reads the failure
        print("URL", page.url, "ERRORS", errors, page.locator("#design-error").all_inner_texts())
        raise
    finally:
        context.close()


def test_the_editor_speaks_french_and_previews_on_a_phone(chromium, live_server, admin_user, ctx):
    from core.auth import User

    configure()
    User.update(language="fr").where(User.email == ADMIN_EMAIL).execute()
    newsletter = Newsletter.create(name="Printemps", subject="s", content=NEWS_FR, content_format="mjml")
    context = chromium.new_context(locale="fr-FR", viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.set_default_timeout(15000)
        page.goto(live_server.url + "/admin/login")
        page.get_by_label("Email").fill(ADMIN_EMAIL)
        page.get_by_label("Mot de passe").fill(ADMIN_PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_url(re.compile(r".*/admin/?$"))
        page.goto(live_server.url + f"/admin/email/{newsletter.id}/design")
        page.wait_for_function("window.couveeDesign !== undefined", timeout=20000)
        blocks = page.locator(".gjs-block").all_inner_texts()
        assert {"Bouton", "Texte", "Séparateur", "Espace", "Réseaux sociaux", "Contenu recommandé"} <= \
            {text.strip() for text in blocks}, blocks
        assert {"Mise en page", "Contenu", "Contenu intelligent"} <= \
            {t.strip() for t in page.locator(".gjs-block-category .gjs-title").all_inner_texts()}
        assert page.locator("[title='Annuler']").count() == 1  # GrapesJS's own buttons, in French
        _frame(page).locator("body").get_by_text("Se désinscrire").wait_for()  # the locked footer, in French
        footer = _frame(page).locator("body").get_by_text("Se désinscrire")
        footer.click()  # the locked parts cannot be selected, so neither edited, moved nor removed
        assert page.evaluate("""() => {
            const editor = window.couveeDesign.editor;
            const selected = editor.getSelected();
            const locked = editor.getWrapper().findType('mj-section').filter(
                s => (s.getAttributes()['css-class'] || '').includes('couvee-locked'));
            const flags = [];
            locked.forEach(s => { flags.push(s.get('removable'), s.get('draggable'), s.get('selectable'));
                                  s.onAll(c => flags.push(c.get('removable'), c.get('editable'))); });
            return locked.length === 2 && !(selected && selected.getAttributes()['css-class'])
                && flags.every(flag => flag === false);
        }""")
        page.get_by_role("button", name="Voir le code MJML").click()
        code = page.locator("#design-code-text").input_value()
        assert "Bonjour {{ first_name }}" in code and "Se désinscrire" not in code and "couvee-locked" not in code
        page.get_by_role("button", name="Fermer").click()
        page.locator("[title='Mobile']").click()
        assert page.evaluate("window.couveeDesign.editor.getDevice()").lower().startswith("mobile")
        assert "Toutes les modifications sont enregistrées" == page.locator("#design-status").inner_text()
    finally:
        context.close()


NEWS_FR = ("<mjml><mj-body><mj-section><mj-column><mj-text>Bonjour {{ first_name }}</mj-text></mj-column>"
           "</mj-section></mj-body></mjml>")
