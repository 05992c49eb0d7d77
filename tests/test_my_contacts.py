"""Sales reps open the contacts list on the contacts they own (issue 15 item
18: reps saw every contact with no "My contacts" view)."""
from __future__ import annotations

import pytest

from core import auth
from core.contacts import create_contact
from core.models import Contact

from .conftest import login

REP_EMAIL, REP_PASSWORD = "nadia@example.com", "long password 1"


@pytest.fixture
def team(ctx, admin_user):
    rep = auth.create_user(REP_EMAIL, REP_PASSWORD, role="sales", name="Nadia")
    other = auth.create_user("yann@example.com", REP_PASSWORD, role="sales", name="Yann")
    for email, owner in (("mine1@example.com", rep), ("mine2@example.com", rep), ("theirs@example.com", other),
                         ("nobody@example.com", None)):
        contact = create_contact({"email": email})
        Contact.update(owner=owner).where(Contact.id == contact.id).execute()
    return rep


def listed(page) -> set[str]:
    return {row.find_all("td")[1].get_text(strip=True) for row in page.html.select("table.table tbody tr")}


def active_tab(page) -> str:
    return page.html.select_one("#contacts-tabs a.active").get_text(strip=True)


def test_a_sales_rep_sees_their_contacts_first_and_can_see_all(web, team):
    login(web, REP_EMAIL, REP_PASSWORD)
    page = web.get("/admin/contacts")
    assert active_tab(page) == "My contacts"
    assert listed(page) == {"mine1@example.com", "mine2@example.com"}

    everyone = page.click("All contacts")
    assert active_tab(everyone) == "All contacts"
    assert listed(everyone) == {"mine1@example.com", "mine2@example.com", "theirs@example.com", "nobody@example.com"}


def test_search_stays_within_my_contacts(web, team):
    login(web, REP_EMAIL, REP_PASSWORD)
    page = web.get("/admin/contacts")
    [search] = [form for form in page.forms.values() if "q" in form.fields]
    search["q"] = "mine1"  # the search form keeps the tab
    found = search.submit()
    assert active_tab(found) == "My contacts" and listed(found) == {"mine1@example.com"}
    search["q"] = "theirs"
    assert "No contact matches" in search.submit().text


def test_administrators_open_on_all_contacts_and_have_a_my_contacts_tab(admin, team):
    page = admin.get("/admin/contacts")
    assert active_tab(page) == "All contacts"
    assert len(listed(page)) == 4
    mine = page.click("My contacts")
    assert "No contact is assigned to you yet" in mine.text


def test_a_marketer_who_owns_contacts_opens_on_them_and_one_who_owns_none_on_all(web, team):
    marketer = auth.create_user("mia@example.com", REP_PASSWORD, role="marketer")
    login(web, "mia@example.com", REP_PASSWORD)
    assert active_tab(web.get("/admin/contacts")) == "All contacts"
    contact = create_contact({"email": "mias@example.com"})
    Contact.update(owner=marketer).where(Contact.id == contact.id).execute()
    page = web.get("/admin/contacts")
    assert active_tab(page) == "My contacts" and listed(page) == {"mias@example.com"}


def test_an_unknown_choice_falls_back_to_the_default(web, team):
    login(web, REP_EMAIL, REP_PASSWORD)
    assert active_tab(web.get("/admin/contacts", {"show": "bogus"})) == "My contacts"
