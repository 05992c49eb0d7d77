"""Smart-content stages from segments (issue 22): a stage rule may be
"member of a segment", e.g. a dynamic segment on the account status (Koban's
"Fidélisation = customers"). Accounts, segments and smart content all active;
the segment follows the account through the event backbone and the stage
follows the segment. With the segments plugin off the rule is inert, kept,
and the form says why."""
from __future__ import annotations

import datetime as dt

from core import contacts
from core.models import Contact, User
from plugins.accounts import clean_account, create_account, update_account
from plugins.accounts.models import Account
from plugins.segments.editing import save_segment

from plugins.smart_content import programme as programme_settings, targeting
from plugins.smart_content.models import Pick
from plugins.smart_content.picker import pick_for_contact
from plugins.smart_content.sender import run_programme

from .test_segments_plugin import in_db
from .test_smart_content import TUESDAY, content
from .test_smart_content_send import configure_email, consenting


def customers_segment():
    return save_segment(None, name="Accounts: customers", kind="dynamic", definition={"match": "all", "groups": [
        {"match": "all", "conditions": [{"filter": "account_status", "params": {"value": "customer"}}]}]})


def set_status(account, status):
    account = Account.get_by_id(account.id)
    update_account(account, clean_account({"name": account.name, "domain": account.domain, "status": status},
                                          account))


def enable(**changes):
    settings = programme_settings.load()
    settings.enabled, settings.weekdays, settings.excluded_dates = True, list(range(7)), []
    settings.hour_start, settings.hour_end = 0, 24
    for key, value in changes.items():
        setattr(settings, key, value)
    programme_settings.store(settings)
    return programme_settings.load()


def test_a_customer_account_puts_its_contacts_in_loyalty_and_the_stage_follows_the_account(
        ctx, run_jobs, smtp_sink):
    configure_email(smtp_sink)
    segment = customers_segment()
    acme = create_account(clean_account({"name": "Acme", "domain": "acme.fr", "status": "customer"}))
    globex = create_account(clean_account({"name": "Globex", "domain": "globex.fr", "status": "prospect"}))
    content("Customer club", "loyalty", ["CRM"], score=5)
    content("Discover the CRM", "engagement", ["CRM"], score=5)
    ada = consenting("ada@acme.fr", ["CRM"])
    bob = consenting("bob@globex.fr", ["CRM"])
    run_jobs()  # links by domain, segment membership
    settings = enable(stage_groups={"loyalty": [segment.id]})
    assert targeting.stages_of([ada.id, bob.id], settings) == {ada.id: "loyalty", bob.id: "engagement"}

    assert run_programme()["claimed"] == 2
    run_jobs(queues=["email"])
    sent = {message["To"]: message["Subject"] for message in smtp_sink.wait_for(2)}
    assert sent == {"ada@acme.fr": "Customer club", "bob@globex.fr": "Discover the CRM"}
    assert {p.contact_id: p.stage for p in Pick.select()} == {ada.id: "loyalty", bob.id: "engagement"}

    # Globex signs: its account status changes, the segment follows (events), so does the stage
    set_status(globex, "customer")
    run_jobs()
    assert targeting.stage_of(Contact.get_by_id(bob.id), settings) == "loyalty"
    choice = pick_for_contact(Contact.get_by_id(bob.id), settings, TUESDAY.date())
    assert choice.stage == "loyalty"
    # and back: Acme leaves, Ada goes back to the other rules
    set_status(acme, "former")
    run_jobs()
    assert targeting.stage_of(Contact.get_by_id(ada.id), settings) == "engagement"


def test_segment_rules_join_the_field_rules_in_order_and_the_override_wins(ctx, run_jobs):
    from plugins.segments import Segment, add_to_segment

    hot = Segment.create(name="Hot leads", kind="static")
    deal = Segment.create(name="Deals", kind="static")
    loyal, dealing, warm, plain = (contacts.create_contact({"email": f"{n}@example.com"})
                                   for n in ("loyal", "dealing", "warm", "plain"))
    add_to_segment(loyal, deal)
    add_to_segment(dealing, deal)
    add_to_segment(warm, hot)
    create_account(clean_account({"name": "Ex", "domain": "example.com", "status": "customer"}))
    segment = customers_segment()
    run_jobs()
    settings = enable(stage_groups={"loyalty": [segment.id], "transformation": [deal.id],
                                    "qualification": [hot.id]})
    # everyone at example.com is a customer: loyalty comes first
    ids = [c.id for c in (loyal, dealing, warm, plain)]
    assert set(targeting.stages_of(ids, settings).values()) == {"loyalty"}
    settings.stage_groups = {"transformation": [deal.id], "qualification": [hot.id]}
    assert targeting.stages_of(ids, settings) == {loyal.id: "transformation", dealing.id: "transformation",
                                                  warm.id: "qualification", plain.id: "engagement"}
    Contact.update(points=80).where(Contact.id == plain.id).execute()  # the points rule still applies
    assert targeting.stage_of(Contact.get_by_id(plain.id), settings) == "qualification"
    targeting.set_stage_override(Contact.get_by_id(warm.id), "engagement")
    assert targeting.stage_of(Contact.get_by_id(warm.id), settings) == "engagement"
    # a segment deleted since: its rule matches nobody, nothing breaks
    settings.stage_groups = {"loyalty": [999999]}
    assert targeting.stage_of(Contact.get_by_id(loyal.id), settings) == "engagement"


