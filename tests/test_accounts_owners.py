"""Owner rules by account (issue 22, part 2): a contact without owner linked
to an account with an owner gets it (a setting, on by default; a contact's
owner is never replaced), and new accounts without owner get one in round
robin among the users of a chosen role. ``owner_assigned`` is recorded while
the owners plugin registers it, and the assignment happens without it."""
from __future__ import annotations

from core import auth, contacts, event_kind_registered, store_setting
from core.models import Contact, Event
from plugins.accounts import clean_account, create_account, link, update_account
from plugins.accounts.models import Account


def an_account(**values) -> Account:
    return create_account(clean_account({"name": "Acme", **values}))


def owner_of(contact) -> int | None:
    return Contact.get_by_id(contact.id).owner_id


def test_new_contacts_of_an_owned_account_get_its_owner_before_round_robin(ctx, run_jobs):
    rep = auth.create_user("rep@example.com", "x" * 12, role="marketer", name="Rep")
    auth.create_user("other@example.com", "x" * 12, role="sales", name="Other")  # the owners plugin's round robin
    auth.create_user("more@example.com", "x" * 12, role="sales", name="More")
    an_account(domain="acme.fr", owner_id=str(rep.id))
    ada = contacts.create_contact({"email": "ada@acme.fr"})
    eve = contacts.create_contact({"email": "eve@gmail.com"})
    run_jobs()
    assert owner_of(ada) == rep.id
    assigned = Event.get((Event.contact == ada.id) & (Event.kind == "owner_assigned"))
    assert assigned.data == {"owner_id": rep.id, "owner_email": "rep@example.com", "rule": "account Acme"}
    assert Event.select().where((Event.contact == ada.id) & (Event.kind == "owner_assigned")).count() == 1
    assert owner_of(eve) is not None  # no account: the owners plugin's rules went on


def test_an_account_getting_an_owner_gives_it_to_its_contacts_without_owner(ctx, run_jobs):
    rep = auth.create_user("rep@example.com", "x" * 12, role="marketer", name="Rep")
    keeper = auth.create_user("keeper@example.com", "x" * 12, role="marketer", name="Keeper")
    store_setting("owners", "assign_on_create", False)
    acme = an_account(domain="acme.fr")
    ada = contacts.create_contact({"email": "ada@acme.fr"})
    bob = contacts.create_contact({"email": "bob@acme.fr"})
    run_jobs()
    Contact.update(owner=keeper.id).where(Contact.id == bob.id).execute()
    assert owner_of(ada) is None
    update_account(acme, clean_account({"name": "Acme", "domain": "acme.fr", "owner_id": str(rep.id)}, acme))
    assert owner_of(ada) == rep.id and owner_of(bob) == keeper.id  # an owner is never replaced

    cy = contacts.create_contact({"email": "cy@gmail.com"})
    run_jobs()
    link(Contact.get_by_id(cy.id), Account.get_by_id(acme.id))  # by hand: the same rule
    assert owner_of(cy) == rep.id


def test_the_setting_switches_the_rule_off(ctx, run_jobs):
    rep = auth.create_user("rep@example.com", "x" * 12, role="marketer", name="Rep")
    store_setting("owners", "assign_on_create", False)
    store_setting("accounts", "contacts_get_account_owner", False)
    an_account(domain="acme.fr", owner_id=str(rep.id))
    ada = contacts.create_contact({"email": "ada@acme.fr"})
    run_jobs()
    assert owner_of(ada) is None


def test_new_accounts_without_owner_take_turns_among_the_chosen_role(ctx):
    first = auth.create_user("s1@example.com", "x" * 12, role="sales", name="S1")
    second = auth.create_user("s2@example.com", "x" * 12, role="sales", name="S2")
    away = auth.create_user("s3@example.com", "x" * 12, role="sales", name="S3")
    away.is_available = False
    away.save()
    marketer = auth.create_user("m@example.com", "x" * 12, role="marketer", name="M")
    assert an_account(name="Off").owner_id is None  # no round robin by default
    store_setting("accounts", "round_robin_role", "sales")
    owners = [an_account(name=f"A{n}").owner_id for n in range(3)]
    assert owners == [first.id, second.id, first.id]
    assert an_account(name="Chosen", owner_id=str(marketer.id)).owner_id == marketer.id


def test_without_the_owners_plugin_the_owner_is_given_without_event(ctx, wsgi, couvee_cli, run_jobs):
    rep = auth.create_user("rep@example.com", "x" * 12, role="marketer", name="Rep")
    assert couvee_cli("plugins", "disable", "owners").exit_code == 0
    an_account(domain="acme.fr", owner_id=str(rep.id))
    ada = contacts.create_contact({"email": "ada@acme.fr"})
    worker = run_jobs()
    with worker.runtime.app.app_context():
        assert not event_kind_registered("owner_assigned")
    assert owner_of(ada) == rep.id
    assert not Event.select().where(Event.kind == "owner_assigned").exists()
