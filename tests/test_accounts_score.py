"""The "account score crossed" trigger (issue 22, part 2): the account's
combined score is computed when one of its contacts' points change (or a
contact joins or leaves it), compared with the remembered one, and each
threshold crossed upward records ``account_score_crossed`` once on each of
its contacts; a workflow on it runs."""
from __future__ import annotations

import pytest

from core import auth, contacts, store_setting
from core.models import Contact, Event
from plugins.accounts import clean_account, create_account, link, unlink
from plugins.accounts.crossing import check_score, crossed, parse_thresholds, score_trigger
from plugins.accounts.models import Account
from plugins.scoring.ledger import Change, record_change

from .test_automation import live


def points(contact, delta, key):
    record_change(Change(contact.id, delta, "test", "manual", key=key))


def crossings(threshold=None):
    query = Event.select().where(Event.kind == "account_score_crossed")
    if threshold is not None:
        query = [e for e in query if e.data["threshold"] == threshold]
    return list(query)


def test_thresholds_parse_and_crossings_are_upward_only():
    assert parse_thresholds("200, 50\n100 50") == [50, 100, 200]
    with pytest.raises(ValueError):
        parse_thresholds("50\nlots")
    with pytest.raises(ValueError):
        parse_thresholds("0")
    assert crossed(40, 120, [50, 100, 200]) == [50, 100]
    assert crossed(100, 100, [100]) == [] and crossed(120, 40, [50, 100]) == []
    assert crossed(99, 100, [100]) == [100]


def test_points_of_contacts_cross_the_account_threshold_once_and_run_the_workflow(ctx, run_jobs):
    rep = auth.create_user("rep@example.com", "x" * 12, role="sales", name="Rep")
    store_setting("accounts", "score_thresholds", "50\n100")
    live("Hot accounts get their rep", [{"type": "account_score_crossed", "settings": {"threshold": "100"}}],
         [{"type": "action", "action": "account.assign_owner", "settings": {}}])
    acme = create_account(clean_account({"name": "Acme", "domain": "acme.fr", "owner_id": str(rep.id)}))
    ada = contacts.create_contact({"email": "ada@acme.fr"})
    bob = contacts.create_contact({"email": "bob@acme.fr"})
    run_jobs()
    Contact.update(owner=None).where(Contact.id.in_([ada.id, bob.id])).execute()  # undo other owner rules
    points(ada, 30, "a1")
    run_jobs()
    assert crossings() == [] and Account.get_by_id(acme.id).last_score == 30
    points(bob, 40, "b1")  # 70: crosses 50
    run_jobs()
    assert {e.contact_id for e in crossings(50)} == {ada.id, bob.id} and crossings(100) == []
    assert Contact.get_by_id(ada.id).owner_id is None  # the workflow waits for 100
    points(ada, 40, "a2")  # 110: crosses 100
    run_jobs()
    assert len(crossings(100)) == 2 and len(crossings(50)) == 2
    event = crossings(100)[0]
    assert (event.data["previous_score"], event.data["score"], event.data["account_name"]) == (70, 110, "Acme")
    assert Contact.get_by_id(ada.id).owner_id == rep.id and Contact.get_by_id(bob.id).owner_id == rep.id
    points(ada, -50, "a3")  # 60: going down records nothing
    points(bob, 5, "b2")  # 65
    run_jobs()
    assert len(crossings()) == 4 and Account.get_by_id(acme.id).last_score == 65


def test_a_contact_joining_or_leaving_moves_the_remembered_score(ctx, run_jobs):
    store_setting("accounts", "score_thresholds", "100")
    acme = create_account(clean_account({"name": "Acme"}))
    cy = contacts.create_contact({"email": "cy@gmail.com"})
    run_jobs()
    points(cy, 150, "c1")
    run_jobs()
    assert crossings() == []  # not in an account yet
    link(Contact.get_by_id(cy.id), acme)
    assert [e.contact_id for e in crossings(100)] == [cy.id]
    unlink(Contact.get_by_id(cy.id))
    assert Account.get_by_id(acme.id).last_score == 0
    assert check_score(acme.id) == []


def test_the_trigger_offers_the_thresholds_of_the_setting(ctx):
    store_setting("accounts", "score_thresholds", "250\n75")
    setting = score_trigger().settings[0]
    assert [value for value, _label in setting.choice_list()] == ["75", "250"]
    registries = ctx.extensions["couvee"].registries
    assert "account_score_crossed" in registries.trigger_types
    assert "account_score_crossed" in registries.event_kinds


def test_the_settings_page_checks_the_thresholds_and_offers_the_roles(admin, ctx):
    from core import get_setting

    form = admin.get("/admin/settings/accounts").forms["settings-form"]
    assert [option[0] for option in form["round_robin_role"].options] == ["", "admin", "marketer", "sales"]
    form["score_thresholds"] = "100\nlots"
    refused = form.submit(status=400)
    assert "“lots” is not a positive whole number of points." in refused.text
    assert get_setting("accounts", "score_thresholds") == "50\n100\n200"
    form = refused.forms["settings-form"]
    form["score_thresholds"], form["round_robin_role"] = "300, 100", "sales"
    form.submit().follow()
    assert get_setting("accounts", "score_thresholds") == "100\n300"
    assert get_setting("accounts", "round_robin_role") == "sales"
