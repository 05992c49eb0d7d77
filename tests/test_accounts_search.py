"""The contact page's Account panel with many accounts (issue 22, part 2):
no list of every account, but a search (a typeahead endpoint for the
datalist, and a page listing the matches without script) that finds any
of 50,000 accounts by name or domain."""
from __future__ import annotations

from core import contacts
from core.models import utcnow
from plugins.accounts import account_of
from plugins.accounts.models import Account


def link_form(page, index=0):
    """The n-th "Link to ..." button of the account search page."""
    return [form for form in page.forms.values() if form.action.endswith("/link")][index]


def test_the_panel_searches_among_fifty_thousand_accounts(admin, ctx, run_jobs):
    now = utcnow()
    rows = [{"name": f"Company {n:05d}", "domain": f"company{n:05d}.fr", "created_at": now, "updated_at": now}
            for n in range(50_000)]
    rows.append({"name": "Zénith <Industries>", "domain": "zenith.fr", "created_at": now, "updated_at": now})
    rows.append({"name": "Groupe Zénith", "domain": None, "created_at": now, "updated_at": now})
    for start in range(0, len(rows), 5000):
        Account.insert_many(rows[start:start + 5000]).execute()
    bob = contacts.create_contact({"email": "bob@gmail.com", "first_name": "Bob"})
    run_jobs()

    page = admin.get(f"/admin/contacts/{bob.id}")
    panel = page.html.find(id="account-panel")
    assert panel.find("select") is None and len(panel.find_all("option")) == 0
    assert "account-search.js" in panel.decode()

    found = admin.get("/admin/accounts/search", {"q": "Zénith"}).json["items"]
    assert [a["name"] for a in found] == ["Zénith <Industries>", "Groupe Zénith"]  # starting with it first
    assert len(admin.get("/admin/accounts/search", {"q": "company"}).json["items"]) == 10
    assert admin.get("/admin/accounts/search", {"q": "company49999.f"}).json["items"][0]["name"] == "Company 49999"
    assert admin.get("/admin/accounts/search", {"q": ""}).json["items"] == []

    form = page.forms["account-link"]
    form["q"] = "zenith.fr"
    choices = form.submit()
    listed = choices.html.find(id="account-choices")
    assert "Zénith &lt;Industries&gt;" in listed.decode() and "<Industries>" not in listed.decode()
    linked = link_form(choices).submit().follow()
    assert "Bob is now linked to Zénith <Industries>." in linked.html.text
    assert account_of(bob.id).domain == "zenith.fr"

    many = admin.get(f"/admin/accounts/contacts/{bob.id}/choose", {"q": "Company"})
    assert len(many.html.find(id="account-choices").find_all("li")) == 20
    assert "Only the first 20 are listed" in many.text
    none = admin.get(f"/admin/accounts/contacts/{bob.id}/choose", {"q": "nothing like it"})
    assert "No account matches “nothing like it”." in none.text

    unlinked = admin.get(f"/admin/contacts/{bob.id}").forms["account-unlink"].submit().follow()
    assert "Bob is no longer linked to an account." in unlinked.text and account_of(bob.id) is None
    assert admin.get("/admin/accounts/static/account-search.js").status_int == 200
