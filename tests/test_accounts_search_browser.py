"""The Account panel's typeahead in Chromium: typing part of a name fills the
suggestions from the search endpoint (the page's CSP allows the script), and
the chosen account is linked through the search page."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from core.contacts import create_contact
from plugins.accounts import account_of, clean_account, create_account
from tests.conftest import browser_login


def test_typing_suggests_accounts_and_the_choice_links_the_contact(chromium, live_server, admin_user, ctx):
    for name in ("Zénith Industries", "Zénith Conseil", "Acme"):
        create_account(clean_account({"name": name}))
    bob = create_contact({"email": "bob@gmail.com", "first_name": "Bob"})
    context = chromium.new_context(locale="en-US")
    errors = []
    try:
        page = context.new_page()
        page.set_default_timeout(15000)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        browser_login(page, live_server.url)
        page.goto(f"{live_server.url}/admin/contacts/{bob.id}")
        field = page.locator("#account-link input[name=q]")
        field.press_sequentially("Zén", delay=30)
        options = page.locator("#account-choices option")
        expect(options).to_have_count(2)
        assert sorted(options.nth(i).get_attribute("value") for i in range(2)) == ["Zénith Conseil", "Zénith Industries"]
        field.fill("Zénith Industries")
        page.locator("#account-link button").click()
        page.get_by_role("button", name="Link to Zénith Industries").click()
        page.wait_for_url(re.compile(rf".*/admin/contacts/{bob.id}$"))
        assert "Bob is now linked to Zénith Industries." in page.content()
    finally:
        context.close()
    assert errors == []
    assert account_of(bob.id).name == "Zénith Industries"
