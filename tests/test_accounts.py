"""Accounts (issue 22): companies with their contacts, linked by the email
domain (free mail excepted) or by hand; the admin list, form and account page
with the combined timeline, score and last interaction; account conditions in
dynamic segments, the account status trigger and the assign-the-account-owner
action in workflows; CSV in and out; GDPR export and erasure."""
from __future__ import annotations

import datetime as dt

from core import auth, contacts, emit, erase_contact, export_contact, store_setting
from core.models import Contact, Event, utcnow
from plugins.accounts import account_of, clean_account, create_account, link, update_account
from plugins.accounts.models import Account, AccountContact

from .test_automation import live


def an_account(**values) -> Account:
    return create_account(clean_account({"name": "Acme", **values}))


def emails_of(account) -> set[str]:
    return {row.email for row in Contact.select(Contact.email).join(
        AccountContact, on=(AccountContact.contact == Contact.id)).where(AccountContact.account == account.id)}


def kinds_of(contact) -> list[str]:
    return [e.kind for e in Event.select().where(Event.contact == contact.id).order_by(Event.id)]


# --- linking --------------------------------------------------------------------------


def link_form(page, index=0):
    """The n-th "Link to ..." button of the account search page."""
    return [form for form in page.forms.values() if form.action.endswith("/link")][index]


def test_new_contacts_are_linked_by_their_email_domain_but_not_free_mail(ctx, run_jobs):
    acme = an_account(domain="https://www.Acme.fr/")
    assert acme.domain == "acme.fr"
    ada = contacts.create_contact({"email": "ada@acme.fr"})
    bob = contacts.create_contact({"email": "bob@gmail.com"})
    eve = contacts.create_contact({"email": "eve@other.fr"})
    run_jobs()
    assert account_of(ada.id).id == acme.id
    assert account_of(bob.id) is None and account_of(eve.id) is None
    assert "account_linked" in kinds_of(ada)
    linked = Event.get((Event.contact == ada.id) & (Event.kind == "account_linked"))
    assert linked.data == {"account_id": acme.id, "account_name": "Acme", "via": "domain"}


def test_an_account_of_a_free_mail_domain_links_nobody_automatically(ctx, run_jobs):
    store_setting("accounts", "free_mail_domains", "gmail.com\nexample-mail.fr")
    mail = an_account(name="Example Mail", domain="example-mail.fr")
    contacts.create_contact({"email": "ann@example-mail.fr"})
    run_jobs()
    assert emails_of(mail) == set()


def test_creating_an_account_links_the_contacts_already_at_its_domain_in_one_go(ctx, run_jobs):
    for name in ("ada", "bob", "cy"):
        contacts.create_contact({"email": f"{name}@globex.fr"})
    contacts.create_contact({"email": "dan@globex.fr.evil.com"})
    run_jobs()
    globex = an_account(name="Globex", domain="globex.fr")
    assert emails_of(globex) == {"ada@globex.fr", "bob@globex.fr", "cy@globex.fr"}
    assert Event.select().where(Event.kind == "account_linked").count() == 3


def test_an_automatic_link_follows_the_address_a_link_by_hand_stays(ctx, run_jobs):
    acme, globex = an_account(domain="acme.fr"), an_account(name="Globex", domain="globex.fr")
    ada = contacts.create_contact({"email": "ada@acme.fr"})
    bob = contacts.create_contact({"email": "bob@acme.fr"})
    run_jobs()
    link(bob, globex, source="manual")
    contacts.update_contact(Contact.get_by_id(ada.id), {"email": "ada@globex.fr"})
    contacts.update_contact(Contact.get_by_id(bob.id), {"email": "bob@gmail.com"})
    run_jobs()
    assert account_of(ada.id).id == globex.id
    assert account_of(bob.id).id == globex.id
    contacts.update_contact(Contact.get_by_id(ada.id), {"email": "ada@gmail.com"})
    run_jobs()
    assert account_of(ada.id) is None
    assert kinds_of(ada).count("account_unlinked") == 2 and emails_of(acme) == set()


