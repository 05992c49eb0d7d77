"""Issue 21 in Chromium: a block DRAGGED from the block panel onto the
canvas (not clicked) lands in the newsletter, and autosave stores it in the
MJML. The block is smart content's "Recommended content" (a plugin's block,
through ``email_builder_blocks``), dropped above the newsletter's first
section."""
from __future__ import annotations

import re

from tests.conftest import browser_login
from tests.test_email_builder_browser import _frame, _wait_saved
from tests.test_email_send import configure

from plugins.email.models import Newsletter

NEWS = ("<mjml><mj-body><mj-section><mj-column><mj-text>Hello {{ first_name }}</mj-text></mj-column>"
        "</mj-section></mj-body></mjml>")

# The drag as Chromium delivers it to a page: dragstart on the block, then dragenter and dragovers on
# the canvas document moving up to the drop point, drop and dragend, sharing one DataTransfer, a moment
# apart as a hand moves. (Playwright's mouse drag does not cross into GrapesJS's canvas iframe in
# headless Chromium; these are the events the editor's own listeners receive from a person's drag.)
DRAG = """async ([label, y]) => {
    const pause = () => new Promise(resolve => setTimeout(resolve, 60));
    const block = [...document.querySelectorAll('.gjs-block')].find(b => b.textContent.trim() === label);
    const doc = document.querySelector('#design-editor iframe.gjs-frame').contentDocument;
    const data = new DataTransfer();
    const at = (type, target, x, y) => target.dispatchEvent(new DragEvent(type, {
        bubbles: true, cancelable: true, dataTransfer: data, clientX: x, clientY: y}));
    const box = block.getBoundingClientRect();
    at('dragstart', block, box.x + 5, box.y + 5);
    await pause();
    let target = doc.body;
    for (let step = 0; step <= 5; step++) {
        const where = y + 40 - step * 8;
        target = doc.elementFromPoint(200, where) || doc.body;
        at(step === 0 ? 'dragenter' : 'dragover', target, 200, where);
        await pause();
    }
    at('drop', target, 200, y);
    await pause();
    at('dragend', block, 0, 0);
    await pause();
}"""


def test_drag_a_block_onto_the_canvas_and_save(chromium, live_server, admin_user, ctx):
    configure()
    newsletter = Newsletter.create(name="Drag", subject="s", content=NEWS, content_format="mjml")
    context = chromium.new_context(locale="en-US", viewport={"width": 1400, "height": 1000})
    errors = []
    try:
        page = context.new_page()
        page.set_default_timeout(15000)
        page.on("pageerror", lambda error: errors.append(str(error)))
        browser_login(page, live_server.url)
        page.goto(live_server.url + f"/admin/email/{newsletter.id}/design")
        page.wait_for_function("window.couveeDesign !== undefined", timeout=20000)
        frame = _frame(page)
        hello = frame.get_by_text("Hello {{ first_name }}")
        hello.wait_for()
        assert "content.title" not in page.evaluate("window.couveeDesign.mjml()")
        top = hello.bounding_box()["y"] - page.locator("#design-editor iframe.gjs-frame").bounding_box()["y"]
        page.evaluate(DRAG, ["Recommended content", max(2, top - 4)])
        page.wait_for_function("window.couveeDesign.mjml().includes('content.title')", timeout=10000)
        mjml = page.evaluate("window.couveeDesign.mjml()")
        # dropped above the first section, as a section of the body
        assert mjml.index("content.title") < mjml.index("Hello {{ first_name }}"), mjml
        saved = _wait_saved(page, newsletter.id, "content.title")
        assert re.search(r"<mj-section[^>]*>\s*<mj-column[^>]*>\s*<mj-text[^>]*><h2[^>]*>\{\{ content.title \}\}",
                         saved), saved
        assert saved.index("{{ content.url }}") < saved.index("Hello {{ first_name }}")
        assert saved.count("<mj-section") == 2 and "couvee-locked" not in saved and "Unsubscribe" not in saved
        assert not errors, errors
    finally:
        context.close()
