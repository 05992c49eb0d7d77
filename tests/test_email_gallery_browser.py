"""In Chromium: the insert-token menu puts the chosen token at the cursor of
the subject or the content, and a newsletter made from a ready-made template
shows its content in the form."""
from __future__ import annotations

import re

from .conftest import browser_login


def test_insert_a_token_at_the_cursor_and_start_from_a_template(chromium, live_server, admin_user, ctx):
    from core.models import CustomField

    CustomField.create(key="company", label="Company", type_id="text")
    context = chromium.new_context(locale="en-GB")
    try:
        page = context.new_page()
        browser_login(page, live_server.url)

        page.goto(live_server.url + "/admin/email/new")
        assert page.locator("[data-token-menu]").is_visible()  # the script shows it
        subject = page.locator("input[name=subject]")
        subject.fill("Hello , welcome")
        subject.evaluate("field => field.setSelectionRange(6, 6)")
        page.locator("[data-token-select]").select_option("{{ first_name }}")
        page.get_by_role("button", name="Insert in the subject").click()
        assert subject.input_value() == "Hello {{ first_name }}, welcome"
        content = page.locator("textarea[name=content]")
        content.fill("<p>From </p>")
        content.evaluate("field => field.setSelectionRange(8, 8)")
        page.locator("[data-token-select]").select_option("{{ fields.company }}")
        page.get_by_role("button", name="Insert in the content").click()
        assert content.input_value() == "<p>From {{ fields.company }}</p>"

        page.goto(live_server.url + "/admin/email/templates")
        card = page.locator("#ready-event")
        card.locator("select[name=language]").select_option("fr")
        card.get_by_role("button", name="New newsletter from this template").click()
        page.wait_for_url(re.compile(r".*/admin/email/\d+/edit$"))
        assert "Je m’inscris" in page.locator("textarea[name=content]").input_value()
        assert page.locator("input[name=subject]").input_value().startswith("Vous êtes invité")
    finally:
        context.close()