def test_a_new_domain_moves_the_automatic_links_and_keeps_those_made_by_hand(ctx, run_jobs):
    acme = an_account(domain="acme.fr")
    ada = contacts.create_contact({"email": "ada@acme.fr"})
    contacts.create_contact({"email": "bob@acme.com"})
    cy = contacts.create_contact({"email": "cy@gmail.com"})
    run_jobs()
    link(cy, acme, source="manual")
    update_account(acme, clean_account({"name": "Acme", "domain": "acme.com"}, acme))
    assert emails_of(acme) == {"bob@acme.com", "cy@gmail.com"}
    assert kinds_of(ada)[-1] == "account_unlinked"


# --- the admin ----------------------------------------------------------------------------


def test_empty_list_then_an_account_created_through_the_form(admin, ctx, run_jobs):
    page = admin.get("/admin/accounts")
    assert "No accounts yet" in page.text and 'data-menu="accounts"' in page.text
    contacts.create_contact({"email": "ada@acme.fr", "first_name": "Ada"})
    run_jobs()

    form = page.click("Create the first account").forms["account-form"]
    form["name"], form["domain"], form["revenue"] = "", "not a domain", "lots"
    refused = form.submit(status=400)
    for message in ("The account was not saved", "Enter the company name.", "“not a domain” is not a domain name",
                    "The revenue must be a whole number of euros"):
        assert message in refused.text, message
    assert refused.forms["account-form"]["domain"].value == "not a domain"
    assert Account.select().count() == 0

    form = refused.forms["account-form"]
    form["name"], form["domain"], form["revenue"], form["size_band"] = "Acme", "acme.fr", "1 500 000", "pme"
    shown = form.submit().follow()
    assert "Account Acme created; 1 contacts at its domain were linked to it." in shown.text
    assert "PME (10 to 249 employees)" in shown.text and "1\u202f500\u202f000 €" in shown.text
    assert "Ada" in shown.html.find(id="account-contacts").text and "Contacts (1)" in shown.text
    assert "Linked to an account" in shown.html.find(id="account-timeline").text

    taken = admin.get("/admin/accounts/new").forms["account-form"]
    taken["name"], taken["domain"] = "Acme bis", "ACME.fr"
    assert "The domain acme.fr is already the account Acme’s." in taken.submit(status=400).text


def test_the_list_searches_filters_by_status_and_pages(admin, ctx):
    for number in range(55):
        an_account(name=f"Company {number:02d}", status="customer" if number % 5 == 0 else "prospect")
    an_account(name="Zeta <script>", domain="zeta.fr", status="former")
    first = admin.get("/admin/accounts")
    assert len(first.html.find(id="accounts").find_all("tr")) == 51 and "Page 1 of 2" in first.text
    second = first.click("Next →")
    assert "Zeta &lt;script&gt;" in second.text and "<script>" not in second.html.find(id="accounts").decode()
    assert "← Previous" in second.html.find(class_="pager").text  # core's pager, as on every admin list
    french = admin.get("/admin/accounts", {"page": 2}, headers={"Accept-Language": "fr"}).html.find(class_="pager")
    assert "Page 2 sur 2" in french.text and "← Précédent" in french.text
    customers = admin.get("/admin/accounts", {"status": "customer"})
    assert len(customers.html.find(id="accounts").find_all("tr")) == 1 + 11
    assert [a.text for a in admin.get("/admin/accounts", {"q": "zeta.f"}).html.find(id="accounts").find_all("a")] == [
        "Zeta <script>"]
    nothing = admin.get("/admin/accounts", {"q": "nobody"})
    assert "No account matches this search." in nothing.text