def test_a_programme_saved_before_segment_rules_keeps_working(ctx):
    from plugins.smart_content.models import ProgrammeRow

    old = {"enabled": True, "every_days": 7, "customer_field": "crm_status", "customer_values": ["customer"],
           "qualification_threshold": 30}
    ProgrammeRow.insert(id=1, values=old).execute()
    settings = programme_settings.load()
    assert settings.stage_groups == {} and settings.every_days == 7
    person = contacts.create_contact({"email": "old@example.com"})
    assert targeting.stage_of(person, settings) == "engagement"


def test_the_programme_form_chooses_segments_per_stage_and_refuses_unknown_ones(admin, ctx, run_jobs):
    segment = customers_segment()
    page = admin.get("/admin/smart-content/programme")
    assert "stage-groups-inactive" not in page.text and "stage-groups-empty" not in page.text
    form = page.forms["programme-form"]
    assert [label for _, _, label in form["stage_groups_loyalty"].options] == ["Accounts: customers"]
    form["stage_groups_loyalty"] = [str(segment.id)]
    form.submit().follow()
    assert programme_settings.load().stage_groups == {"loyalty": [segment.id]}
    page = admin.get("/admin/smart-content/programme")
    assert page.forms["programme-form"]["stage_groups_loyalty"].value == [str(segment.id)]

    # a segment deleted while the form was open: a clear error, nothing saved
    form = page.forms["programme-form"]
    fields = [(key, value) for key, value in form.submit_fields() if key != "stage_groups_transformation"]
    fields.append(("stage_groups_transformation", "999999"))
    refused = admin.post("/admin/smart-content/programme", fields, expect_errors=True)
    assert refused.status_int == 400
    assert "One of the segments chosen for this stage does not exist any more." in refused.text
    assert programme_settings.load().stage_groups == {"loyalty": [segment.id]}


def in_french():
    User.update(language="fr").where(User.email == "owner@example.com").execute()


def test_the_programme_form_in_french_and_with_no_segment_yet(admin, ctx):
    page = admin.get("/admin/smart-content/programme")
    assert 'id="stage-groups-empty"' in page.text and "stage_groups_loyalty" not in page.text
    in_french()
    page = admin.get("/admin/smart-content/programme")
    assert "Aucun segment pour l’instant" in page.text


def test_without_the_segments_plugin_the_rule_is_inert_kept_and_explained(admin, wsgi, couvee_cli, run_jobs):
    with in_db(wsgi.app):
        segment = customers_segment()
        create_account(clean_account({"name": "Acme", "domain": "acme.fr", "status": "customer"}))
        ada = contacts.create_contact({"email": "ada@acme.fr"})
    run_jobs()
    with in_db(wsgi.app):
        settings = enable(stage_groups={"loyalty": [segment.id]})
        assert targeting.stage_of(Contact.get_by_id(ada.id), settings) == "loyalty"
    assert couvee_cli("plugins", "disable", "segments").exit_code == 0

    page = admin.get("/admin/smart-content/programme")
    assert page.status_int == 200 and 'id="stage-groups-inactive"' in page.text
    assert "No audience source is active" in page.text and "stage_groups_loyalty" not in page.text
    page.forms["programme-form"].submit().follow()  # saving the rest keeps the stored choice
    with in_db(wsgi.app):
        settings = programme_settings.load()
        assert settings.stage_groups == {"loyalty": [segment.id]}
        assert targeting.stage_of(Contact.get_by_id(ada.id), settings) == "engagement"  # inert
        assert pick_for_contact(Contact.get_by_id(ada.id), settings, dt.date(2024, 3, 5)).stage == "engagement"
    with in_db(wsgi.app):
        in_french()
    french = admin.get("/admin/smart-content/programme")
    assert "Aucune source d’audience n’est active" in french.text

    assert couvee_cli("plugins", "enable", "segments").exit_code == 0
    admin.get("/admin/")  # the web app rebuilt with the plugin
    with in_db(wsgi.app):
        assert targeting.stage_of(Contact.get_by_id(ada.id), programme_settings.load()) == "loyalty"