def test_linking_by_hand_from_the_contact_page_and_the_account_page(admin, ctx, run_jobs):
    acme = an_account(domain="acme.fr")
    bob = contacts.create_contact({"email": "bob@gmail.com", "first_name": "Bob"})
    run_jobs()
    page = admin.get(f"/admin/contacts/{bob.id}")
    assert "No account." in page.html.find(id="account-panel").text
    form = page.forms["account-link"]
    form["q"] = "acm"
    choices = form.submit()
    page = link_form(choices).submit().follow()  # "Link to Acme"
    assert "Bob is now linked to Acme." in page.text
    assert AccountContact.get(AccountContact.contact == bob.id).source == "manual"

    account_page = admin.get(f"/admin/accounts/{acme.id}")
    account_page = account_page.forms[1].submit().follow()  # the × next to Bob
    assert "Bob is no longer linked to Acme." in account_page.text and account_of(bob.id) is None

    form = account_page.forms["link-contact"]
    form["email"] = "nobody@example.com"
    assert "No contact has the address nobody@example.com." in form.submit().follow().text
    form["email"] = "BOB@gmail.com"
    assert "Bob is now linked to Acme." in form.submit().follow().text


def test_the_account_page_combines_score_timeline_and_last_interaction(admin, ctx, run_jobs):
    acme = an_account(domain="acme.fr")
    ada = contacts.create_contact({"email": "ada@acme.fr", "first_name": "Ada"})
    bob = contacts.create_contact({"email": "bob@acme.fr", "first_name": "Bob"})
    run_jobs()
    long_ago = utcnow() - dt.timedelta(days=200)
    emit(ada, "points_changed", {"delta": 40, "total": 40}, created_at=long_ago)
    emit(bob, "points_changed", {"delta": 15, "total": 15})
    Contact.update(points=40).where(Contact.id == ada.id).execute()
    Contact.update(points=15).where(Contact.id == bob.id).execute()
    emit(bob, "page_visited", {"url": "https://acme.example/pricing"})
    run_jobs()

    def score():
        return admin.get(f"/admin/accounts/{acme.id}").html.find(id="combined-score").text

    assert score().startswith("55 ")
    store_setting("accounts", "score_mode", "max")
    assert score().startswith("40 ")
    store_setting("accounts", "score_mode", "sum_90_days")
    assert score().startswith("15 ") and "last 90 days" in score()
    page = admin.get(f"/admin/accounts/{acme.id}")
    timeline = page.html.find(id="account-timeline").text
    assert "Ada" in timeline and "Bob" in timeline and "Page visited" in timeline
    assert Account.get_by_id(acme.id).last_interaction_at is not None
    assert page.html.find(id="last-interaction").text != "—"


# --- segments and workflows ---------------------------------------------------------------


def test_account_conditions_in_a_dynamic_segment_follow_the_account(ctx, run_jobs):
    from plugins.segments.editing import save_segment
    from plugins.segments.models import SegmentMember

    def segment(name, filter_id, value):
        return save_segment(None, name=name, kind="dynamic", definition={"match": "all", "groups": [
            {"match": "all", "conditions": [{"filter": filter_id, "params": {"value": value}}]}]})

    def members(seg):
        return {row.contact.email for row in SegmentMember.select().where(SegmentMember.segment == seg.id)}

    customers = segment("Customers", "account_status", "customer")
    big = segment("ETI", "account_size_band", "eti")
    rich = segment("Rich", "account_revenue_at_least", 1_000_000)
    acme = an_account(domain="acme.fr", revenue="2000000")
    contacts.create_contact({"email": "ada@acme.fr"})
    contacts.create_contact({"email": "bob@gmail.com"})
    run_jobs()
    assert members(customers) == set() and members(big) == set() and members(rich) == {"ada@acme.fr"}

    update_account(acme, clean_account({"name": "Acme", "domain": "acme.fr", "status": "customer",
                                        "size_band": "eti", "revenue": "900000"}, acme))
    run_jobs()
    assert members(customers) == {"ada@acme.fr"} and members(big) == {"ada@acme.fr"} and members(rich) == set()


def test_an_account_condition_is_built_in_the_segment_editor(admin, ctx, run_jobs):
    an_account(domain="acme.fr", status="customer", revenue="5000000")
    contacts.create_contact({"email": "ada@acme.fr"})
    contacts.create_contact({"email": "bob@other.fr"})
    run_jobs()
    form = admin.get("/admin/segments/new?kind=dynamic").forms["segment-form"]
    form["name"] = "Big customers"
    form["g0-c0-subject"] = "account_status"
    form = form.submit("action", value="refresh").forms["segment-form"]
    form["g0-c0-value"] = "customer"
    form = form.submit("action", value="add-condition-0").forms["segment-form"]
    form["g0-c1-subject"] = "account_revenue_at_least"
    form = form.submit("action", value="refresh").forms["segment-form"]
    form["g0-c1-value"] = "1000000"
    page = form.submit("action", value="save").follow()
    assert "Account status is" in page.text and "Account revenue ≥" in page.text
    run_jobs()
    page = admin.get(page.request.path)
    assert "Big customers" in page.text and "ada@acme.fr" in page.text and "bob@other.fr" not in page.text


def change_status(account, status, owner):
    account = Account.get_by_id(account.id)
    values = clean_account({"name": account.name, "domain": account.domain, "status": status,
                            "owner_id": str(owner.id)}, account)
    return update_account(account, values)


def test_a_workflow_on_account_status_assigns_the_account_owner(ctx, run_jobs):
    rep = auth.create_user("rep@example.com", "x" * 12, role="sales", name="Rep")
    live("Customers get their rep", [{"type": "account_status_changed", "settings": {"to_status": "customer"}}],
         [{"type": "action", "action": "account.assign_owner", "settings": {}}])
    acme = an_account(domain="acme.fr", owner_id=str(rep.id))
    ada = contacts.create_contact({"email": "ada@acme.fr"})
    bob = contacts.create_contact({"email": "bob@gmail.com"})
    run_jobs()
    Contact.update(owner=None).where(Contact.id.in_([ada.id, bob.id])).execute()  # undo round robin

    change_status(acme, "former", rep)
    run_jobs()
    assert Contact.get_by_id(ada.id).owner_id is None  # former: the workflow waits for "customer"
    change_status(acme, "customer", rep)
    run_jobs()
    assert Contact.get_by_id(ada.id).owner_id == rep.id
    assert Contact.get_by_id(bob.id).owner_id is None
    changed = Event.get((Event.contact == ada.id) & (Event.kind == "account_status_changed")
                        & (Event.id == Event.select(Event.id).where(Event.kind == "account_status_changed")
                           .order_by(Event.id.desc()).limit(1)))
    assert changed.data["old_status"] == "former" and changed.data["status"] == "customer"
    assert "owner_assigned" in kinds_of(ada)


def test_the_plugin_registers_its_kinds_trigger_action_filters_and_settings(ctx):
    registries = ctx.extensions["couvee"].registries
    for kind in ("account_linked", "account_unlinked", "account_status_changed", "account_updated"):
        assert registries.event_kinds.owner(kind) == "accounts"
    assert registries.actions.owner("account.assign_owner") == "accounts"
    assert registries.trigger_types.owner("account_status_changed") == "accounts"
    for filter_id in ("account_status", "account_size_band", "account_revenue_at_least"):
        assert registries.segment_filters.owner(filter_id) == "accounts"
    assert "accounts" in [group.id for group in registries.settings]


# --- CSV ---------------------------------------------------------------------------------------


def test_csv_import_reports_bad_rows_by_line_and_imports_the_good_ones(admin, ctx):
    auth.create_user("rep@example.com", "x" * 12, role="sales", name="Rep")
    an_account(name="Old name", domain="initech.fr")
    data = ("name;domain;size_band;revenue;industry;status;owner_email\n"
            "Acme;acme.fr;pme;1500000;Industrie;customer;rep@example.com\n"
            ";nameless.fr;;;;;\n"
            "Globex;globex.fr;huge;;;prospect;\n"
            "Initech;initech.fr;eti;;Logiciel;former;\n"
            "Acme copy;acme.fr;;;;;\n"
            "Umbrella;umbrella.fr;;-5;;;nobody@example.com\n").encode("utf-8")
    page = admin.get("/admin/accounts/import").forms["import-form"]
    page["file"] = ("accounts.csv", data)
    report = page.submit()
    assert "Created: 1 · updated: 1 · unchanged: 0" in report.text
    rows = [[td.text for td in tr.find_all("td")] for tr in report.html.find(id="import-errors").find_all("tr")[1:]]
    assert [line for line, _ in rows] == ["3", "4", "6", "7"]
    assert "Enter the company name." in rows[0][1]
    assert "Choose a size band" in rows[1][1]
    assert "The domain acme.fr is already on line 2." in rows[2][1]
    assert "whole number of euros" in rows[3][1] and "No active user nobody@example.com" in rows[3][1]
    acme = Account.get(Account.domain == "acme.fr")
    assert (acme.name, acme.size_band, acme.revenue, acme.status, acme.owner.email) == (
        "Acme", "pme", 1500000, "customer", "rep@example.com")
    assert Account.get(Account.domain == "initech.fr").name == "Initech"

    exported = admin.get("/admin/accounts/export.csv")
    assert exported.content_type == "text/csv"
    lines = exported.text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("name,domain,size_band,revenue,industry,status,owner_email,contacts")
    assert any(line.startswith("Acme,acme.fr,pme,1500000,Industrie,customer,rep@example.com,0,") for line in lines)

    again = admin.get("/admin/accounts/import").forms["import-form"]
    again["file"] = ("accounts.csv", exported.body)
    assert "Created: 0 · updated: 0 · unchanged: 2" in again.submit().text


def test_the_export_defuses_cells_a_spreadsheet_would_run(admin, ctx):
    an_account(name="=HYPERLINK(\"http://evil.example\")", industry="@SUM(1)")
    text = admin.get("/admin/accounts/export.csv").text
    assert "'=HYPERLINK" in text and "'@SUM(1)" in text


def test_csv_import_refuses_a_file_it_cannot_read(admin, ctx):
    form = admin.get("/admin/accounts/import").forms["import-form"]
    form["file"] = ("accounts.csv", "société\n".encode("latin-1"))
    assert "The file is not UTF-8 text" in form.submit(status=400).text
    form["file"] = ("accounts.csv", b"company,domain\nAcme,acme.fr\n")
    assert "The file has no “name” column" in form.submit(status=400).text
    assert Account.select().count() == 0


# --- GDPR -------------------------------------------------------------------------------------


def test_the_export_names_the_account_and_erasure_removes_the_link(ctx, run_jobs):
    acme = an_account(domain="acme.fr")
    ada = contacts.create_contact({"email": "ada@acme.fr"})
    run_jobs()
    sections = export_contact(Contact.get_by_id(ada.id))["sections"]
    assert sections["Account"][0]["name"] == "Acme" and sections["Account"][0]["linked"] == "domain"
    erase_contact(Contact.get_by_id(ada.id), "delete")
    assert AccountContact.select().count() == 0 and Account.get_by_id(acme.id).name == "Acme"


def test_the_status_trigger_is_set_up_in_the_workflow_editor(admin, ctx):
    from plugins.automation.lifecycle import create_workflow

    workflow = create_workflow("Customers", {"triggers": [], "steps": [],
                                             "entry": {"mode": "once", "reentry_days": 0, "exit_segment_id": None}})
    choosing = admin.get(f"/admin/workflows/{workflow.id}/triggers/new")
    assert "The account’s status changes" in choosing.text
    form = admin.get(f"/admin/workflows/{workflow.id}/triggers/new", {"type": "account_status_changed"}).forms["trigger-form"]
    assert [option[0] for option in form["s-to_status"].options] == ["", "prospect", "customer", "former"]
    form["s-to_status"] = "customer"
    form.submit().follow()
    from plugins.automation import Workflow

    triggers = Workflow.get_by_id(workflow.id).definition["triggers"]
    assert triggers == [{"type": "account_status_changed", "settings": {"from_status": "", "to_status": "customer"}}]
